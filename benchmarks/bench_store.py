"""Throughput and latency of a 3-member quorum cluster next to a 3-member etcd cluster.

Usage: python benchmarks/bench_store.py [--systems quorum,quorum-mp,etcd,echo,pysyncobj]
                                        [--concurrency 1,64] [--warmup 2] [--duration 10]
                                        [--repeat N] [--flame leader.svg]
                                        [--frontends 0,1,2,3] [--failover N]

Every system runs as real processes on 127.0.0.1 with its data on disk (every
acknowledged write fsynced on a majority: quorum's WAL, etcd's WAL).  The same closed-loop
load generator drives each: ``concurrency`` clients, each sending its next Put as soon as
the previous one is answered, 16-byte keys drawn uniformly from 100,000, 100-byte values;
``warmup`` seconds unmeasured, then ``duration`` seconds measured; it prints ops/s and the
p50 and p99 latency per system and concurrency, and at the end every row's ratio to etcd's
(same client, same concurrency).  Clients:

* ``python``: grpc.aio, one channel to the leader (the issue's "same Python gRPC client");
* ``go``: etcd's own Go client (``benchmarks/go/loadgen.go``), built at benchmark time when
  Debian's golang-go and golang-etcd-server-dev are installed;
* ``echo``: the Python client against a trivial Python gRPC server answering every Put at
  once, i.e. the ceiling the Python client and grpcio impose on any system;
* ``pysyncobj``: PySyncObj's replicated dict (3 processes, no fsync at all), driven by the
  same closed loop inside its own process (it has no gRPC API), when pysyncobj imports.

``quorum`` runs the Raft core, ``quorum-mp`` the Multi-Paxos core (``quorum serve --protocol
multipaxos``): the same store, WAL, transport and gRPC API, so one run shows both protocols
beside etcd.  ``--frontends 0,1,2`` measures quorum once per value of its ``--frontends`` flag (gRPC
front-end processes; the rows are named ``quorum/feN``, ``quorum-mp/feN``); the CPU columns then count the
front-ends too.  etcd runs first in each round so that every later row shows its ratio to
etcd's row of the same round.

``--failover N`` then measures each cluster's leader change, N times: SIGKILL the leader,
time until a surviving member acknowledges a Put (attempts of 0.2 s each, through every
survivor), restart the killed member from its data.  All systems use their default
timings (etcd and quorum: 100 ms heartbeat, 1 s election timeout).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import functools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quorum.impl.api import rpc_pb2, rpc_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent

KEYS, KEY_BYTES, VALUE_BYTES = 100_000, 16, 100
ANCHORS = {  # the figures for etcd 3.4 (3 members, loopback, fsync), this machine class
    ("etcd", "python", 1): (742, 1.28, 2.84),
    ("etcd", "python", 64): (4431, 13.3, 32.6),
    ("etcd", "go", 64): (7411, None, 22.4),
    ("pysyncobj", "python", 64): (4940, None, 163.0),
    ("echo", "python", 64): (4537, None, None),
}


@dataclass
class Figures:
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    busiest_us: float = 0.0  # CPU microseconds per operation of the busiest server process
    total_us: float = 0.0  # CPU microseconds per operation of all server processes

    @staticmethod
    def of(latencies: list[float], seconds: float) -> Figures:
        """From the latencies (seconds) of the operations measured over ``seconds``."""
        lat = sorted(latencies) or [0.0]
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        return Figures(len(latencies) / seconds, pick(0.50), pick(0.99))


def with_children(pids: list[int]) -> list[int]:
    """``pids`` and their child processes (quorum's gRPC front-ends), from Linux /proc."""
    out = list(pids)
    for pid in pids:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pids: list[int]) -> list[float]:
    """user+system CPU seconds each process has used so far (Linux /proc)."""
    out = []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return out


def with_cpu(run: Callable[[], Figures], pids: list[int], seconds: float) -> Figures:
    """Run a load and charge the servers' CPU to its operations (warm-up included)."""
    before = cpu_seconds(pids)
    f = run()
    used = [b - a for a, b in zip(before, cpu_seconds(pids), strict=True)]
    ops = max(1.0, f.ops_per_s * seconds)
    f.busiest_us, f.total_us = max(used) / ops * 1e6, sum(used) / ops * 1e6
    return f


