"""The commands of docs/store.md that need running members do what the doc shows.

The blocks tagged ``<!-- console: cluster=NAME -->`` run in the order of the doc, in one
temporary directory, and each shown output is compared by the rules of every doc command
(``tests/helpers/docs.py``: standard output line by line, ``...`` and ``[...]``, the exit
status never 2, no traceback).  What running members adds:

* **Servers.**  A command running ``quorum serve`` or ``quorum cluster up`` (also as
  ``python -m quorum``) runs in the background, as in a terminal of its own, until the test
  ends.  Its shown output is compared once it has printed that many lines, and before the
  next command runs, every member started so far knows a leader (asked over etcd's
  ``Status``), as a user would wait.
* **Ports.**  The doc shows etcd's ports (2379, 2380, ...); each cluster NAME runs on a
  block of free ports instead: every ``127.0.0.1:PORT`` of its blocks, in commands and in
  output, and ``--base-port PORT`` move by one offset, and so does etcdctl's default endpoint (127.0.0.1:2379, for
  an etcdctl command without ``--endpoints``; given as ``ETCDCTL_ENDPOINTS``).  A member's
  id is a hash of its peer URL (``quorum.impl.server.config.member_id_of``), so each id the
  doc shows is replaced by the moved URL's; the block is chosen so that those ids keep the
  doc's order (etcd lists members by id) and length (etcdctl pads them to 16 digits).
  Nothing else is translated.
* **Files the doc presupposes**: the TLS example's ``ca.pem``, ``server.crt``/``.key`` and
  ``alice.crt``/``.key`` (``tests/helpers/tls.py``), made before the first command.
* **Stopping.**  Every server is stopped when the test ends, failed or not: ``cluster up``
  with SIGINT (Ctrl-C, after which the doc says it exits 0), ``serve`` with SIGTERM; each
  must exit 0 without a traceback, and a member that outlives its ``cluster up`` is killed
  and reported.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from helpers.docs import ROOT, Shown, matches, shown_commands
from helpers.tls import CA
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server.config import member_id_of

DOC = ROOT / "docs" / "store.md"
SHOWN = [s for s in shown_commands([DOC]) if s.cluster is not None]

SERVER = re.compile(r"^(?:python -m )?quorum (serve|cluster up)\b")
#: where the doc writes a port: in a URL, or as the first port of `cluster up`
PORT = re.compile(r"(?<=127\.0\.0\.1:)(\d+)|(?<=--base-port )(\d+)")
#: etcdctl's default endpoint (and quorum kv's)
DEFAULT_ENDPOINT = "http://127.0.0.1:2379"
#: the default --initial-cluster-token, which member ids are derived from
TOKEN = "etcd-cluster"
#: seconds a server may take to print its shown output, or its members to find a leader
READY_S = 45.0


def member_hex(port: int) -> str:
    """etcdctl's spelling of the id of the member whose peer URL is 127.0.0.1:PORT."""
    return format(member_id_of([f"http://127.0.0.1:{port}"], TOKEN), "x")


@dataclass(frozen=True)
class Translation:
    """The doc's ports (and the member ids derived from them) moved by ``offset``."""

    offset: int
    ids: dict[str, str]

    def __call__(self, text: str) -> str:
        text = PORT.sub(lambda m: str(int(m.group(0)) + self.offset), text)
        if self.ids:
            text = re.sub(r"\b(" + "|".join(self.ids) + r")\b",
                          lambda m: self.ids[m.group(1)], text)
        return text


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def translation(shown: list[Shown], taken: set[int], rng: random.Random) -> Translation:
    """A block of free ports, none in ``taken``, for the blocks ``shown`` of one cluster,
    where the ids the doc shows keep their order and length."""
    text = "\n".join(line for s in shown for line in (s.command, *s.output))
    ports = {int(m.group(0)) for m in PORT.finditer(text)} | {2379}
    lo, hi = min(ports), max(ports)
    # the ports whose member ids the doc shows, in the order of those ids
    shown_ids = sorted((p for p in range(lo, hi + 1)
                        if re.search(rf"\b{member_hex(p)}\b", text)),
                       key=lambda p: int(member_hex(p), 16))
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    # below the kernel's ephemeral range (outgoing connections take those), 10000 and up
    # first, as quorum.harness.processes.free_ports does
    high, low = list(range(10_000, ephemeral - (hi - lo))), list(range(1024, 10_000))
    rng.shuffle(high)
    rng.shuffle(low)
    bases = high + low
    for base in bases:
        offset = base - lo
        moved = [member_hex(p + offset) for p in shown_ids]
        if [len(h) for h in moved] != [len(member_hex(p)) for p in shown_ids]:
            continue
        if [int(h, 16) for h in moved] != sorted(int(h, 16) for h in moved):
            continue
        block = range(lo + offset, hi + offset + 1)
        if taken.intersection(block) or not all(_port_free(p) for p in block):
            continue
        taken.update(block)
        return Translation(offset, {member_hex(p): member_hex(p + offset) for p in shown_ids})
    raise AssertionError(f"no free block of ports for {lo}..{hi}")


