"""Time the z3 proofs: each symbolic system, each --drop, and the quorum lemmas.

Usage: python benchmarks/bench_proofs.py [--repeat N] [--drops]

Prints, per system: the verdict, the number of checks, seconds (best of N, z3 time
summed over the checks, and wall time), and the slowest check.  With ``--drops``, also
the time to find the CTI for each dropped conjunct.  The machines are shared and noisy:
compare runs on one machine, not absolute times.
"""

from __future__ import annotations

import argparse
import time

from quorum.cli.commands.prove import LEMMAS, SYSTEMS
from quorum.model_checker.symbolic.induction import prove
from quorum.model_checker.symbolic.lemmas import check_lemma
from quorum.model_checker.symbolic.system import TransitionSystem


def load(ref: str):  # type: ignore[no-untyped-def]
    module, func = ref.split(":")
    return getattr(__import__(module, fromlist=[func]), func)()


def bench_system(name: str, repeat: int, drops: bool) -> None:
    ts = TransitionSystem.from_data(load(SYSTEMS[name]))
    best_wall, proof = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        proof = prove(ts)
        best_wall = min(best_wall, time.perf_counter() - start)
    assert proof is not None
    slow = max(proof.checks, key=lambda c: c.seconds)
    print(f"{name:<9} {proof.result:<8} {len(proof.checks):>4} checks  z3 {proof.seconds:6.2f} s"
          f"  wall {best_wall:6.2f} s  slowest: {slow.kind} {slow.conjunct}"
          f"{' / ' + slow.action if slow.action else ''} {slow.seconds:.2f} s")
    if drops:
        for conjunct in ts.invariant:
            start = time.perf_counter()
            dropped = prove(ts, drop=[conjunct], stop_at_first=True, timeout=10)
            print(f"  --drop {conjunct:<26} {dropped.result:<8} "
                  f"{time.perf_counter() - start:6.2f} s")


def bench_lemmas(name: str) -> None:
    start = time.perf_counter()
    results = [check_lemma(lemma) for lemma in load(LEMMAS[name])]
    ok = sum(r.ok for r in results)
    print(f"{name:<9} {ok}/{len(results)} as expected  wall {time.perf_counter() - start:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--drops", action="store_true", help="also time every --drop")
    args = parser.parse_args()
    for name in SYSTEMS:
        bench_system(name, args.repeat, args.drops)
    for name in LEMMAS:
        bench_lemmas(name)


if __name__ == "__main__":
    main()
