"""Time the exhaustive checker on the benchmark models and compare with TLC.

Usage: python benchmarks/bench_checker.py [--only NAME] [--workers N] [--store S] [--repeat N]
       [--engine E] [--large] [--max-states N] [--tla-dir DIR]

Each model runs in a fresh child process, so that its peak memory is its own.  Prints,
per model: distinct states, wall seconds (best of N), CPU seconds of all processes
(coordinator and workers), distinct states per wall second, peak RSS (the largest
process), bytes per distinct state of the fingerprint store, the ratio of our wall
time to TLC 2.20's (2 workers) measured on this machine class, and the engine that ran
(``vector``: the array engine, one process, where the model has a batch encoding, as
``quorum check`` picks by default; ``Nw``: N worker processes).  A ratio of 0.10 is the
goal (issue 18: ten times TLC's speed).  On a shared machine wall time is inflated by other
processes' load; CPU seconds are much less so, and ``cpu/2`` is what two idle cores
would need at best.

TLC's time is *recorded* (TLC 2.20, 2 workers, measured on this machine class; the
figures given in the issues) unless ``TLA2TOOLS`` names a ``tla2tools.jar`` and
``--tla-dir`` the directory holding the reference specifications (Lamport's
``Paxos.tla``, Ongaro's ``raft.tla``, and the modules they extend): then TLC runs *live*
on the same bounds (``java -cp $TLA2TOOLS tlc2.TLC -workers 2``), on copies of those
files in a temporary directory next to a model module and ``.cfg`` this script writes,
and the row shows its wall time, the JVM's CPU seconds (``TLC cpu``) and the ratio of
our CPU seconds to TLC's (``cpu``: the fairest figure on a loaded machine, where the load
slows both).  The ``TLC`` column says which.  The reference specifications are not part
of this repository: get them from github.com/tlaplus/Examples (specifications/Paxos,
whose Paxos.tla instances Voting.tla and extends Consensus.tla; those use TLAPS.tla and
the theorem modules of github.com/tlaplus/tlapm's library/, and Functions.tla and
Folds.tla of the CommunityModules) and github.com/ongardie/raft.tla.  docs/benchmarks.md
says how tla2tools.jar was built here from github.com/tlaplus/tlaplus.

The two larger models are run only with ``--large``: they are far larger than
the others (``docs/benchmarks.md`` gives their measured rates and sizes); with
``--max-states N`` a run stops after about N states and prints its rate only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    spec: str
    values: dict[str, Any]
    symmetry: bool
    tlc_seconds: float | None  # TLC 2.20, 2 workers, this machine class
    expect_distinct: int | None = None
    large: bool = False  # run only with --large (or --only)


BENCHES = [
    Bench("paxos a3 v2 b0..2", "paxos", {"acceptors": 3, "values": 2, "max_ballot": 2}, False,
          16.3, 185369),
    Bench("paxos a3 v2 b0..2 symmetry", "paxos",
          {"acceptors": 3, "values": 2, "max_ballot": 2}, True, 3.8, 17153),
    Bench("raft s3 v1 t2 l1 m1 symmetry", "raft",
          {"servers": 3, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1}, True, 36.3,
          324570),
    Bench("raft s3 v1 t2 l1 m1", "raft",
          {"servers": 3, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1}, False, 159.0,
          1943913),
    Bench("paxos a3 v2 b0..1", "paxos", {"acceptors": 3, "values": 2, "max_ballot": 1}, False,
          None, 3921),
    # issue 18's larger models; no TLC figure is recorded for them (run TLC live)
    Bench("raft s3 v1 t3 l2 m2 symmetry", "raft",
          {"servers": 3, "values": 1, "max_term": 3, "max_log": 2, "max_msgs": 2}, True, None,
          None, large=True),
    Bench("paxos a5 v3 b0..3 symmetry", "paxos",
          {"acceptors": 5, "values": 3, "max_ballot": 3}, True, None, None, large=True),
]


class TLCError(Exception):
    """TLC could not be run, or its output not read (a one-line message)."""


#: the reference specification each spec's models are checked against, and the modules
#: TLC needs beside it (looked up in --tla-dir)
TLA_FILES = {"paxos": ("Paxos.tla",), "raft": ("raft.tla",)}


def _paxos_model(values: dict[str, Any], symmetry: bool, voting: bool = True
                 ) -> tuple[str, str]:
    """MCBench.tla and MCBench.cfg for Paxos.tla at these bounds: acceptors a1.., values
    v1.., ballots 0..max_ballot, the minimal majorities as quorums (our count's), every
    invariant of Paxos.tla's Inv.  ``voting``: Paxos.tla instances Voting (tlaplus/Examples
    today), whose own ``Ballot`` (``Nat``) TLC must be told to bound too."""
    acceptors = [f"a{k + 1}" for k in range(values["acceptors"])]
    vals = [f"v{k + 1}" for k in range(values["values"])]
    majority = values["acceptors"] // 2 + 1
    module = "\n".join([
        "---- MODULE MCBench ----",
        "EXTENDS Paxos, FiniteSets, TLC",
        f"CONSTANTS {', '.join(acceptors + vals)}",
        f"BenchAcceptor == {{{', '.join(acceptors)}}}",
        f"BenchValue == {{{', '.join(vals)}}}",
        f"BenchQuorum == {{Q \\in SUBSET BenchAcceptor : Cardinality(Q) = {majority}}}",
        f"BenchBallot == 0..{values['max_ballot']}",
        "BenchSymmetry == Permutations(BenchAcceptor) \\cup Permutations(BenchValue)",
        "====", ""])
    cfg = ["INIT Init", "NEXT Next", "CONSTANTS",
           *[f"  {x} = {x}" for x in acceptors + vals], "  None = None",
           "  Acceptor <- BenchAcceptor", "  Value <- BenchValue", "  Quorum <- BenchQuorum",
           "  Ballot <- BenchBallot", *(["  Ballot <-[Voting] BenchBallot"] if voting else []),
           "INVARIANT Inv"]
    if symmetry:
        cfg.append("SYMMETRY BenchSymmetry")
    return module, "\n".join(cfg) + "\n"


def _raft_model(values: dict[str, Any], symmetry: bool, voting: bool = True
                ) -> tuple[str, str]:
    """MCBench.tla and MCBench.cfg for raft.tla at these bounds: TLC's CONSTRAINT as
    quorum.spec.raft.config states it (terms, log lengths, messages in flight with
    duplicates counted), a VIEW without raft.tla's history variables, Election Safety,
    Log Matching and State Machine Safety as invariants."""
    servers = [f"s{k + 1}" for k in range(values["servers"])]
    vals = [f"v{k + 1}" for k in range(values["values"])]
    module = "\n".join([
        "---- MODULE MCBench ----",
        "EXTENDS raft",
        f"CONSTANTS {', '.join(servers + vals)}",
        f"BenchServer == {{{', '.join(servers)}}}",
        f"BenchValue == {{{', '.join(vals)}}}",
        "RECURSIVE BenchSum(_, _)",
        "BenchSum(f, S) == IF S = {} THEN 0 ELSE",
        "    LET x == CHOOSE y \\in S : TRUE IN f[x] + BenchSum(f, S \\ {x})",
        "BenchConstraint ==",
        f"    /\\ \\A i \\in Server : currentTerm[i] <= {values['max_term']}",
        f"    /\\ \\A i \\in Server : Len(log[i]) <= {values['max_log']}",
        f"    /\\ BenchSum(messages, DOMAIN messages) <= {values['max_msgs']}",
        "BenchView == <<messages, currentTerm, state, votedFor, votesResponded, votesGranted,",
        "               nextIndex, matchIndex, log, commitIndex>>",
        "BenchElectionSafety == \\A i, j \\in Server :",
        "    (state[i] = Leader /\\ state[j] = Leader /\\ currentTerm[i] = currentTerm[j]) => i = j",
        "BenchLogMatching == \\A i, j \\in Server : \\A n \\in 1..Len(log[i]) :",
        "    (n <= Len(log[j]) /\\ log[i][n].term = log[j][n].term)",
        "        => SubSeq(log[i], 1, n) = SubSeq(log[j], 1, n)",
        "BenchStateMachineSafety == \\A i, j \\in Server : \\A n \\in 1..commitIndex[i] :",
        "    (n <= commitIndex[j] /\\ n <= Len(log[i]) /\\ n <= Len(log[j]))",
        "        => log[i][n] = log[j][n]",
        "BenchSymmetry == Permutations(BenchServer)",
        "====", ""])
    models = ["Follower", "Candidate", "Leader", "Nil", "RequestVoteRequest",
              "RequestVoteResponse", "AppendEntriesRequest", "AppendEntriesResponse"]
    cfg = ["INIT Init", "NEXT Next", "CONSTANTS",
           *[f"  {x} = {x}" for x in servers + vals + models],
           "  Server <- BenchServer", "  Value <- BenchValue",
           "CONSTRAINT BenchConstraint", "VIEW BenchView",
           "INVARIANT BenchElectionSafety BenchLogMatching BenchStateMachineSafety"]
    if symmetry:
        cfg.append("SYMMETRY BenchSymmetry")
    return module, "\n".join(cfg) + "\n"


def tlc_model(bench: Bench, tla_dir: Path | None = None) -> tuple[str, str]:
    """The model module and .cfg TLC checks for ``bench`` (against the Paxos.tla in
    ``tla_dir``, when given: whether it instances Voting)."""
    make = {"paxos": _paxos_model, "raft": _raft_model}[bench.spec]
    paxos = tla_dir / "Paxos.tla" if tla_dir else None
    voting = not (paxos and paxos.is_file()) or "INSTANCE Voting" in paxos.read_text()
    return make(bench.values, bench.symmetry, voting)


_DISTINCT = re.compile(r"([\d,]+) distinct states found")


_LEFT = re.compile(r"([\d,]+) states left on queue")


def parse_tlc(output: str, partial: bool = False) -> int:
    """The distinct-state count of a finished TLC run's output; TLCError if it did not
    finish or reported an error.  ``partial``: the run was stopped by
    ``-Dtlc2.TLC.stopAfter`` (TLC then reports "completed" with states left on its queue),
    and a run that left none was no partial run: TLCError too."""
    if "Error:" in output or "Model checking completed" not in output:
        lines = [x for x in output.splitlines() if x.startswith("Error:")]
        raise TLCError(lines[0] if lines else "TLC did not finish (no 'Model checking "
                       "completed' in its output)")
    found = _DISTINCT.findall(output)
    if not found:
        raise TLCError("TLC's output has no 'distinct states found' line")
    left = _LEFT.findall(output)
    if partial and (not left or int(left[-1].replace(",", "")) == 0):
        raise TLCError("TLC finished the whole model before --tlc-stop-after: run it "
                       "without --large")
    return int(found[-1].replace(",", ""))


def run_tlc(bench: Bench, jar: str, tla_dir: Path, workers: int = 2,
            stop_after: int | None = None) -> tuple[float, float, int]:
    """Run TLC on ``bench`` in a temporary directory holding copies of the reference
    specification(s) and the model this script writes; (wall seconds, CPU seconds of the
    JVM, distinct states).  The CPU figure is the one to compare on a loaded machine: a
    busy core slows TLC's wall time as it slows ours.  ``stop_after``: stop TLC after
    that many seconds (its ``tlc2.TLC.stopAfter`` property) and count what it found."""
    with tempfile.TemporaryDirectory(prefix="bench-tlc-") as tmp:
        work = Path(tmp)
        for spec in tla_dir.glob("*.tla"):
            shutil.copy(spec, work / spec.name)
        module, cfg = tlc_model(bench, tla_dir)
        (work / "MCBench.tla").write_text(module)
        (work / "MCBench.cfg").write_text(cfg)
        stop = [] if stop_after is None else [f"-Dtlc2.TLC.stopAfter={stop_after}"]
        cmd = ["java", *stop, "-XX:+UseParallelGC", "-cp", jar, "tlc2.TLC", "-workers",
               str(workers), "-deadlock", "-metadir", str(work / "states"), "-config",
               "MCBench.cfg", "MCBench.tla"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=work, check=False)
        except OSError as e:
            raise TLCError(f"cannot run java: {e}") from None
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return seconds, cpu, parse_tlc(out.stdout + out.stderr, stop_after is not None)


def tla_setup(env_jar: str | None, tla_dir: str | None, benches: list[Bench]
              ) -> tuple[str, Path] | None:
    """(jar, directory) when TLC is to run live, None for the recorded figures; a
    TLCError names what is missing."""
    if not env_jar:
        if tla_dir:
            raise TLCError("--tla-dir needs TLA2TOOLS=/path/to/tla2tools.jar in the environment")
        return None
    if not Path(env_jar).is_file():
        raise TLCError(f"TLA2TOOLS={env_jar}: no such file")
    if not tla_dir:
        raise TLCError("TLA2TOOLS is set: give --tla-dir DIR, the directory holding "
                       "Paxos.tla and raft.tla (tlaplus/Examples, ongardie/raft.tla)")
    directory = Path(tla_dir)
    missing = sorted({name for b in benches for name in TLA_FILES[b.spec]
                      if not (directory / name).is_file()})
    if missing:
        raise TLCError(f"--tla-dir {tla_dir}: missing {', '.join(missing)}")
    return env_jar, directory


def child(name: str, workers: int, store: str, max_states: int | None = None,
          engine: str = "auto") -> dict[str, Any]:
    """Run one benchmark in this process; return its figures."""
    from quorum.cli.specs import load
    from quorum.model_checker.explicit.bfs import check
    from quorum.model_checker.explicit.parallel import check_fingerprints
    from quorum.model_checker.explicit.vector import check_vector, encoding_of

    bench = next(b for b in BENCHES if b.name == name)
    info = load(bench.spec)
    model = info.build({**info.defaults(), **bench.values}, None, bench.symmetry)
    start = time.perf_counter()
    batch = encoding_of(model) if store == "fingerprint" and engine != "objects" else None
    vector = batch is not None
    if store == "exact":
        result = check(model, max_states=max_states)
    elif vector:
        result = check_vector(model, max_states=max_states, batch=batch)
    else:
        result = check_fingerprints(model, workers=workers, max_states=max_states)
    wall = time.perf_counter() - start
    assert result.violation is None, result.violation
    if bench.expect_distinct is not None and result.complete:
        assert result.distinct_states == bench.expect_distinct, result.distinct_states
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return {"distinct": result.distinct_states, "seconds": wall,
            "cpu": sum(u.ru_utime + u.ru_stime for u in usage),
            "rss_mib": max(u.ru_maxrss for u in usage) / 1024,
            "bytes_per_state": result.extra.get("store_bytes_per_state"),
            "complete": result.complete, "depth": result.depth,
            "engine": "vector" if vector else f"{workers}w" if store == "fingerprint" else "exact"}


def measure(bench: Bench, workers: int, store: str, repeat: int,
            max_states: int | None = None, engine: str = "auto") -> dict[str, Any]:
    best: dict[str, Any] | None = None
    limit = [] if max_states is None else ["--max-states", str(max_states)]
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--child", bench.name, "--workers", str(workers),
             "--store", store, "--engine", engine, *limit], capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout)
        if best is None or r["seconds"] < best["seconds"]:
            best = r
    assert best is not None
    return best


def row(bench: Bench, args: argparse.Namespace, live: tuple[str, Path] | None) -> str:
    """Measure ``bench`` (and TLC on it when ``live``) and format its line of the table.

    A large model with TLC live is compared by rate: TLC runs for ``--tlc-stop-after``
    seconds, we run to the number of distinct states it found, and ``cpu`` is our CPU
    seconds per distinct state over TLC's (the wall and cpu/2 columns stay empty)."""
    tlc, source, note = bench.tlc_seconds, "recorded" if bench.tlc_seconds else "-", ""
    tlc_cpu: float | None = None  # measured only when TLC runs live
    max_states = args.max_states
    if live and bench.large:
        try:
            tlc, tlc_cpu, tlc_distinct = run_tlc(bench, live[0], live[1],
                                                 stop_after=args.tlc_stop_after)
        except TLCError as e:
            return f"{bench.name:<30} TLC: {e}"
        max_states = tlc_distinct
    r = measure(bench, args.workers, args.store, args.repeat, max_states, args.engine)
    if live and bench.large:
        assert tlc and tlc_cpu
        per_state = (r["cpu"] / r["distinct"]) / (tlc_cpu / tlc_distinct)
        return (f"{bench.name:<30} {r['distinct']:>10,} {r['seconds']:>7.2f} {r['cpu']:>7.2f} "
                f"{r['distinct'] / r['seconds']:>9,.0f} {r['rss_mib']:>7.0f}Mi {'-':>7} "
                f"{tlc:>7.1f} {'live':>8} {'-':>6} {'-':>6} {tlc_cpu:>8.1f} {per_state:>6.2f}"
                f" {r['engine']:>7}  (TLC stopped after {args.tlc_stop_after} s at {tlc_distinct:,} distinct "
                f"states; cpu compares CPU per distinct state)")
    if live and r["complete"]:
        try:
            tlc, tlc_cpu, tlc_distinct = run_tlc(bench, live[0], live[1])
        except TLCError as e:
            tlc, source, note = None, "failed", f"  TLC: {e}"
        else:
            source = "live"
            if tlc_distinct != r["distinct"]:
                note = f"  TLC found {tlc_distinct:,} distinct states"
    if not r["complete"]:
        tlc, source, note = None, "-", f"  (stopped at {r['distinct']:,}, depth {r['depth']})"
    ratio = f"{r['seconds'] / tlc:.2f}" if tlc else "-"
    cpu_ratio = f"{r['cpu'] / 2 / tlc:.2f}" if tlc else "-"
    bps = f"{r['bytes_per_state']:.1f}" if r["bytes_per_state"] else "-"
    tlc_s = f"{tlc:.1f}" if tlc else "-"
    tlc_cpu_s = f"{tlc_cpu:.1f}" if tlc_cpu else "-"
    cpu_cpu = f"{r['cpu'] / tlc_cpu:.2f}" if tlc_cpu else "-"
    return (f"{bench.name:<30} {r['distinct']:>10,} {r['seconds']:>7.2f} {r['cpu']:>7.2f} "
            f"{r['distinct'] / r['seconds']:>9,.0f} {r['rss_mib']:>7.0f}Mi {bps:>7} "
            f"{tlc_s:>7} {source:>8} {ratio:>6} {cpu_ratio:>6} {tlc_cpu_s:>8} "
            f"{cpu_cpu:>6} {r['engine']:>7}{note}")


