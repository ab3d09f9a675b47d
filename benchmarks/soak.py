"""Soak the store in the simulator: many generated schedules, every check, throughput figures.

Usage: python benchmarks/soak.py [--schedules 10000] [--steps 1500] [--first-seed 0]
       [--workers 2] [--checks safety,linearizability] [--profile tla|tla-prevote|wide|churn]
       [--protocol raft|multipaxos]

Runs seeds ``first_seed .. first_seed + schedules - 1`` of one generation profile
(``quorum.impl.sim.PROFILES``; ``tla`` and ``tla-prevote`` add step refinement to the
checks) through ``quorum.conformance.sweep``, as ``quorum verify-impl`` does, spread over
``--workers`` processes, and prints: schedules run, failures (with the replay command of
each), events executed, events per second, and schedules per minute (wall clock).  Exit
1 if any schedule failed.
"""

from __future__ import annotations

import argparse
import sys
import time

from quorum.conformance.runner import CHECKS, TLA_CHECKS
from quorum.conformance.sweep import jobs, replay_command, sweep
from quorum.impl.sim import PROFILES


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schedules", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--checks", default=None, help=f"default: {','.join(CHECKS)} "
                    f"({','.join(TLA_CHECKS)} with a tla profile)")
    ap.add_argument("--profile", choices=list(PROFILES), default="default")
    ap.add_argument("--protocol", choices=["raft", "multipaxos"], default="raft",
                    help="the core the nodes run (multipaxos: profiles default, wide and tla-snap)")
    a = ap.parse_args()
    checks = tuple(a.checks.split(",")) if a.checks else None
    todo = jobs([a.profile], a.schedules, a.steps, checks=checks, first_seed=a.first_seed,
                protocol=a.protocol)
    t0 = time.perf_counter()
    events = effective = 0
    failures: list[str] = []
    for done, out in enumerate(sweep(todo, a.workers, with_state=False), 1):
        events += out.events
        effective += out.events - out.noops
        if out.failed or out.unknown:
            failures.append(f"seed {out.job.seed}: {out.failure or out.verdicts} "
                            f"(replay: {replay_command(out.job)})")
        if done % 500 == 0:
            print(f"  {done} schedules, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    secs = time.perf_counter() - t0
    shown = ",".join(checks) if checks else "every check that applies"
    core = "" if a.protocol == "raft" else f", {a.protocol} core"
    print(f"schedules: {len(todo)} x {a.steps} steps ({a.profile} profile{core}), checks: "
          f"{shown}, {a.workers} workers")
    print(f"failures: {len(failures)}")
    for f in sorted(failures)[:20]:
        print(f"  {f}")
    print(f"events: {events:,} ({effective:,} effective); {secs:.1f} s")
    print(f"events/s: {events / secs:,.0f}; schedules/minute: {len(todo) / secs * 60:,.0f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
