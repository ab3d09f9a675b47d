"""Throughput of the sans-IO Raft core alone: no disk, no network, no codec.

Three RawNodes in one thread (``quorum.impl.raft.testing.Network``); the leader gets ``batch``
proposals of 100 bytes, then every message is delivered and every Ready handled; repeated
until ``n`` commands are applied on all three nodes.  Reports commands per second and the
core's time per command, as the ceiling the runtime cannot beat.

    python benchmarks/bench_raft_core.py [--n 20000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

from quorum.impl.raft.testing import Network


def run(n: int, batch: int) -> float:
    net = Network([1, 2, 3])
    net.campaign(1)
    leader = net.nodes[1]
    payload = b"x" * 100
    start = time.perf_counter()
    done = 0
    while done < n:
        for _ in range(batch):
            leader.propose(payload)
        net.stabilize()
        done += batch
    elapsed = time.perf_counter() - start
    assert all(len(net.commands(i)) == done for i in (1, 2, 3))
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    print(f"{'batch':>6} {'commands/s':>11} {'us/command':>11}")
    for batch in (1, 8, 64):
        if args.profile and batch == 64:
            prof = cProfile.Profile()
            prof.enable()
        elapsed = run(args.n, batch)
        print(f"{batch:>6} {args.n / elapsed:>11,.0f} {elapsed / args.n * 1e6:>11.1f}")
    if args.profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(18)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
