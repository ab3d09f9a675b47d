"""What gRPC front-ends take off a member: one member, no replication, CPU per put.

Usage: python benchmarks/bench_frontends.py [--frontends 0,1,2] [--concurrency 64]
                                            [--warmup 1] [--duration 5] [--repeat 2]

Starts a one-member cluster (``quorum serve``, its WAL on disk, every put fsynced) once
per ``--frontends`` value and round, drives it with bench_store.py's closed-loop Python
client, and prints ops/s, p50, and the CPU microseconds per put of the member process and
of its front-end processes together.  With one member there is no replication: the
member's figure is the request path (gRPC or the local channel) plus the write and its
fsync, so the difference between rows is what the front-ends take off the member's loop.
Rounds are interleaved; the median round by ops/s is printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_store as bs  # noqa: E402  (a script beside this one)


def run_one(frontends: int, args: argparse.Namespace, work: Path) -> tuple[float, float, float,
                                                                        float]:
    """(ops/s, p50 ms, member us/put, front-ends us/put) of one run."""
    client, peer = bs.free_ports(2)
    data = work / f"fe{frontends}"
    data.mkdir()
    secret = data / "peer-secret"
    secret.write_bytes(os.urandom(32).hex().encode())
    url = f"http://127.0.0.1:{client}"
    argv = [sys.executable, "-P", "-m", "quorum", "serve", "--name", "m",
            "--data-dir", str(data / "m"), "--listen-client-urls", url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--peer-secret-file",
            str(secret), "--log-level", "warning", "--frontends", str(frontends)]
    cluster = bs.Cluster()
    cluster.client_urls.append(url)
    with open(data / "member.log", "wb") as log:
        cluster.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log))
    try:
        endpoint = cluster.leader_endpoint()
        member = cluster.procs[0].pid
        pids = bs.with_children([member])
        before = bs.cpu_seconds(pids)
        f = asyncio.run(bs.python_put_load(endpoint, args.concurrency, args.warmup,
                                           args.duration))
        used = [b - a for a, b in zip(before, bs.cpu_seconds(pids), strict=True)]
        puts = max(1.0, f.ops_per_s * args.duration)  # the warm-up's CPU is charged too
        return f.ops_per_s, f.p50_ms, used[0] / puts * 1e6, sum(used[1:]) / puts * 1e6
    finally:
        for p in cluster.procs:
            p.send_signal(signal.SIGTERM)
            p.wait(20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frontends", default="0,1,2",
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-frontends-", dir=str(bs.ROOT)))  # on disk
    head = (f"{'frontends':>9} {'ops/s':>8} {'p50 ms':>8} {'member us/put':>14} "
            f"{'front-ends us/put':>18}")
    print(head, flush=True)
    rows: dict[int, list[tuple[float, float, float, float]]] = {}
    try:
        for r in range(args.repeat):
            for n in args.frontends:
                (work / f"r{r}").mkdir(exist_ok=True)
                row = run_one(n, args, work / f"r{r}")
                rows.setdefault(n, []).append(row)
                print(f"{n:>9} {row[0]:>8,.0f} {row[1]:>8.2f} {row[2]:>14.0f} {row[3]:>18.0f}",
                      flush=True)
        print(f"\nmedian of {args.repeat} rounds (by ops/s):\n{head}")
        for n, runs in rows.items():
            row = sorted(runs)[len(runs) // 2]
            print(f"{n:>9} {row[0]:>8,.0f} {row[1]:>8.2f} {row[2]:>14.0f} {row[3]:>18.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