def key(i: int) -> bytes:
    return b"%016d" % i


async def closed_loop(op: Callable[[bytes, bytes], Awaitable[Any]], concurrency: int,
                      warmup: float, duration: float, seed: int = 1) -> Figures:
    """Run ``concurrency`` clients that each await ``op(key, value)`` back to back."""
    rng = random.Random(seed)
    value = bytes(rng.getrandbits(8) for _ in range(VALUE_BYTES))
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, end = start + warmup, start + warmup + duration
    lat: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        while True:
            t0 = loop.time()
            if t0 >= end:
                return
            try:
                await op(key(rng.randrange(KEYS)), value)
            except Exception:
                errors += 1
                await asyncio.sleep(0.01)
                continue
            if t0 >= measure_from:
                lat.append(loop.time() - t0)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    if errors:
        print(f"    ({errors} failed requests, not counted)", file=sys.stderr)
    return Figures.of(lat, duration)


async def python_put_load(endpoint: str, concurrency: int, warmup: float,
                          duration: float) -> Figures:
    import grpc

    async with grpc.aio.insecure_channel(endpoint) as channel:
        put = rpc_pb2_grpc.KVStub(channel).Put

        async def op(k: bytes, v: bytes) -> Any:
            return await put(rpc_pb2.PutRequest(key=k, value=v), timeout=10)
        return await closed_loop(op, concurrency, warmup, duration)


# --- clusters ----------------------------------------------------------------------------

def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    """Three member processes; ``client_urls`` in member order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.client_urls: list[str] = []
        self.argvs: list[list[str]] = []  # to restart a member (--failover)
        self.logs: list[Path] = []

    def spawn(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as err:
            return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)

    def add(self, client_url: str, argv: list[str], log: Path) -> None:
        self.client_urls.append(client_url)
        self.argvs.append(argv)
        self.logs.append(log)
        self.procs.append(self.spawn(argv, log))

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()

    def leader_endpoint(self, timeout: float = 20.0) -> str:
        """host:port of the member that reports itself leader (Maintenance.Status)."""
        import grpc

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for url in self.client_urls:
                target = url.removeprefix("http://")
                try:
                    with grpc.insecure_channel(target) as ch:
                        st = rpc_pb2_grpc.MaintenanceStub(ch).Status(
                            rpc_pb2.StatusRequest(), timeout=1)
                        if st.leader and st.leader == st.header.member_id:
                            return target
                except grpc.RpcError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("no leader elected")


def start_quorum(data: Path, log: Path, frontends: int = 0, protocol: str = "raft",
                 log_level: str = "warning") -> Cluster:
    ports = free_ports(6)
    names = ["n1", "n2", "n3"]
    peers = ",".join(f"{n}=http://127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(names))
    secret = data / "peer-secret"  # authenticated, sealed peer links: the production path
    secret.write_bytes(os.urandom(32).hex().encode())
    c = Cluster()
    for i, n in enumerate(names):
        client = f"http://127.0.0.1:{ports[2 * i]}"
        argv = [sys.executable, "-P", "-m", "quorum", "serve", "--name", n,
                "--data-dir", str(data / n), "--listen-client-urls", client,
                "--listen-peer-urls", f"http://127.0.0.1:{ports[2 * i + 1]}",
                "--initial-cluster", peers, "--peer-secret-file", str(secret),
                "--log-level", log_level, "--frontends", str(frontends),
                "--protocol", protocol]
        c.add(client, argv, log / f"quorum-{n}.log")
    return c


def start_etcd(data: Path, log: Path) -> Cluster:
    ports = free_ports(6)
    names = ["e1", "e2", "e3"]
    peers = ",".join(f"{n}=http://127.0.0.1:{ports[2 * i + 1]}" for i, n in enumerate(names))
    c = Cluster()
    for i, n in enumerate(names):
        client, peer = f"http://127.0.0.1:{ports[2 * i]}", f"http://127.0.0.1:{ports[2 * i + 1]}"
        argv = ["etcd", "--name", n, "--data-dir", str(data / n),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", peers, "--initial-cluster-state", "new",
                "--initial-cluster-token", "bench", "--log-level", "error"]
        c.add(client, argv, log / f"etcd-{n}.log")
    return c


# --- the echo ceiling ---------------------------------------------------------------------

ECHO_SERVER = """
import asyncio
import grpc
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
class Echo(rpc_pb2_grpc.KVServicer):
    async def Put(self, request, context):
        return rpc_pb2.PutResponse(header=rpc_pb2.ResponseHeader(revision=1))
