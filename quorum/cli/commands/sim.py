"""`quorum sim`: run the store's own code in the deterministic simulator, with every check.

``quorum sim --seed S --steps N`` draws a schedule from the seed;
``quorum sim --schedule FILE`` replays a saved (e.g. shrunk) one.  Standard output is
deterministic (the same arguments print the same bytes) and ends with the event
log's SHA-256 and the verdicts; timings go to standard error.  Exit 0 when every check
passed, 1 when one failed, 3 when the linearizability check could not decide (its time
limit, memo cap or a MemoryError).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, name: str) -> None:
    from quorum.impl.mutants import Mutant
    from quorum.impl.sim import PROFILES

    p = sub.add_parser(name, help="deterministic simulation of the store, with safety, spec and linearizability checks",
                       description=__doc__.split("\n\n")[0], formatter_class=_HelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seed", type=int, default=None, help="draw a schedule from this seed")
    src.add_argument("--schedule", type=Path, default=None, metavar="FILE",
                     help="replay a schedule saved as JSON")
    p.add_argument("--steps", type=int, default=1000, help="steps to draw (with --seed)")
    p.add_argument("--profile", choices=list(PROFILES), default="default",
                   help="the schedule generator (with --seed; quorum.impl.sim.PROFILES); tla: "
                        "keep the store within raft.tla's vocabulary (pre-vote and check-quorum "
                        "off, one entry per AppendEntries, no snapshots, no torn writes) and "
                        "check step refinement too; tla-prevote: the same with etcd's pre-vote on; wide: "
                        "cluster sizes 1-7, leader partitions with writes on both sides, "
                        "snapshots by new leaders, transfers, client retries; churn: wide plus "
                        "membership changes and storage faults; tla-snap: tla plus snapshots "
                        "and InstallSnapshot, compared by step refinement; tla-churn: tla plus "
                        "membership changes (learners, promotions, voters added and removed), "
                        "compared by step refinement")
    p.add_argument("--protocol", choices=["raft", "multipaxos"], default="raft",
                   help="the core every node runs (with --seed): raft, or multipaxos "
                        "(impl/multipaxos: profiles default, wide and tla-snap, without their "
                        "transfer and membership steps; checked by per-slot agreement, step "
                        "refinement against spec/multipaxos and linearizability)")
    p.add_argument("--mutant", choices=[m.value for m in Mutant], default=None, metavar="NAME",
                   help="switch on a known implementation bug (layer, the check that catches "
                        "it): " + "; ".join(f"{m} ({m.layer.value}, {m.check})" for m in Mutant))
    p.add_argument("--checks", default=None, metavar="LIST",
                   help="comma-separated subset of: safety,invariants,refinement,linearizability")
    p.add_argument("--log", action="store_true", help="print the whole event log")
    p.add_argument("--shrink", type=Path, default=None, metavar="FILE",
                   help="on failure, shrink the schedule and save it to FILE")
    p.set_defaults(run=run)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped without breaking a mutant's name at its hyphens."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _schedule(args: argparse.Namespace) -> Any:
    from quorum.impl.sim import Schedule, draw, with_mutant

    if args.schedule is not None:
        try:
            sched = Schedule.from_json(args.schedule.read_text())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read schedule {args.schedule}: {exc}") from None
    else:
        if args.steps < 1:
            raise UsageError("--steps must be at least 1")
        try:
            sched = draw(args.profile, 42 if args.seed is None else args.seed, args.steps,
                         args.protocol)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.mutant:
        try:
            sched = replace(sched, config=with_mutant(sched.config, args.mutant))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return sched


def _checks(args: argparse.Namespace, sched: Any) -> tuple[str, ...]:
    from quorum.conformance.runner import ALL_CHECKS, default_checks

    if args.checks is None:
        return default_checks(sched)
    chosen = tuple(c.strip() for c in args.checks.split(",") if c.strip())
    bad = [c for c in chosen if c not in ALL_CHECKS]
    if bad or not chosen:
        known = ",".join(ALL_CHECKS)
        raise UsageError(f"unknown check {bad[0] if bad else '(none)'}; known: {known}")
    return chosen


def run(args: argparse.Namespace) -> int:
    from quorum.cli.commands.check import check_output_paths
    from quorum.conformance.runner import ChecksError, check_schedule, shrink

    check_output_paths(("--shrink", args.shrink))
    sched = _schedule(args)
    checks = _checks(args, sched)
    try:
        res = check_schedule(sched, checks)
    except ChecksError as exc:
        raise UsageError(str(exc)) from None
    r = res.run
    cfg = sched.config
    core = "" if cfg.protocol == "raft" else f"; core {cfg.protocol}"
    print(f"schedule: {sched.origin or 'from file'}; {len(sched.steps)} steps; {cfg.nodes} nodes, "
          f"{cfg.clients} clients; batching {cfg.max_msg_entries}{core}")
    if cfg.mutants:
        print(f"mutants: {', '.join(str(m) for m in cfg.mutants)}")
    if args.log or res.failed:
        lines = r.log if args.log else r.log[-25:]
        print("event log" + ("" if args.log else " (last 25 events)") + ":")
        for line in lines:
            print(f"  {line}")
    done = sum(o["ret"] is not None for o in r.history)
    print(f"events: {r.events} ({r.noops} no-ops); faults: "
          + ", ".join(f"{k} {v}" for k, v in r.stats.items()))
    print(f"history: {len(r.history)} operations, {done} returned")
    if res.coverage is not None:
        ok, total = res.validated
        if sched.config.protocol == "multipaxos":
            print(f"step refinement: {ok} of {total} events validated against MultiPaxos.tla "
                  f"(a path of its actions per replica that acted; compared: promises, votes, "
                  f"proposer state, chosen prefixes, every message sent in msgs), by event "
                  f"kind:")
        else:
            print(f"step refinement: {ok} of {total} events validated against raft.tla with "
                  f"etcd's bookkeeping (at most 3 state-changing spec steps, L + 3 for a "
                  f"truncation of L entries, plus send steps; compared: the whole abstract "
                  f"state but nextIndex), by event kind:")
        print(res.coverage)
    if res.failure is not None:  # "check: message", then any details
        print(f"FAILED at event {r.failed_at or r.events}: {res.failure}")
    print(f"event log sha256: {r.hash}")
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in res.verdicts.items()))
    print(f"{res.seconds:.2f} s, {r.events / max(res.seconds, 1e-9):,.0f} events/s",
          file=sys.stderr)
    if res.failed and args.shrink is not None:
        _shrink_and_save(sched, checks, args.shrink, shrink)
    if res.failed:
        return EXIT_VIOLATION
    return EXIT_UNKNOWN if "unknown" in res.verdicts.values() else EXIT_OK


def _shrink_and_save(sched: Any, checks: tuple[str, ...], path: Path, shrink: Any) -> None:
    from quorum.conformance.runner import check_schedule

    t0 = time.perf_counter()
    failed_at = check_schedule(sched, checks, keep_log=False).run.failed_at
    if failed_at:  # nothing after the failing event matters
        sched = replace(sched, steps=sched.steps[:failed_at])
    from quorum.cli.commands.check import write_output

    shrunk = shrink(sched, lambda s: check_schedule(s, checks, keep_log=False).failed)
    small = shrunk.schedule
    text = small.to_json(expect="fail") + "\n"
    if write_output("--shrink", path, text):
        print(f"shrunk to {len(small.steps)} steps: {path}")
        print(f"replay: quorum sim --schedule {path}")
    else:  # the shrunk schedule is not lost: it goes to stdout
        print(f"shrunk to {len(small.steps)} steps (not saved):")
        print(text, end="")
    if not shrunk.complete:
        print(f"the shrink stopped at its budget of {shrunk.runs:,} replays: a smaller "
              f"failing schedule may exist")
    print(f"shrinking took {shrunk.runs:,} replays, {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