@dataclass
class Server:
    """A server command running in the background, and where its output goes."""

    shown: Shown
    command: str
    kind: str  # "serve" or "cluster up"
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    ready: bool = False
    members: list[int] = field(default_factory=list)  # the processes `cluster up` started

    def tail(self) -> str:
        return (f"--- its output:\n{self.out.read_text(errors='replace')}"
                f"--- its standard error (end):\n{self.err.read_text(errors='replace')[-3000:]}")

    def where(self) -> str:
        return f"{self.shown.doc} line {self.shown.line}: $ {self.command}"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _is_member(pid: int) -> bool:
    try:
        return b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


def _status_leader(url: str, creds: grpc.ChannelCredentials) -> int:
    target = url.split("://", 1)[1]
    channel = (grpc.secure_channel(target, creds) if url.startswith("https://")
               else grpc.insecure_channel(target))
    with channel:
        return int(rpc_pb2_grpc.MaintenanceStub(channel).Status(
            rpc_pb2.StatusRequest(), timeout=1).leader)


class Session:
    """The commands of the doc run in ``work``, each cluster on its own ports."""

    def __init__(self, work: Path, rng: random.Random) -> None:
        self.work = work
        self.servers: list[Server] = []
        self.env = dict(os.environ,
                        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                        COLUMNS="100", ETCDCTL_API="3")
        self.env.pop("ETCDCTL_ENDPOINTS", None)
        taken: set[int] = set()
        self.translations = {
            name: translation([s for s in SHOWN if s.cluster == name], taken, rng)
            for name in dict.fromkeys(s.cluster for s in SHOWN if s.cluster is not None)}
        # the client certificate the TLS example uses, to ask its member for its leader
        ca = CA(work, cn="ca")
        ca.issue("server", server=True)
        alice = ca.issue("alice")
        self.creds = grpc.ssl_channel_credentials(
            ca.path.read_bytes(), alice.key.read_bytes(), alice.cert.read_bytes())

    def run(self, shown: Shown) -> None:
        assert shown.cluster is not None
        tr = self.translations[shown.cluster]
        command = tr(shown.command)
        expected = tuple(tr(line) for line in shown.output)
        env = dict(self.env)
        if re.match(r"etcdctl\b", command) and "--endpoints" not in command:
            env["ETCDCTL_ENDPOINTS"] = tr(DEFAULT_ENDPOINT)
        where = f"{shown.doc} line {shown.line}: $ {command}"
        assert not re.search(r"\bquorum kv\b", command) or "--endpoints" in command, (
            f"{where}\n`quorum kv` needs --endpoints here: the test moves only written ports")
        server = SERVER.match(command)
        if server is not None:
            self.start(shown, command, server.group(1), expected, env)
            return
        self.wait_ready()
        p = subprocess.run(["bash", "-c", command], cwd=self.work, env=env,
                           capture_output=True, text=True, timeout=60)
        # each member answers `endpoint status` from its own state: a follower shows the
        # last write a moment after the leader applied it, so this read is asked again
        deadline = time.monotonic() + 10
        while (re.search(r"\bendpoint status\b", command) and p.returncode == 0
               and not matches(expected, p.stdout.splitlines()) and time.monotonic() < deadline):
            time.sleep(0.2)
            p = subprocess.run(["bash", "-c", command], cwd=self.work, env=env,
                               capture_output=True, text=True, timeout=60)
        assert "Traceback" not in p.stderr, where + "\n" + p.stderr
        assert p.returncode != 2, where + "\n" + p.stderr
        if shown.exit is not None:
            assert p.returncode == shown.exit, where + "\n" + p.stderr
        assert matches(expected, p.stdout.splitlines()), (
            f"{where}\n--- the doc shows (ports and ids moved):\n" + "\n".join(expected)
            + "\n--- it prints:\n" + p.stdout + "--- standard error:\n" + p.stderr)

    def start(self, shown: Shown, command: str, kind: str, expected: tuple[str, ...],
              env: dict[str, str]) -> None:
        n = len(self.servers)
        out, err = self.work / f"server{n}.out", self.work / f"server{n}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(["bash", "-c", "exec " + command], cwd=self.work, env=env,
                                    stdout=o, stderr=e, start_new_session=True)
        server = Server(shown, command, kind, proc, out, err)
        self.servers.append(server)
        want = len([line for line in expected if line != "..."])
        self._wait(server, lambda: len(out.read_text().splitlines()) >= want,
                   f"{want} line(s) of output")
        lines = out.read_text().splitlines()
        assert matches(expected, lines), (
            f"{server.where()}\n--- the doc shows (ports and ids moved):\n"
            + "\n".join(expected) + "\n" + server.tail())

    def _wait(self, server: Server, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + READY_S
        while not done():
            assert server.proc.poll() is None, (
                f"{server.where()}\nexited with status {server.proc.returncode} before "
                f"{what}\n{server.tail()}")
            assert time.monotonic() < deadline, (
                f"{server.where()}\nno {what} in {READY_S:.0f} s\n{server.tail()}")
            time.sleep(0.1)

    def wait_ready(self) -> None:
        """Every member started so far knows a leader."""
        for server in self.servers:
            if server.ready:
                continue
            m = (re.search(r"--listen-client-urls (\S+)", server.command)
                 or re.search(r"endpoints: (\S+)", server.out.read_text()))
            assert m is not None, f"{server.where()}\nwhich client URLs does it serve?"
            for url in m.group(1).split(","):
                def leader_known(url: str = url) -> bool:
                    try:
                        return _status_leader(url, self.creds) != 0
                    except grpc.RpcError:
                        return False
                self._wait(server, leader_known, f"leader known at {url}")
            server.members = [c for c in _children(server.proc.pid) if _is_member(c)]
            server.ready = True

    def stop(self) -> list[str]:
        """Stop every server (the newest first); what went wrong, one line each."""
        problems: list[str] = []
        for server in reversed(self.servers):
            proc = server.proc
            members = server.members or [c for c in _children(proc.pid) if _is_member(c)]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if server.kind == "serve" else signal.SIGINT)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    problems.append(f"{server.where()}: still running 20 s after the signal")
            if proc.returncode != 0:
                problems.append(f"{server.where()}: exit status {proc.returncode}")
            for pid in members:
                if _is_member(pid):
                    os.kill(pid, signal.SIGKILL)
                    problems.append(f"{server.where()}: member {pid} outlived it")
            if "Traceback" in server.err.read_text(errors="replace"):
                problems.append(f"{server.where()}: a traceback\n{server.tail()}")
        return problems


