"""`quorum verify-impl`: the regression check to run after changing impl/, with one verdict.

Runs seeds ``0 .. N-1`` of every generation profile (``quorum.impl.sim.PROFILES``) in the
deterministic simulator, each with every check that applies, over ``--jobs`` processes:
the Raft core on every profile and the Multi-Paxos core on the profiles it runs
(``quorum.impl.sim.MULTIPAXOS_PROFILES``, a row ``multipaxos/PROFILE`` each), or one core
(``--protocol``).  A mutant runs on the core whose code holds it: a Multi-Paxos mutant on
the Multi-Paxos core; the Raft core's, the WAL's and the Ready loop's mutants on the Raft
core (``--protocol multipaxos`` puts a WAL or Ready loop mutant under the Multi-Paxos core).
Exit 0 when every schedule passed, 1 when any failed, 2 on a usage error, 3 when none
failed but some could not be decided (the linearizability check's time limit).  For each
failure it prints the profile, seed, event, check and message, the ``quorum sim``
commands that replay and shrink it, and, for the Raft core, the abstract spec state
(raft.tla's variables) at the failing event.  The default budget catches every registered
mutant (docs/refinement.md, "The regression workflow"); progress goes to standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import closing
from typing import Any

from quorum.cli import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError

__all__ = ["DEFAULT_SEEDS", "DEFAULT_STEPS", "PROTOCOL_CHOICES", "add_parser", "run"]

#: the default budget: the smallest that catches every mutant of quorum.impl.mutants
#: (tests/cli/test_verify_impl.py checks it does; docs/refinement.md has the catch table)
DEFAULT_SEEDS, DEFAULT_STEPS = 25, 1500
#: failures shown in full (with the abstract state) in the text report; --json has all
SHOWN = 5
#: ``--protocol``: one core, or both (the default)
PROTOCOL_CHOICES = ("all", "raft", "multipaxos")


def add_parser(sub: Any, name: str) -> None:
    from quorum.impl.mutants import Mutant
    from quorum.impl.sim import PROFILES

    p = sub.add_parser(name, help="check the store in the simulator over many seeds of every "
                       "profile: one verdict", description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                   help=f"seeds 0..N-1 of each profile (default {DEFAULT_SEEDS})")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"steps per schedule (default {DEFAULT_STEPS})")
    p.add_argument("--profiles", default=",".join(PROFILES), metavar="LIST",
                   help=f"comma-separated generation profiles (default: all, {','.join(PROFILES)})")
    p.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="all",
                   help="the core the nodes run: raft on every profile, multipaxos on "
                        "the profiles it runs, or all (default: both)")
    p.add_argument("--jobs", type=int, default=None, metavar="J",
                   help="worker processes (default: every core this process may use)")
    p.add_argument("--mutant", choices=[m.value for m in Mutant], default=None, metavar="NAME",
                   help="switch on a known implementation bug in every schedule: "
                        + ", ".join(m.value for m in Mutant))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--fail-fast", action="store_true",
                   help="stop at the first failure (with several jobs, which one is found "
                        "first may vary from run to run)")
    p.set_defaults(run=run)


def _options(args: argparse.Namespace) -> tuple[list[tuple[str, str]], int]:
    """The rows to run, ``(protocol, profile)`` in report order, and the number of
    workers, or a UsageError."""
    from quorum.impl.sim import MULTIPAXOS_PROFILES, PROFILES

    for flag in ("seeds", "steps"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag} must be at least 1")
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    bad = [p for p in profiles if p not in PROFILES] or ([] if profiles else ["(none)"])
    if bad:
        raise UsageError(f"unknown profile {bad[0]}; known: {','.join(PROFILES)}")
    jobs = args.jobs if args.jobs is not None else _cores()
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    profiles = list(dict.fromkeys(profiles))
    rows = [(proto, p) for proto in _protocols(args) for p in profiles
            if proto == "raft" or p in MULTIPAXOS_PROFILES]
    if not rows:
        raise UsageError(f"the multipaxos core runs none of the profiles {','.join(profiles)}; "
                         f"it runs: {','.join(MULTIPAXOS_PROFILES)}")
    return rows, jobs


def _protocols(args: argparse.Namespace) -> list[str]:
    """The cores to run: ``--protocol``, narrowed by the mutant's home (module docstring)."""
    asked = ["raft", "multipaxos"] if args.protocol == "all" else [args.protocol]
    if args.mutant is None:
        return asked
    from quorum.impl.mutants import Layer, parse

    layer = parse(args.mutant).layer
    home = {Layer.MULTIPAXOS: "multipaxos", Layer.CORE: "raft"}.get(layer)
    if home is not None and home not in asked:
        raise UsageError(f"{args.mutant} is a bug of the {home} core; run it with "
                         f"--protocol {home} (or all)")
    if home is None:  # the WAL's and the Ready loop's: either core, Raft's unless asked
        return ["raft"] if args.protocol == "all" else asked
    return [home]


