"""Soak the store in the simulator: many generated schedules, every check, throughput figures.

Usage: python benchmarks/soak.py [--schedules 10000] [--steps 1500] [--first-seed 0]
       [--workers 2] [--checks safety,linearizability] [--profile tla|tla-prevote|wide]

Runs seeds ``first_seed .. first_seed + schedules - 1`` through the same generator and
checks as CI (``quorum.conformance.runner.check_schedule``), spread over ``--workers`` processes,
(``--profile tla`` or ``tla-prevote``: the tla profile's generator, pre-vote off or on, every
check including step refinement; ``--profile wide``: the wide profile's generator,
:func:`quorum.impl.sim.generate_wide`, with the default checks),
and prints: schedules run, failures (with the replay command of each), events executed,
events per second, and schedules per minute (wall clock).  Exit 1 if any schedule failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from quorum.conformance.runner import CHECKS, TLA_CHECKS, check_schedule
from quorum.impl.sim import generate, generate_tla, generate_wide


def _generate_tla_prevote(seed: int, steps: int) -> Any:
    return generate_tla(seed, steps, pre_vote=True)


GENERATORS = {"default": generate, "tla": generate_tla, "tla-prevote": _generate_tla_prevote,
              "wide": generate_wide}


def _one(args: tuple[int, int, tuple[str, ...], str]) -> tuple[int, int, int, str | None]:
    seed, steps, checks, profile = args
    res = check_schedule(GENERATORS[profile](seed, steps), checks, keep_log=False)
    bad = None if res.ok else str(res.failure or res.verdicts)
    return seed, res.run.events, res.run.events - res.run.noops, bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schedules", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--checks", default=None, help=f"default: {','.join(CHECKS)} "
                    f"({','.join(TLA_CHECKS)} with a tla profile)")
    ap.add_argument("--profile", choices=sorted(GENERATORS), default="default")
    a = ap.parse_args()
    checks = tuple(a.checks.split(",")) if a.checks else (
        CHECKS if a.profile in ("default", "wide") else TLA_CHECKS)
    jobs = [(s, a.steps, checks, a.profile)
            for s in range(a.first_seed, a.first_seed + a.schedules)]
    t0 = time.perf_counter()
    events = effective = 0
    failures: list[str] = []
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        for done, (seed, ev, eff, bad) in enumerate(pool.map(_one, jobs, chunksize=8), 1):
            events += ev
            effective += eff
            if bad:
                prof = "" if a.profile == "default" else f" --profile {a.profile}"
                failures.append(f"seed {seed}: {bad} "
                                f"(replay: quorum sim{prof} --seed {seed} --steps {a.steps})")
            if done % 500 == 0:
                print(f"  {done} schedules, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    secs = time.perf_counter() - t0
    print(f"schedules: {len(jobs)} x {a.steps} steps ({a.profile} profile), checks: "
          f"{','.join(checks)}, {a.workers} workers")
    print(f"failures: {len(failures)}")
    for f in failures[:20]:
        print(f"  {f}")
    print(f"events: {events:,} ({effective:,} effective); {secs:.1f} s")
    print(f"events/s: {events / secs:,.0f}; schedules/minute: {len(jobs) / secs * 60:,.0f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
