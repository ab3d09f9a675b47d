"""A cluster of real `quorum serve` processes on loopback, for the slow end-to-end tests.

Members are started with ``python -m quorum serve`` exactly as a user would, with free
ports, a data directory each, logs captured per member, and (unless a test passes
``secret=None``) a shared peer secret, so the tests run the authenticated peer path.  The helpers talk to members
through the public etcd gRPC API only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from helpers.cli import QUORUM
from quorum.harness.processes import free_ports  # ports below the ephemeral range
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: list[str] = field(default_factory=list)
    tls: Any = None  # grpc.ChannelCredentials: the member serves an https:// client URL
    secret_file: Path | None = None

    @property
    def client_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def channel(self) -> grpc.Channel:
        if self.tls is not None:
            return grpc.secure_channel(self.target, self.tls)
        return grpc.insecure_channel(self.target)

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self, initial_cluster: str, state: str = "new") -> None:
        argv = [*QUORUM, "serve", "--name", self.name,
                "--data-dir", str(self.data_dir), "--listen-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url, "--initial-cluster", initial_cluster,
                "--initial-cluster-state", state, "--log-level", "info", *self.extra]
        if self.secret_file is not None:
            argv += ["--peer-secret-file", str(self.secret_file)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def status(self, timeout: float = 1.0) -> Any:
        with self.channel() as ch:
            return rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(),
                                                           timeout=timeout)

    def put(self, key: bytes, value: bytes, timeout: float = 5.0) -> Any:
        with self.channel() as ch:
            return rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=key, value=value),
                                               timeout=timeout)

    def get_local(self, key: bytes, prefix: bool = False) -> dict[bytes, bytes]:
        """A serializable (local) read of ``key``, or of every key with that prefix."""
        end = (key[:-1] + bytes([key[-1] + 1])) if prefix else b""
        with self.channel() as ch:
            resp = rpc_pb2_grpc.KVStub(ch).Range(
                rpc_pb2.RangeRequest(key=key, range_end=end, serializable=True), timeout=5)
        return {kv.key: kv.value for kv in resp.kvs}

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class Cluster:
    """``n`` members named n1..nN; ``extra`` flags go to every member, and so does the
    peer secret (written to ``root/peer-secret``; ``secret=None``: none, then ``extra``
    must carry another peer security flag); with ``tls`` (channel credentials) they serve
    https:// client URLs (``extra`` then holds --cert-file and --key-file)."""

    def __init__(self, root: Path, n: int, extra: list[str] | None = None,
                 secret: bytes | None = b"test-cluster-peer-secret-0123456789",
                 tls: Any = None) -> None:
        ports = free_ports(2 * n + 2)
        self.spare_ports = ports[2 * n:]
        self.root = root
        self.secret_file: Path | None = None
        if secret is not None:
            root.mkdir(parents=True, exist_ok=True)
            self.secret_file = root / "peer-secret"
            self.secret_file.write_bytes(secret)
        self.members = [Member(f"n{i + 1}", ports[2 * i], ports[2 * i + 1],
                               root / f"n{i + 1}", root / f"n{i + 1}.log", extra=extra or [],
                               tls=tls, secret_file=self.secret_file)
                        for i in range(n)]

    def initial_cluster(self, members: list[Member] | None = None) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in (members or self.members))

    def endpoints(self, members: list[Member] | None = None) -> str:
        return ",".join(m.client_url for m in (members or self.members))

    def start(self) -> None:
        ic = self.initial_cluster()
        for m in self.members:
            m.start(ic)

    def stop(self) -> None:
        for m in self.members:
            m.stop()

    def live(self) -> list[Member]:
        return [m for m in self.members if m.proc is not None]

    def wait_leader(self, among: list[Member] | None = None, timeout: float = 20.0) -> Member:
        """The member that every live member (of ``among``) agrees is the leader."""
        among = among or self.live()
        deadline = time.monotonic() + timeout
        seen: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                for m in among:
                    seen[m.name] = "?"
                    seen[m.name] = m.status().leader
                leaders = set(seen.values())
            except grpc.RpcError as exc:
                seen[m.name] = f"{exc.code().name} (exit {m.proc and m.proc.poll()})"
                time.sleep(0.1)
                continue
            if len(leaders) == 1 and 0 not in leaders:
                (lid,) = leaders
                for m in among:
                    if m.status().header.member_id == lid:
                        return m
            time.sleep(0.1)
        raise AssertionError(f"no agreed leader among {[m.name for m in among]} in {timeout}s; "
                             f"last seen leaders: {seen}")

    def wait_applied(self, member: Member, index: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if member.status().raftAppliedIndex >= index:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{member.name} did not apply index {index} in {timeout}s")


def etcdctl(endpoints: str, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ETCDCTL_API="3")
    r = subprocess.run(["etcdctl", "--endpoints", endpoints, "--command-timeout", "10s", *args],
                       input=stdin, capture_output=True, text=True, env=env, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"etcdctl {' '.join(args)} failed: {r.stderr.strip()}")
    return r


#: flags of the failover and membership scenarios: fast elections, frequent snapshots
ELECTION_S = 0.5
FLAGS = ["--heartbeat-interval", "50", "--election-timeout", str(int(ELECTION_S * 1000)),
         "--snapshot-count", "100", "--snapshot-catchup-entries", "20"]


class Writers:
    """Threads writing unique keys through the live members, recording every outcome."""

    def __init__(self, cluster: Cluster, threads: int = 3) -> None:
        self.cluster = cluster
        self.acked: dict[bytes, bytes] = {}
        self.failed: dict[bytes, bytes] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, w: int) -> None:
        seq = 0
        while not self.stop.is_set():
            live = self.cluster.live()
            member = live[seq % len(live)]
            key, value = b"w/%d/%06d" % (w, seq), b"value-%d-%d" % (w, seq)
            seq += 1
            try:
                member.put(key, value, timeout=3)
                with self.lock:
                    self.acked[key] = value
            except grpc.RpcError:
                with self.lock:
                    self.failed[key] = value
                time.sleep(0.05)

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < deadline, f"only {self.count()} of {n} writes acked"
            time.sleep(0.05)
