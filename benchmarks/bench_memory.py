"""A member's memory under large writes, before and after compaction (issue 14, item 4).

Usage: python benchmarks/bench_memory.py [--puts 100] [--value-mib 1.9] [--keys 10]
                                         [--serve-flags "--snapshot-bytes 1099511627776"]

Starts one ``quorum serve`` process (data on disk in a temp dir, ``--max-request-bytes``
raised to 2.5 MiB so that 1.9 MiB values fit), writes ``puts`` values of ``value-mib`` MiB
round-robin over ``keys`` keys, then compacts to the current revision and defragments.  It
prints, after start, after the writes and after the compaction: the member's resident set
size (VmRSS from /proc) and the store's accounted size (Status.dbSize).  RSS depends on
the allocator (glibc keeps some freed memory for reuse), so it is a figure for
docs/benchmarks.md, not something a test asserts; the accounted size is exact.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from quorum.impl.api import rpc_pb2, rpc_pb2_grpc


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--puts", type=int, default=100)
    ap.add_argument("--value-mib", type=float, default=1.9)
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--serve-flags", default="", help="more flags for quorum serve")
    args = ap.parse_args()
    client, peer = _port(), _port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quorum", "serve", "--name", "m", "--data-dir",
             f"{tmp}/m", "--listen-client-urls", f"http://127.0.0.1:{client}",
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--max-request-bytes", str(5 * 512 * 1024), "--log-level", "warning",
             *args.serve_flags.split()])
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{client}", options=[
                ("grpc.max_send_message_length", 8 * 1024 * 1024)])
            kv, maint = rpc_pb2_grpc.KVStub(channel), rpc_pb2_grpc.MaintenanceStub(channel)
            for _ in range(200):
                try:
                    if maint.Status(rpc_pb2.StatusRequest(), timeout=1).leader:
                        break
                except grpc.RpcError:
                    pass
                time.sleep(0.1)

            def show(when: str) -> None:
                st = maint.Status(rpc_pb2.StatusRequest(), timeout=10)
                print(f"{when:<28} RSS {_rss_mib(proc.pid):7.1f} MiB   "
                      f"dbSize {st.dbSize / 2**20:7.1f} MiB   raft index {st.raftIndex}")

            show("started")
            value = os.urandom(int(args.value_mib * 2**20))
            t0 = time.perf_counter()
            rev = 0
            for i in range(args.puts):
                rev = kv.Put(rpc_pb2.PutRequest(key=b"big%d" % (i % args.keys), value=value),
                             timeout=30).header.revision
            took = time.perf_counter() - t0
            show(f"after {args.puts} puts ({took:.1f} s)")
            kv.Compact(rpc_pb2.CompactionRequest(revision=rev), timeout=30)
            maint.Defragment(rpc_pb2.DefragmentRequest(), timeout=30)
            time.sleep(1)
            show("after compact + defrag")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