def test_every_command_of_the_doc_is_run() -> None:
    # cluster up, by hand, clients, growing it (cluster "up"), TLS, auth (cluster "up")
    assert [s.cluster for s in SHOWN if SERVER.match(s.command)] == [
        "up", "by-hand", "by-hand", "by-hand", "up", "tls"]
    assert list(dict.fromkeys(s.cluster for s in SHOWN)) == ["up", "by-hand", "tls"]
    assert len(SHOWN) == 28, [s.command for s in SHOWN]
    # no command is left in a block that is not run: a fence not tagged console holds none
    plain = re.findall(r"^```(\w*)\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert plain and not [body for tag, body in plain
                          if tag != "console" and re.search(r"^\$ ", body, re.M)]
    t = Translation(10, {"ab": "cd"})
    assert t("http://127.0.0.1:2379 member ab, abc") == "http://127.0.0.1:2389 member cd, abc"
    assert t("up --base-port 2379 --nodes 3") == "up --base-port 2389 --nodes 3"


@pytest.mark.slow
def test_store_doc_cluster_commands(tmp_path: Path) -> None:
    session = Session(tmp_path, random.Random())
    try:
        for shown in SHOWN:
            session.run(shown)
        session.wait_ready()
    finally:
        problems = session.stop()
    assert not problems, "\n".join(problems)
