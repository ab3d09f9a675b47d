"""Speed-up of the Ray engine per number of workers, and the bytes its workers exchange
per distinct state, against the local engine (``--workers``, forked processes).

Usage: python benchmarks/bench_ray.py [--spec paxos] [--acceptors 3 --values 2
       --max-ballot 2] [--actors 1,2,4] [--local 1,2] [--cpus N]

One local Ray cluster (``--cpus`` logical CPUs, default the largest actor count) serves
every Ray run; each run starts its own actors (their start-up is reported apart and left
out of the search's seconds).  Prints, per engine and worker count: distinct states,
search seconds, distinct states per second, the speed-up over one worker of the same
engine and over the local engine on one process, CPU seconds of all processes (for
Ray: the driver and the actors, measured in each), and for Ray the bytes the actors sent
each other (fingerprints, positions, parents; masks back) and the bytes of the level
boundaries through the driver, both per distinct state.  More workers than idle cores
cannot speed anything up: the figures then show the cost of the exchange alone.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import time

from quorum.cli.specs import build_model, load
from quorum.model_checker.explicit.distributed import check_ray, connect
from quorum.model_checker.explicit.parallel import check_fingerprints


def cpu_all() -> float:
    """CPU seconds of this process and of its children that ended (the forked workers)."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="paxos")
    ap.add_argument("--acceptors", type=int, default=3)
    ap.add_argument("--values", type=int, default=2)
    ap.add_argument("--max-ballot", type=int, default=2)
    ap.add_argument("--actors", default="1,2,4")
    ap.add_argument("--local", default="1,2")
    ap.add_argument("--cpus", type=int, default=None)
    args = ap.parse_args()
    values = load(args.spec).defaults(None)
    if args.spec == "paxos":
        values.update(acceptors=args.acceptors, values=args.values, max_ballot=args.max_ballot)
    build = functools.partial(build_model, args.spec, values, None, False)
    actors = [int(x) for x in args.actors.split(",") if x]
    local = [int(x) for x in args.local.split(",") if x]
    print(f"{args.spec} {values}; {len(os.sched_getaffinity(0))} cores available, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'engine':<8}{'workers':>8}{'distinct':>10}{'seconds':>9}{'cpu s':>8}{'states/s':>10}"
          f"{'vs 1':>7}{'vs local 1':>11}{'exch B/st':>10}{'driver B/st':>12}{'startup s':>10}")
    base: float | None = None
    counts = None
    for n in local:
        t, c = time.perf_counter(), cpu_all()
        r = check_fingerprints(build(), workers=n)
        s, c = time.perf_counter() - t, cpu_all() - c
        base = base or s
        counts = counts or (r.distinct_states, r.generated_states, r.depth)
        assert (r.distinct_states, r.generated_states, r.depth) == counts
        print(f"{'local':<8}{n:>8}{r.distinct_states:>10,}{s:>9.2f}{c:>8.2f}"
              f"{r.distinct_states / s:>10,.0f}"
              f"{base / s:>7.2f}{base / s:>11.2f}{'-':>10}{'-':>12}{'-':>10}")
    connect("local", args.cpus or max(actors))
    first: float | None = None
    for n in actors:
        r = check_ray(build, workers=n)
        s = r.seconds
        first = first or s
        if counts is not None:
            assert (r.distinct_states, r.generated_states, r.depth) == counts
        x = r.extra
        vs_local = f"{base / s:.2f}" if base else "-"
        print(f"{'ray':<8}{n:>8}{r.distinct_states:>10,}{s:>9.2f}{x['cpu_seconds']:>8.2f}"
              f"{r.distinct_states / s:>10,.0f}"
              f"{first / s:>7.2f}{vs_local:>11}{x['bytes_exchanged_per_state']:>10.1f}"
              f"{x['bytes_via_driver_per_state']:>12.1f}{x['ray_startup_seconds']:>10.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
