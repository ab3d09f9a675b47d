"""Measure the storage layer and the key-value state machine on this machine.

Usage: python benchmarks/bench_storage.py [--dir DIR] [--saves N] [--keys K]

Prints: saves per second for one entry and for a 64-entry batch (each one fsync, on the
real file system under DIR, default a temp directory), KVStore puts applied per second,
local reads per second, and the time to take and restore a snapshot of K keys.  The fsync
rate bounds a node's commit rate unless the runtime batches Readies into one save.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from quorum.impl.kv import KVStore, Put, Range, encode
from quorum.impl.raft.types import Entry, HardState
from quorum.impl.storage import DiskStorage, OSDisk


def bench_saves(directory: str, n: int, batch: int) -> float:
    s, _ = DiskStorage.open(OSDisk(), directory, cluster_id=1, node_id=1)
    start = time.perf_counter()
    for k in range(n):
        first = k * batch + 1
        s.save(HardState(1, 1, 0), [Entry(1, first + j, data=b"x" * 130) for j in range(batch)])
    s.close()
    return n / (time.perf_counter() - start)


def bench_kv(keys: int) -> dict[str, float]:
    kv = KVStore()
    data = [encode(Put(b"key%012d" % i, b"v" * 100), i) for i in range(keys)]
    start = time.perf_counter()
    for i, entry in enumerate(data, 1):
        kv.apply(i, entry)
    apply_rate = keys / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(keys):
        kv.read(Range(b"key%012d" % i))
    read_rate = keys / (time.perf_counter() - start)
    start = time.perf_counter()
    snap = kv.snapshot()
    take = time.perf_counter() - start
    start = time.perf_counter()
    KVStore().restore(snap)
    restore = time.perf_counter() - start
    return {"apply/s": apply_rate, "read/s": read_rate, "snapshot s": take,
            "restore s": restore, "snapshot MB": len(snap) / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None, help="where to put the WAL (default: a temp dir)")
    ap.add_argument("--saves", type=int, default=300)
    ap.add_argument("--keys", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        one = bench_saves(str(Path(tmp) / "a"), args.saves, 1)
        many = bench_saves(str(Path(tmp) / "b"), args.saves, 64)
    print(f"save, 1 entry + fsync:   {one:8.0f} saves/s")
    print(f"save, 64 entries + fsync: {many:7.0f} saves/s = {64 * many:.0f} entries/s")
    for name, value in bench_kv(args.keys).items():
        print(f"kv {name:12s} {value:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
