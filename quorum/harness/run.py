"""One torture run: a real cluster, clients, a nemesis, a quiet phase, a verdict.

Phases, in order (each bounded in time):

1. start ``members`` real processes, each on its own data directory, and wait for a leader;
2. load: ``clients`` threads issue operations for ``duration`` seconds while the nemesis
   plays its seeded schedule;
3. heal: resume paused members, restart crashed ones, restore the configuration's size,
   wait until every member has caught up;
4. quiet phase: one more linearizable read of every key (on a fresh client id each),
   so a write that was lost shows up;
5. stop every process, save the history, and judge it (:mod:`quorum.harness.verdict`).

The cluster's processes are stopped whatever happens (an exception, Ctrl-C).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quorum.harness.clients import Clients, Recorder, Workload
from quorum.harness.nemesis import Nemesis, schedule
from quorum.harness.processes import SERVE_FLAGS, Cluster, HarnessError
from quorum.harness.verdict import judge, save
from quorum.model_checker.history.linearizability import LinearizabilityResult
from quorum.model_checker.history.operations import Operation

__all__ = ["Settings", "Run", "torture"]


@dataclass(frozen=True)
class Settings:
    members: int = 3
    duration: float = 30.0
    clients: int = 8
    keys: int = 5
    nemesis: tuple[str, ...] = ("kill", "pause", "restart", "member")
    seed: int = 0
    op_timeout: float = 1.5
    check_timeout: float = 60.0
    #: test-only bugs every member runs (``quorum serve --unsafe-mutant``)
    mutants: tuple[str, ...] = ()
    #: more `quorum serve` flags for every member, after :data:`SERVE_FLAGS` (so they win)
    serve_flags: tuple[str, ...] = ()
    #: etcd's serializable reads instead of linearizable ones (a known violation)
    serializable_reads: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"members": self.members, "duration": self.duration, "clients": self.clients,
                "keys": self.keys, "nemesis": list(self.nemesis), "seed": self.seed,
                "op_timeout": self.op_timeout, "mutants": list(self.mutants),
                "serve_flags": list(self.serve_flags),
                "serializable_reads": self.serializable_reads}


@dataclass
class Run:
    settings: Settings
    ops: list[Operation]
    events: list[dict[str, Any]]
    faults: dict[str, int]
    counts: dict[str, dict[str, int]]
    load_seconds: float
    result: LinearizabilityResult
    logs: list[str] = field(default_factory=list)
    #: why the cluster could not be healed (then the quiet phase is incomplete)
    heal_error: str = ""

    @property
    def verdict(self) -> str:
        return self.result.verdict

    def summary(self) -> dict[str, Any]:
        ok_ops = sum(c["ok"] for c in self.counts.values())
        return {
            "verdict": self.verdict, "settings": self.settings.as_dict(),
            "operations": len(self.ops), "ops_per_s": round(ok_ops / self.load_seconds, 1),
            "counts": self.counts, "faults": self.faults,
            "check_seconds": round(self.result.seconds, 3),
            "unlinearizable": None if self.result.unlinearizable is None
            else str(self.result.unlinearizable),
            "reason": self.result.reason, "heal_error": self.heal_error,
            "logs": self.logs,
        }


def torture(settings: Settings, data_dir: Path | None = None,
            history_out: Path | None = None, progress: Any = None) -> Run:
    """Run the whole test; data under ``data_dir`` (kept) or a temporary directory
    (removed).  ``progress(str)`` hears of each phase."""
    say = progress or (lambda _msg: None)
    root = Path(tempfile.mkdtemp(prefix="quorum-torture-")) if data_dir is None else data_dir
    root.mkdir(parents=True, exist_ok=True)
    flags = [*SERVE_FLAGS, *settings.serve_flags]
    env = {}
    for name in settings.mutants:
        flags += ["--unsafe-mutant", name]
        env["QUORUM_UNSAFE_MUTANTS"] = "1"
    cluster = Cluster(root, settings.members, flags, env)
    rec = Recorder()
    heal_error = ""
    try:
        cluster.start()
        say(f"started {settings.members} members under {root}")
        cluster.leader(timeout=30)
        clients = Clients(settings.clients, lambda: [m.target for m in cluster.up()], rec,
                          Workload(settings.keys, settings.op_timeout,
                                   serializable=settings.serializable_reads), settings.seed)
        nemesis = Nemesis(cluster, schedule(settings.nemesis, settings.duration, settings.seed),
                          rec.now, settings.seed, clients.stopping)
        started = time.monotonic()
        clients.start()
        nemesis.start()
        try:
            clients.stopping.wait(settings.duration)
        finally:
            clients.stop()
            nemesis.join()
        load_seconds = time.monotonic() - started
        if nemesis.error is not None:
            raise HarnessError(f"the nemesis failed: {type(nemesis.error).__name__}: "
                               f"{nemesis.error}") from nemesis.error
        say(f"load done: {len(rec.ops)} operations; healing")
        try:
            nemesis.heal(settings.members)
            cluster.wait_caught_up()
            for m in cluster.members:  # the quiet phase reads through every member
                clients.final_reads(m.target)
            say("quiet phase done")
        except HarnessError as exc:  # the history so far is still judged
            heal_error = str(exc)
            say(f"heal failed: {exc}")
    finally:
        cluster.stop()
    counts = {kind: {o: rec.counts[kind, o] for o in ("ok", "fail", "info")}
              for kind in ("read", "write", "cas")}
    if history_out is not None:
        save(history_out, rec.ops, nemesis.records(), settings.as_dict())
    say(f"checking {len(rec.ops)} operations")
    result = judge(rec.ops, settings.check_timeout)
    logs = [str(m.log) for m in [*cluster.members, *cluster.retired]]
    if data_dir is None and result.verdict == "ok" and not heal_error:  # failures keep logs
        shutil.rmtree(root, ignore_errors=True)
        logs = []
    return Run(settings, rec.ops, nemesis.records(), nemesis.counts(), counts, load_seconds,
               result, logs, heal_error)