async def main():
    server = grpc.aio.server()
    rpc_pb2_grpc.add_KVServicer_to_server(Echo(), server)
    server.add_insecure_port("127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()
asyncio.run(main())
"""


def start_echo() -> tuple[subprocess.Popen[bytes], str]:
    (port,) = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER.format(port=port)])
    time.sleep(1.5)
    return proc, f"127.0.0.1:{port}"


# --- the Go client --------------------------------------------------------------------------

def build_go_loadgen(work: Path) -> Path | None:
    """Build benchmarks/go/loadgen.go against Debian's etcd client sources, or None."""
    gocode = Path("/usr/share/gocode")
    if shutil.which("go") is None or not (gocode / "src/go.etcd.io/etcd/clientv3").is_dir():
        return None
    out = work / "loadgen"
    src = work / "src/loadgen"
    src.mkdir(parents=True)
    shutil.copy(ROOT / "benchmarks/go/loadgen.go", src / "main.go")
    cache = Path.home() / ".cache" / "quorum-bench-go"  # kept: the first build takes minutes
    env = dict(os.environ, GOPATH=f"{work}:{gocode}", GO111MODULE="off", GOFLAGS="",
               GOCACHE=str(cache))
    r = subprocess.run(["go", "build", "-o", str(out), "loadgen"], env=env, cwd=src,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  (Go load generator did not build: {r.stderr.strip()[:300]})", file=sys.stderr)
        return None
    return out


def go_load(binary: Path, endpoint: str, concurrency: int, warmup: float,
            duration: float) -> Figures:
    r = subprocess.run([str(binary), "-endpoint", endpoint, "-concurrency", str(concurrency),
                        "-warmup", str(warmup), "-duration", str(duration),
                        "-keys", str(KEYS), "-value-bytes", str(VALUE_BYTES)],
                       capture_output=True, text=True, timeout=warmup + duration + 60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-500:])
    res = json.loads(r.stdout)
    return Figures(res["ops_per_s"], res["p50_ms"], res["p99_ms"])


# --- PySyncObj ------------------------------------------------------------------------------

PYSYNCOBJ_NODE = """
import sys, time, threading, json, random
from pysyncobj import SyncObj, SyncObjConf
from pysyncobj.batteries import ReplDict
me, others, role = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
d = ReplDict()
conf = SyncObjConf(appendEntriesUseBatch=True, dynamicMembershipChange=False,
                   autoTickPeriod=0.002, appendEntriesPeriod=0.02)  # fast ticks: its best
obj = SyncObj(me, others, consumers=[d], conf=conf)
if role != "load":
    time.sleep(float(sys.argv[4]))
    sys.exit(0)
conc, warm, dur = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
while obj._getLeader() is None:
    time.sleep(0.05)
time.sleep(1)
value = bytes(100)
rng = random.Random(1)
lock = threading.Lock()
lat = []
start = time.monotonic(); mfrom = start + warm; end = mfrom + dur
done = threading.Event(); live = [conc]
def issue():
    t0 = time.monotonic()
    if t0 >= end:
        with lock:
            live[0] -= 1
            if live[0] == 0:
                done.set()
        return
    def cb(res, err, t0=t0):
        if t0 >= mfrom and err == 0:
            with lock:
                lat.append(time.monotonic() - t0)
        issue()
    d.set(b"%016d" % rng.randrange(100000), value, callback=cb)
for _ in range(conc):
    issue()
done.wait(warm + dur + 30)
print(json.dumps(lat))
"""


def pysyncobj_load(concurrency: int, warmup: float, duration: float) -> Figures | None:
    try:
        import pysyncobj  # noqa: F401
    except ImportError:
        return None
    ports = free_ports(3)
    addrs = [f"127.0.0.1:{p}" for p in ports]
    life = str(warmup + duration + 15)
    others = [subprocess.Popen([sys.executable, "-c", PYSYNCOBJ_NODE, addrs[i],
                                ",".join(a for a in addrs if a != addrs[i]), "follower", life],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for i in (1, 2)]
    try:
        r = subprocess.run([sys.executable, "-c", PYSYNCOBJ_NODE, addrs[0],
                            ",".join(addrs[1:]), "load", str(concurrency), str(warmup),
                            str(duration)], capture_output=True, text=True,
                           timeout=warmup + duration + 60)
        return Figures.of(json.loads(r.stdout), duration)
    finally:
        for p in others:
            p.kill()
            p.wait()


# --- the run --------------------------------------------------------------------------------

Results = dict[tuple[str, str, int], list[Figures]]


def flame(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """Start sampling ``pid`` with py-spy for ``seconds`` into the SVG flame graph ``out``
    (``--nonblocking``: the process is not stopped to be sampled), or None without py-spy."""
    if shutil.which("py-spy") is None:
        print("  (py-spy is not installed: no flame graph)", file=sys.stderr)
        return None
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration",
                             str(max(1, int(seconds))), "--rate", "200", "--nonblocking",
                             "--format", "flamegraph", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def failover_times(cluster: Cluster, trials: int) -> list[float]:
    """Seconds from a SIGKILL of the leader until a Put through a surviving member is
    acknowledged (each Put attempt given 0.2 s), ``trials`` times; the killed member is
    restarted from its data between trials."""
    import grpc

    targets = [u.removeprefix("http://") for u in cluster.client_urls]

    def put(target: str, timeout: float) -> bool:
        try:
            with grpc.insecure_channel(target) as ch:
                rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"failover", value=b"x"),
                                            timeout=timeout)
            return True
        except grpc.RpcError:
            return False

    out = []
    for _ in range(trials):
        leader = targets.index(cluster.leader_endpoint())
        if not put(targets[leader], 5.0):
            raise RuntimeError("the leader took no write before the failover trial")
        cluster.procs[leader].kill()
        cluster.procs[leader].wait()
        t0 = time.monotonic()
        while not any(put(t, 0.2) for i, t in enumerate(targets) if i != leader):
            if time.monotonic() - t0 > 60:
                raise RuntimeError("the survivors took no write within 60 s")
        out.append(time.monotonic() - t0)
        cluster.procs[leader] = cluster.spawn(cluster.argvs[leader], cluster.logs[leader])
        deadline = time.monotonic() + 30
        while not put(targets[leader], 1.0):  # back, and a leader known to it
            if time.monotonic() > deadline:
                raise RuntimeError("the restarted member took no write within 30 s")
    return out


def member_counters(log: Path) -> dict[str, float] | None:
    """The counters a member logs when it stops (``--log-level info``), if it did."""
    found = None
    for line in log.read_text(errors="replace").splitlines():
        if "stopped; counters " in line:
            found = ast.literal_eval(line.split("stopped; counters ", 1)[1])
    return found


def print_counters(name: str, cluster: Cluster) -> None:
    """Per write of the leader (the member that took the writes): Readies handled and
    messages sent by each member, over the whole run (warm-up and election included)."""
    counters = [member_counters(log) for log in cluster.logs]
    if any(c is None for c in counters):
        print(f"{name:<10} counters: not logged", flush=True)
        return
    cs = [c for c in counters if c is not None]
    writes = max(c["writes"] for c in cs)
    lead = max(range(len(cs)), key=lambda i: cs[i]["writes"])
    order = [lead] + [i for i in range(len(cs)) if i != lead]
    per = " | ".join(f"{'leader' if i == lead else 'follower'}: "
                     f"{cs[i]['messages'] / writes:.2f} msgs, {cs[i]['readies'] / writes:.2f} "
                     f"Readies, {cs[i]['saves'] / writes:.2f} fsyncs" for i in order)
    print(f"{name:<10} per write ({writes:,.0f} writes): {per}", flush=True)


def measure_cluster(name: str, start: Callable[[Path, Path], Cluster], args: argparse.Namespace,
                    go: Path | None, data: Path, results: Results) -> None:
    data.mkdir()
    cluster = start(data, data)
    try:
        endpoint = cluster.leader_endpoint()
        pids = with_children([p.pid for p in cluster.procs])
        span = args.warmup + args.duration
        for c in args.concurrency:
            spy = None
            if args.flame and name.startswith("quorum") and c == max(args.concurrency):
                leader = pids[[u.removeprefix("http://") for u in cluster.client_urls]
                              .index(endpoint)]
                spy = flame(leader, Path(args.flame), args.duration)
            f = with_cpu(lambda c=c: asyncio.run(  # type: ignore[misc]
                python_put_load(endpoint, c, args.warmup, args.duration)), pids, span)
            if spy is not None:
                spy.wait()
                print(f"  (flame graph of the leader: {args.flame})", file=sys.stderr)
            record(results, (name, "python", c), f)
            if go is not None:
                f = with_cpu(lambda c=c: go_load(  # type: ignore[misc]
                    go, endpoint, c, args.warmup, args.duration), pids, span)
                record(results, (name, "go", c), f)
        if args.failover:
            times = failover_times(cluster, args.failover)
            print(f"{name:<10} failover: {' '.join(f'{t:.2f}' for t in times)} s (median "
                  f"{sorted(times)[len(times) // 2]:.2f} s)", flush=True)
    finally:
        cluster.stop()
    if args.counters and name.startswith("quorum"):
        print_counters(name, cluster)


def record(results: Results, key: tuple[str, str, int], f: Figures) -> None:
    results.setdefault(key, []).append(f)
    etcd = results.get(("etcd", key[1] if key[1] in ("python", "go") else "python", key[2]))
    report(*key, f, etcd[-1] if etcd and key[0] != "etcd" else None)


def one_round(args: argparse.Namespace, systems: list[str], go: Path | None, work: Path,
              results: Results) -> None:
    if "echo" in systems:
        proc, endpoint = start_echo()
        try:
            for c in args.concurrency:
                record(results, ("echo", "python", c), with_cpu(
                    lambda c=c: asyncio.run(  # type: ignore[misc]
                        python_put_load(endpoint, c, args.warmup, args.duration)),
                    [proc.pid], args.warmup + args.duration))
        finally:
            proc.kill()
    if "etcd" in systems and shutil.which("etcd"):  # first: the rows after it show x etcd
        measure_cluster("etcd", start_etcd, args, go, work / "etcd", results)
    for system, protocol in (("quorum", "raft"), ("quorum-mp", "multipaxos")):
        if system not in systems:
            continue
        for n in args.frontends:
            name = f"{system}/fe{n}" if n else system
            measure_cluster(name, functools.partial(
                start_quorum, frontends=n, protocol=protocol,
                log_level="info" if args.counters else "warning"),
                            args, go, work / name.replace("/", "-"), results)
    if "pysyncobj" in systems:
        for c in args.concurrency:
            f = pysyncobj_load(c, args.warmup, args.duration)
            if f is not None:
                record(results, ("pysyncobj", "inproc", c), f)


def ratios(results: Results) -> None:
    """Every row next to etcd's of the same client and concurrency (etcd's Python client
    row for the in-process PySyncObj and the echo server): throughput ratio (higher is
    better) and p50 and p99 ratios (lower is better)."""
    def median(runs: list[Figures]) -> Figures:
        return sorted(runs, key=lambda f: f.ops_per_s)[len(runs) // 2]

    print(f"\nratio to etcd (same client and concurrency, median round):\n"
          f"{'system':<10} {'client':<7} {'conc':>5} {'ops/s':>10} {'x etcd':>7} "
          f"{'p50 x':>6} {'p99 x':>6} {'cpu1 x':>7}")
    for (system, client, c), runs in results.items():
        f = median(runs)
        base = results.get(("etcd", client if client in ("python", "go") else "python", c))
        if base is None:
            continue
        e = median(base)
        cpu = f"{f.busiest_us / e.busiest_us:>7.2f}" if f.busiest_us and e.busiest_us \
            else f"{'-':>7}"
        print(f"{system:<10} {client:<7} {c:>5} {f.ops_per_s:>10,.0f} "
              f"{f.ops_per_s / e.ops_per_s:>7.2f} {f.p50_ms / e.p50_ms:>6.2f} "
              f"{f.p99_ms / e.p99_ms:>6.2f} {cpu}")


def report(system: str, client: str, c: int, f: Figures, etcd: Figures | None = None) -> None:
    """One row; with ``etcd`` (etcd's figures of this round, same client and concurrency)
    also the ratios to it: ops/s (higher is better) and p50 (lower is better)."""
    anchor = ANCHORS.get((system, client, c))
    note = ""
    if etcd is not None and etcd.ops_per_s and etcd.p50_ms:
        note = (f"   x etcd: {f.ops_per_s / etcd.ops_per_s:.2f} ops/s, "
                f"{f.p50_ms / etcd.p50_ms:.2f} p50")
    if anchor is not None:
        ops, p50, p99 = anchor
        note += f"   [issue's anchor: {ops:,} ops/s" + (f", p50 {p50} ms" if p50 else "") + (
            f", p99 {p99} ms" if p99 else "") + "]"
    cpu = f"{f.busiest_us:>8.0f} {f.total_us:>8.0f}" if f.total_us else f"{'-':>8} {'-':>8}"
    print(f"{system:<10} {client:<7} {c:>5} {f.ops_per_s:>10,.0f} {f.p50_ms:>9.2f} "
          f"{f.p99_ms:>9.2f} {cpu}{note}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--systems", default="echo,quorum,quorum-mp,etcd,pysyncobj")
    ap.add_argument("--clients", default="python,go")
    ap.add_argument("--concurrency", default="1,64",
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds over all systems, interleaved; the median round is reported")
    ap.add_argument("--frontends", default="0", type=lambda s: [int(x) for x in s.split(",")],
                    help="quorum's --frontends values to measure, e.g. 0,1,2,3 (a row each)")
    ap.add_argument("--failover", type=int, default=0, metavar="N",
                    help="after the load, N times: kill -9 the leader and time until a "
                    "surviving member acknowledges a Put (then restart it)")
    ap.add_argument("--keep", action="store_true", help="keep the data and log directory")
    ap.add_argument("--counters", action="store_true",
                    help="run quorum's members at --log-level info and print, per write, the "
                    "messages, Readies and fsyncs of each member (over the whole cluster run: "
                    "give one --concurrency for figures of that concurrency)")
    ap.add_argument("--flame", metavar="SVG",
                    help="record a py-spy flame graph of quorum's leader during its run at "
                    "the highest concurrency (Python client)")
    args = ap.parse_args()
    systems = args.systems.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=str(ROOT)))  # on disk, not tmpfs
    header = (f"{'system':<10} {'client':<7} {'conc':>5} {'ops/s':>10} {'p50 ms':>9} "
              f"{'p99 ms':>9} {'cpu1 us':>8} {'cpu3 us':>8}   (CPU per op: busiest server "
              "process, all)")
    print(header)
    results: Results = {}
    try:
        go = build_go_loadgen(work) if "go" in args.clients.split(",") else None
        for r in range(args.repeat):
            round_dir = work / f"round{r}"
            round_dir.mkdir()
            one_round(args, systems, go, round_dir, results)
        if args.repeat > 1:
            print(f"\nmedian of {args.repeat} rounds (by ops/s):\n{header}")
            for key, runs in results.items():
                report(*key, sorted(runs, key=lambda f: f.ops_per_s)[len(runs) // 2])
        ratios(results)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"data and logs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