def main() -> int:
    from quorum.model_checker.explicit.parallel import default_workers

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None, help="run benchmarks whose name contains this")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--store", choices=("fingerprint", "exact"), default="fingerprint")
    ap.add_argument("--large", action="store_true",
                    help="also run the larger models (hours each; see docs/benchmarks.md); "
                         "--only selects among them too")
    ap.add_argument("--max-states", type=int, default=None,
                    help="stop each run after about N distinct states (prints the rate only)")
    ap.add_argument("--tla-dir", default=None,
                    help="directory of Paxos.tla and raft.tla, for live TLC runs (TLA2TOOLS)")
    ap.add_argument("--tlc-stop-after", type=int, default=600, metavar="SECONDS",
                    help="with --large and TLC live: stop TLC after this long and compare "
                         "CPU per distinct state at its count (default 600)")
    ap.add_argument("--engine", choices=("auto", "vector", "objects"), default="auto",
                    help="vector: the array engine where the model has a batch encoding "
                         "(Raft), objects: --workers processes; auto (default): vector where "
                         "it applies (the engine column says which ran)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workers, args.store, args.max_states,
                               args.engine)))
        return 0
    if args.max_states is not None and args.max_states < 1:
        print("bench_checker: --max-states must be at least 1", file=sys.stderr)
        return 2
    if args.tlc_stop_after < 1:
        print("bench_checker: --tlc-stop-after must be at least 1 second", file=sys.stderr)
        return 2
    from quorum.cli.specs import SPECS

    benches = [b for b in BENCHES if (args.only is None or args.only in b.name)
               and (args.large or not b.large)]
    try:
        live = tla_setup(os.environ.get("TLA2TOOLS"), args.tla_dir, benches)
    except TLCError as e:
        print(f"bench_checker: {e}", file=sys.stderr)
        return 2
    print(f"workers={args.workers} store={args.store} "
          f"TLC={'live (' + live[0] + ')' if live else 'recorded (TLC 2.20, 2 workers)'}")
    print(f"{'model':<30} {'distinct':>10} {'wall s':>7} {'cpu s':>7} {'states/s':>9} "
          f"{'peak RSS':>9} {'B/state':>7} {'TLC s':>7} {'TLC':>8} {'ratio':>6} {'cpu/2':>6} "
          f"{'TLC cpu':>8} {'cpu':>6} {'engine':>7}")
    for bench in benches:
        if bench.spec not in SPECS:
            print(f"{bench.name:<30} (spec {bench.spec!r} not available)")
            continue
        print(row(bench, args, live), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
