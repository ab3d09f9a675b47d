"""Time the exhaustive checker on the benchmark models and compare with TLC.

Usage: python benchmarks/bench_checker.py [--only NAME] [--repeat N]

Prints, per model: distinct states, seconds (best of N), states/second, peak RSS of
the process so far, and the ratio of our time to TLC 2.20's (2 workers) measured on
this machine class.  Ratios, not absolute times, are what to compare: the machines
are shared and noisy.  A ratio of 0.25 is the goal (four times TLC's speed).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_checker.bfs import check  # noqa: E402
from quorum.specs import load  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    spec: str
    values: dict[str, Any]
    symmetry: bool
    tlc_seconds: float | None  # TLC 2.20, 2 workers, this machine class
    expect_distinct: int | None = None


BENCHES = [
    Bench("paxos a3 v2 b0..2", "paxos", {"acceptors": 3, "values": 2, "max_ballot": 2}, False,
          16.3),
    Bench("paxos a3 v2 b0..2 symmetry", "paxos",
          {"acceptors": 3, "values": 2, "max_ballot": 2}, True, 3.8),
    Bench("paxos a3 v2 b0..1", "paxos", {"acceptors": 3, "values": 2, "max_ballot": 1}, False,
          None, 3921),
]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(bench: Bench, repeat: int) -> dict[str, Any]:
    info = load(bench.spec)
    values = {**info.defaults(), **bench.values}
    best = None
    for _ in range(repeat):
        model = info.build(values, None, bench.symmetry)
        start = time.perf_counter()
        result = check(model)
        elapsed = time.perf_counter() - start
        assert result.ok, result.violation
        if bench.expect_distinct is not None:
            assert result.distinct_states == bench.expect_distinct
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return {"distinct": result.distinct_states, "seconds": best,
            "rate": result.distinct_states / best, "rss": peak_rss_mib()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None, help="run benchmarks whose name contains this")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    print(f"{'model':<34} {'distinct':>11} {'seconds':>8} {'states/s':>10} "
          f"{'peak RSS':>9} {'TLC s':>7} {'ratio':>6}")
    for bench in BENCHES:
        if args.only and args.only not in bench.name:
            continue
        r = run(bench, args.repeat)
        tlc = f"{bench.tlc_seconds:.1f}" if bench.tlc_seconds else "-"
        ratio = f"{r['seconds'] / bench.tlc_seconds:.2f}" if bench.tlc_seconds else "-"
        print(f"{bench.name:<34} {r['distinct']:>11,} {r['seconds']:>8.2f} {r['rate']:>10,.0f} "
              f"{r['rss']:>7.0f}Mi {tlc:>7} {ratio:>6}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
