"""Real `quorum serve` processes on loopback: start, kill -9, pause, restart, add, remove.

Each member is an ordinary operating-system process (``python -m quorum serve``, the
command a user runs), with its own data directory on the real disk (its WAL fsynced
before anything is acknowledged) and its own log file.  The harness talks to members
only through the public etcd v3 gRPC API (``Status``, ``MemberAdd``, ``MemberRemove``)
and through signals: SIGKILL (a crash: no shutdown code runs), SIGSTOP and SIGCONT (a
pause the process cannot see: a long GC, a VM stall), SIGTERM (a clean stop).

A member keeps the argument list it was first started with, so a restart after a crash
runs it again on the same data directory, exactly as an operator would.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server.config import DEFAULT_TOKEN, member_id_of

__all__ = ["Cluster", "HarnessError", "Member", "SERVE_FLAGS", "free_ports"]

#: `quorum serve` flags of every member: fast elections (so faults heal within the
#: run), frequent snapshots (so restarted and new members catch up by snapshot too)
SERVE_FLAGS = ["--heartbeat-interval", "50", "--election-timeout", "500",
               "--snapshot-count", "300", "--snapshot-catchup-entries", "50",
               "--log-level", "info"]
#: flags that choose how members authenticate each other; without one the harness adds
#: a peer secret of its own
PEER_SECURITY_FLAGS = ("--peer-secret-file", "--insecure-peers", "--peer-auto-tls",
                       "--peer-cert-file")


class HarnessError(Exception):
    """The harness could not bring the cluster to the state it needs (no leader, a member
    that would not start): the run has no verdict."""


def free_ports(n: int, rng: random.Random | None = None) -> list[int]:
    """``n`` distinct ports free now, below the kernel's ephemeral range (a member that
    restarts must find its port unused; outgoing connections take ephemeral ports)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = rng or random.Random()
    ports: list[int] = []
    while len(ports) < n:
        port = rng.randrange(10_000, low)
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


@dataclass
class Member:
    """One member: its ports, data directory, log, and process (``None``: not running)."""

    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    argv: list[str] = field(default_factory=list)  # set by the first start
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def member_id(self) -> int:
        return member_id_of([self.peer_url], DEFAULT_TOKEN)

    @property
    def up(self) -> bool:
        """Its process runs (possibly paused)."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, initial_cluster: str = "", state: str = "new", flags: tuple[str, ...] | list[str] = (),
              env: dict[str, str] | None = None) -> None:
        """Start the process: the first time with these arguments, later with the same."""
        if not self.argv:
            self.argv = [sys.executable, "-P", "-m", "quorum", "serve", "--name", self.name,
                         "--data-dir", str(self.data_dir),
                         "--listen-client-urls", self.client_url,
                         "--listen-peer-urls", self.peer_url,
                         "--initial-cluster", initial_cluster,
                         "--initial-cluster-state", state, *flags]
            self.env = dict(os.environ, **(env or {}))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log, env=self.env,
                                         start_new_session=True)
        self.paused = False

    def kill9(self) -> None:
        """A crash: SIGKILL, no shutdown code runs."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc, self.paused = None, False

    def pause(self) -> None:
        if self.up:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout: float = 10.0) -> None:
        """A clean stop (SIGTERM), a kill if it does not stop within ``timeout``."""
        self.resume()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def status(self, timeout: float = 1.0) -> Any:
        with grpc.insecure_channel(self.target) as ch:
            return rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(),
                                                           timeout=timeout)


