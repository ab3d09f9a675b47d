"""The long torture test: real clusters under faults, several seeds, one verdict each.

    python benchmarks/jepsen.py [--members 5] [--duration 120] [--seeds 3] [--clients 8]

For each seed, runs ``quorum.harness.torture`` (every nemesis kind) and prints the
throughput (acknowledged operations per second under faults), ok/fail/indeterminate
counts per operation kind, the faults that took effect, the checker's time and the
verdict.  Exits 1 if any run is not linearizable, 3 if any has no verdict.  The figures
of a run are recorded in docs/refinement.md ("Real processes").
"""

from __future__ import annotations

import argparse
import sys
import time

from quorum.harness import Settings, torture
from quorum.harness.processes import HarnessError
from quorum.harness.verdict import describe


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--duration", type=float, default=120.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()
    worst = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        settings = Settings(members=args.members, duration=args.duration,
                            clients=args.clients, seed=seed, check_timeout=300.0)
        started = time.monotonic()
        try:
            run = torture(settings)
        except HarnessError as exc:
            print(f"seed {seed}: no verdict: {exc}")
            worst = max(worst, 3)
            continue
        s = run.summary()
        print(f"seed {seed}: {args.members} members, {s['operations']} operations in "
              f"{run.load_seconds:.0f}s, {s['ops_per_s']} ok ops/s; wall {time.monotonic() - started:.0f}s")
        for kind, n in s["counts"].items():
            print(f"  {kind:5} ok {n['ok']:6}  fail {n['fail']:5}  indeterminate {n['info']:4}")
        print("  faults: " + ", ".join(f"{k} {v}" for k, v in s["faults"].items()))
        print(f"  checker {s['check_seconds']:.2f}s: " + describe(run.result)[0])
        if run.heal_error:
            print(f"  heal failed: {run.heal_error}")
        if run.verdict != "ok":
            print("\n".join(describe(run.result)[1:]))
            worst = max(worst, 1 if run.verdict == "illegal" else 3)
        sys.stdout.flush()
    return worst


if __name__ == "__main__":
    sys.exit(main())
