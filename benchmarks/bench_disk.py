"""Peak memory of the in-memory and the disk-backed BFS as the state count grows.

Usage: python benchmarks/bench_disk.py [--spec paxos] [--set max_ballot=3] [--symmetry]
                                       [--states 1000000 10000000]
                                       [--paths memory disk vector vector-disk]
                                       [--buffer 1048576] [--progress 30]

For each state limit and each path, one fresh child process runs the exhaustive search
of the model (``--max-states`` cuts a model larger than the limit: the run is then
incomplete, which is what a memory figure at N states needs) and prints distinct states,
wall and CPU seconds, peak RSS (``ru_maxrss`` of the child), the store's bytes per
distinct state, and for the disk path the peak bytes in its directory per distinct
state (fingerprint runs and frontier files).  ``memory`` is
``check_fingerprints(workers=1)``: fingerprints in memory, the frontier as live states;
``disk`` is ``check_disk`` with an in-memory buffer of ``--buffer`` fingerprints;
``vector`` and ``vector-disk`` are the vector engine (``check_vector``) in memory and with
its directory (the same buffer), for a model with a batch encoding (Raft).
While a child runs, it prints a line to standard error every ``--progress`` seconds:
distinct states so far, their rate, and its resident memory now and at its peak
(``VmRSS``, ``VmHWM``), so a long row shows its curve before it ends.
These are figures for docs/benchmarks.md, not something a test asserts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from quorum.model_checker.progress import ProgressFn


def _memory() -> str:
    """The process's resident memory now and at its peak, from /proc (Linux)."""
    try:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/self/status").read_text().splitlines() if ":" in line)
    except OSError:
        return "memory unknown"
    mib = {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM") if k in fields}
    return ", ".join(f"{k} {v:,.0f} MiB" for k, v in mib.items())


def _reporter(label: str, every: float) -> ProgressFn:
    """A progress function for the checkers: one stderr line at most every ``every`` s."""
    start = last = time.perf_counter()

    def report(distinct: int, generated: int, depth: int, queued: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= every:
            last = now
            print(f"  {label}: {now - start:,.0f} s, {distinct:,} distinct, depth {depth}, "
                  f"{distinct / (now - start):,.0f} states/s, {_memory()}",
                  file=sys.stderr, flush=True)
    return report


def child(spec: str, values: dict[str, Any], states: int, path: str, buffer: int,
          every: float, symmetry: bool) -> dict[str, Any]:
    from quorum.cli.specs import load
    from quorum.model_checker.explicit.disk import check_disk
    from quorum.model_checker.explicit.parallel import check_fingerprints
    from quorum.model_checker.explicit.vector import check_vector

    info = load(spec)
    model = info.build({**info.defaults(), **values}, None, symmetry)
    report = _reporter(f"{path} {states:,}", every)
    start = time.perf_counter()
    if path == "memory":
        result = check_fingerprints(model, workers=1, max_states=states, progress=report)
    elif path == "vector":
        result = check_vector(model, max_states=states, progress=report)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            if path == "disk":
                result = check_disk(model, Path(tmp) / "search", max_states=states,
                                    buffer=buffer, progress=report)
            else:
                result = check_vector(model, directory=Path(tmp) / "search",
                                      max_states=states, buffer=buffer, progress=report)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = result.extra.get("disk_peak_bytes")
    return {"distinct": result.distinct_states, "complete": result.complete,
            "depth": result.depth, "seconds": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024,
            "store_bytes": result.extra["store_bytes_per_state"],
            "disk_bytes": None if peak is None else peak / max(result.distinct_states, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", default="paxos")
    ap.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                    help="a bound of the spec (repeatable; default for paxos: max_ballot=3)")
    ap.add_argument("--states", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--symmetry", action="store_true", help="the model's symmetry reduction")
    ap.add_argument("--paths", nargs="+", choices=("memory", "disk", "vector", "vector-disk"),
                    default=["memory", "disk"])
    ap.add_argument("--buffer", type=int, default=1 << 20,
                    help="disk path: fingerprints held in memory (default 1,048,576: 16 MiB)")
    ap.add_argument("--progress", type=float, default=30.0, metavar="SECONDS",
                    help="seconds between a running row's progress lines on stderr (default 30)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.set is None:
        args.set = ["max_ballot=3"] if args.spec == "paxos" else []
    values = {k: int(v) if v.lstrip("-").isdigit() else v
              for k, v in (s.split("=", 1) for s in args.set)}
    if args.child:
        path, states = args.child.split(":")
        print(json.dumps(child(args.spec, values, int(states), path, args.buffer,
                               args.progress, args.symmetry)))
        return 0
    print(f"{args.spec} {values}{', symmetry' if args.symmetry else ''}, disk buffer "
          f"{args.buffer:,} fingerprints")
    print(f"{'path':<11} {'limit':>11} {'distinct':>11} {'depth':>5} {'wall s':>7} "
          f"{'cpu s':>7} {'states/s':>9} {'peak RSS':>9} {'B/state':>8} {'disk B/st':>9}")
    for states in args.states:
        for path in args.paths:
            out = subprocess.run(
                [sys.executable, __file__, "--child", f"{path}:{states}", "--spec", args.spec,
                 "--buffer", str(args.buffer), "--progress", str(args.progress),
                 *(["--symmetry"] if args.symmetry else []), *[f"--set={s}" for s in args.set]],
                stdout=subprocess.PIPE, text=True, check=True)
            r = json.loads(out.stdout)
            disk = f"{r['disk_bytes']:.1f}" if r["disk_bytes"] is not None else "-"
            print(f"{path:<11} {states:>11,} {r['distinct']:>11,} {r['depth']:>5} "
                  f"{r['seconds']:>7.1f} {r['cpu']:>7.1f} {r['distinct'] / r['seconds']:>9,.0f} "
                  f"{r['rss_mib']:>7.0f}Mi {r['store_bytes']:>8} {disk:>9}"
                  f"{'' if r['complete'] else ' (cut)'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