class Cluster:
    """``n`` members n1..nN under ``root``; members added later are named on from n(N+1).

    ``members`` are the members of the current configuration (as the harness last
    changed it); ``retired`` those removed, stopped for good.
    """

    def __init__(self, root: Path, n: int, flags: list[str] | None = None,
                 env: dict[str, str] | None = None, rng: random.Random | None = None) -> None:
        self.root, self.flags, self.env = root, list(flags or SERVE_FLAGS), env or {}
        if not any(f in PEER_SECURITY_FLAGS for f in self.flags):
            # members authenticate each other as `quorum cluster up` sets them up: a fresh
            # shared secret, every peer frame sealed with it (docs/store.md, "Security")
            root.mkdir(parents=True, exist_ok=True)
            secret = root / "peer-secret"
            secret.write_text(secrets.token_hex(32))
            secret.chmod(0o600)
            self.flags += ["--peer-secret-file", str(secret)]
        self._rng = rng or random.Random()
        self.members: list[Member] = []
        self.retired: list[Member] = []
        self._next = 1
        for _ in range(n):
            self.members.append(self._new_member())

    def _new_member(self) -> Member:
        name = f"n{self._next}"
        self._next += 1
        cport, pport = free_ports(2, self._rng)
        return Member(name, cport, pport, self.root / name, self.root / f"{name}.log")

    def initial_cluster(self, members: list[Member]) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in members)

    def start(self) -> None:
        ic = self.initial_cluster(self.members)
        for m in self.members:
            m.start(ic, "new", self.flags, self.env)

    def stop(self) -> None:
        """Stop every process this cluster ever started (members and retired ones)."""
        for m in [*self.members, *self.retired]:
            m.stop()

    def up(self) -> list[Member]:
        return [m for m in self.members if m.up]

    def responsive(self) -> list[Member]:
        return [m for m in self.members if m.up and not m.paused]

    def leader(self, timeout: float = 30.0) -> Member:
        """The member every responsive member agrees leads, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            among = self.responsive()
            try:
                st = {m.name: m.status() for m in among}
            except grpc.RpcError as exc:
                seen = {"error": exc.code().name}
                time.sleep(0.1)
                continue
            seen = {name: s.leader for name, s in st.items()}
            leaders = set(seen.values())
            if among and len(leaders) == 1 and 0 not in leaders:
                (lid,) = leaders
                for m in among:
                    if m.member_id == lid:
                        return m
            time.sleep(0.1)
        raise HarnessError(f"no agreed leader in {timeout:.0f}s (last seen: {seen})")

    def wait_caught_up(self, timeout: float = 60.0) -> None:
        """Every member of the configuration runs and has applied the leader's index."""
        leader = self.leader(timeout)
        target = leader.status(5).raftAppliedIndex
        deadline = time.monotonic() + timeout
        for m in self.members:
            while True:
                try:
                    if m.status().raftAppliedIndex >= target:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise HarnessError(f"{m.name} did not catch up to index {target} "
                                       f"in {timeout:.0f}s (see {m.log})")
                time.sleep(0.1)

    # --- membership ----------------------------------------------------------------------------
    def _cluster_stub(self, avoid: Member | None = None) -> tuple[grpc.Channel, Any]:
        via = next((m for m in self.responsive() if m is not avoid), None)
        if via is None:
            raise HarnessError("no responsive member to send a membership change to")
        ch = grpc.insecure_channel(via.target)
        return ch, rpc_pb2_grpc.ClusterStub(ch)

    def remove(self, victim: Member, timeout: float = 10.0) -> None:
        """``MemberRemove`` through another member, then stop the victim's process (a
        removed member stops itself; this makes sure).  Raises grpc.RpcError on failure."""
        ch, stub = self._cluster_stub(avoid=victim)
        with ch:
            stub.MemberRemove(rpc_pb2.MemberRemoveRequest(ID=victim.member_id), timeout=timeout)
        self.members.remove(victim)
        self.retired.append(victim)
        victim.stop(timeout=5)

    def add(self, timeout: float = 10.0) -> Member:
        """``MemberAdd`` of a fresh member (new name, ports and empty data directory),
        then start it with ``--initial-cluster-state existing``.  Raises grpc.RpcError."""
        fresh = self._new_member()
        ch, stub = self._cluster_stub()
        with ch:
            stub.MemberAdd(rpc_pb2.MemberAddRequest(peerURLs=[fresh.peer_url]), timeout=timeout)
        self.members.append(fresh)
        fresh.start(self.initial_cluster(self.members), "existing", self.flags, self.env)
        return fresh

    def member_ids(self, timeout: float = 5.0) -> set[int]:
        """The ids of the configuration as the cluster itself lists them."""
        ch, stub = self._cluster_stub()
        with ch:
            resp = stub.MemberList(rpc_pb2.MemberListRequest(linearizable=True), timeout=timeout)
        return {m.ID for m in resp.members}

    def reconcile(self, n: int, timeout: float = 60.0) -> None:
        """Make the cluster's configuration the ``n`` running members the harness knows.

        A membership change whose call failed may still have taken effect: a member the
        cluster removed is retired here, one it added that never started is removed, and
        fresh members are added until there are ``n``.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                ids = self.member_ids()
                ours = {m.member_id: m for m in self.members}
                for m in [m for m in self.members if m.member_id not in ids]:
                    self.members.remove(m)
                    self.retired.append(m)
                    m.stop(timeout=5)
                for stray in ids - set(ours):
                    ch, stub = self._cluster_stub()
                    with ch:
                        stub.MemberRemove(rpc_pb2.MemberRemoveRequest(ID=stray), timeout=10)
                while len(self.members) < n:
                    self.add()
                    self.leader(timeout)
                return
            except grpc.RpcError as exc:
                if time.monotonic() > deadline:
                    raise HarnessError(f"could not restore {n} members: {exc.code().name} "
                                       f"{exc.details()}") from None
                time.sleep(0.5)