def _label(protocol: str, profile: str) -> str:
    """A row's name in the report: the profile, ``multipaxos/PROFILE`` for that core."""
    return profile if protocol == "raft" else f"{protocol}/{profile}"


def _cores() -> int:
    """The cores this process may run on (all of the machine's where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    from quorum.conformance.sweep import Job, sweep

    rows, workers = _options(args)
    # seed by seed, so that every row advances together (--fail-fast, progress)
    todo = [Job(p, seed, args.steps, args.mutant, protocol=proto)
            for seed in range(args.seeds) for proto, p in rows]
    t0 = time.perf_counter()
    outcomes = []
    with (_Progress(len(todo), enabled=not args.json or sys.stderr.isatty()) as progress,
          closing(sweep(todo, workers)) as results):  # closing: --fail-fast stops the pool
        for out in results:
            outcomes.append(out)
            progress.update(len(outcomes), sum(o.failed for o in outcomes))
            if args.fail_fast and out.failed:
                break
    order = {row: i for i, row in enumerate(rows)}
    outcomes.sort(key=lambda o: (order[o.job.protocol, o.job.profile], o.job.seed))
    report = _report(args, rows, workers, len(todo), outcomes, time.perf_counter() - t0)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
        print(f"{report['seconds']:.1f} s", file=sys.stderr)
    return {"ok": EXIT_OK, "FAILED": EXIT_VIOLATION}.get(report["verdict"], EXIT_UNKNOWN)


# --- the report, as data (--json prints it; the text report reads it) -----------------------
def _report(args: argparse.Namespace, rows: list[tuple[str, str]], workers: int, planned: int,
            outcomes: list[Any], seconds: float) -> dict[str, Any]:
    from quorum.conformance.runner import default_checks
    from quorum.conformance.sweep import Job

    labels = [_label(*row) for row in rows]
    counts = {label: {"schedules": 0, "ok": 0, "failed": 0, "unknown": 0, "events": 0}
              for label in labels}
    for o in outcomes:
        c = counts[_label(o.job.protocol, o.job.profile)]
        c["schedules"] += 1
        c["events"] += o.events
        c["failed" if o.failed else "unknown" if o.unknown else "ok"] += 1
    failed = [o for o in outcomes if o.failed]
    unknown = [o for o in outcomes if o.unknown]
    checks = {_label(proto, p): list(default_checks(Job(p, 0, 1, protocol=proto).schedule()))
              for proto, p in rows}
    return {
        "verdict": "FAILED" if failed else "unknown" if unknown else "ok",
        "config": {"seeds": args.seeds, "steps": args.steps, "profiles": labels,
                   "checks": checks, "mutant": args.mutant, "jobs": workers,
                   "fail_fast": args.fail_fast},
        "schedules": {"planned": planned, "run": len(outcomes)},
        "profiles": counts,
        "failures": [_failure(o) for o in failed],
        "unknown": [{"profile": _label(o.job.protocol, o.job.profile), "seed": o.job.seed,
                     "verdicts": o.verdicts, "replay": _replay(o)} for o in unknown],
        "seconds": round(seconds, 2),
    }


def _replay(o: Any) -> str:
    from quorum.conformance.sweep import replay_command

    return replay_command(o.job)


def _failure(o: Any) -> dict[str, Any]:
    from quorum.spec.raft.tla.render import render_state

    f, job = o.failure, o.job
    name = ("" if job.protocol == "raft" else f"{job.protocol}-") + f"{job.profile}-seed-{job.seed}" \
        + (f"-{job.mutant}" if job.mutant else "")
    if job.protocol == "raft":
        state, error = (None if o.state is None else _plain(render_state(o.state))), o.state_error
    else:
        state, error = None, "the multipaxos core's runs are not mapped onto raft.tla"
    return {
        "profile": _label(job.protocol, job.profile), "seed": job.seed, "steps": job.steps, "mutant": job.mutant,
        "event": o.failed_at, "events": o.events, "check": f.check, "message": f.message,
        "details": f.details, "verdicts": o.verdicts,
        "replay": _replay(o), "shrink": f"{_replay(o)} --shrink {name}.json",
        "abstract_state": state, "abstract_state_error": error or None,
    }


def _plain(x: Any) -> Any:
    """A rendered spec state as JSON values: sets become sorted lists, records objects."""
    if isinstance(x, tuple) and hasattr(x, "_asdict"):
        return {k: _plain(v) for k, v in x._asdict().items()}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (set, frozenset)):
        return sorted(_plain(v) for v in x)
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    return x


# --- the text report -------------------------------------------------------------------------
def _print_text(r: dict[str, Any]) -> None:
    cfg, n = r["config"], r["schedules"]
    print(f"verify-impl: {len(cfg['profiles'])} profiles x {cfg['seeds']} seeds x "
          f"{cfg['steps']} steps = {n['planned']} schedules"
          + (f", mutant {cfg['mutant']}" if cfg["mutant"] else ""))
    width = max(12, *map(len, r["profiles"]))
    for p, c in r["profiles"].items():
        print(f"  {p:<{width}} {c['schedules']:>4} schedules, {c['events']:>9,} events: "
              f"{c['ok']} ok, {c['failed']} failed, {c['unknown']} unknown; checks "
              + ",".join(cfg["checks"][p]))
    for i, f in enumerate(r["failures"], 1):
        where = f"event {f['event']}" if f["event"] is not None else "the end of the run"
        print(f"\nFAILURE {i}: profile {f['profile']}, seed {f['seed']}, at {where}: "
              f"{f['check']}: {f['message']}")
        if i > SHOWN:
            print(f"  replay: {f['replay']}")
            continue
        for line in f["details"].splitlines():
            print(f"  {line}")
        print(f"  replay: {f['replay']}\n  shrink: {f['shrink']}")
        _print_state(f)
    for u in r["unknown"]:
        print(f"\nUNKNOWN: profile {u['profile']}, seed {u['seed']}: "
              + ", ".join(f"{k} {v}" for k, v in u["verdicts"].items())
              + f"\n  replay: {u['replay']}")
    ran = "" if n["run"] == n["planned"] else f" (stopped after {n['run']} of {n['planned']})"
    print(f"\nverdict: {r['verdict']}: {len(r['failures'])} failed, {len(r['unknown'])} unknown, "
          f"{n['run'] - len(r['failures']) - len(r['unknown'])} ok{ran}")


def _print_state(f: dict[str, Any]) -> None:
    from quorum.model_checker.trace import format_value

    state = f["abstract_state"]
    if state is None:
        print(f"  abstract state: unavailable ({f['abstract_state_error']})")
        return
    after = f"event {f['event']}" if f["event"] is not None else f"the last event ({f['events']})"
    print(f"  abstract state after {after} (quorum.spec.raft, raft.tla's variables):")
    for var, value in state.items():
        if var == "messages":
            print(f"    messages: {sum(value.values())} in flight")
            for m, count in list(value.items())[:10]:
                print(f"      {m}" + (f" x{count}" if count > 1 else ""))
            if len(value) > 10:
                print(f"      ... and {len(value) - 10} more (--json has them all)")
            continue
        print(f"    {var}: " + ", ".join(f"{k}={_compact(v, format_value)}"
                                         for k, v in value.items()))


def _compact(v: Any, format_value: Any) -> str:
    """A per-server value: logs as <<term:value, ...>>, the rest as TLA+ values."""
    if isinstance(v, list) and all(isinstance(e, dict) and set(e) == {"term", "value"}
                                   for e in v):
        return "<<" + ", ".join(f"{e['term']}:{e['value']}" for e in v) + ">>"
    return format_value(v)


class _Progress:
    """``N/M schedules, F failed`` on stderr: one redrawn line on a terminal, otherwise a
    line every tenth of the run."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.tty = sys.stderr.isatty()
        self.step = max(1, total // 10)
        self._last = 0.0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self.tty:
            print("\r\033[K", end="", file=sys.stderr, flush=True)

    def update(self, done: int, failed: int) -> None:
        if not self.enabled:
            return
        line = f"verify-impl: {done}/{self.total} schedules, {failed} failed"
        if self.tty:
            now = time.monotonic()
            if now - self._last >= 0.2 or done == self.total:
                self._last = now
                print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
        elif done % self.step == 0 or done == self.total:
            print(line, file=sys.stderr, flush=True)
