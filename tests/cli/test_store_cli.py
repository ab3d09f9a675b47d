"""`quorum serve|cluster|kv`: bad flags give one line and exit 2; `cluster up` runs real
processes that serve `quorum kv`, and SIGINT (Ctrl-C) stops them all cleanly."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers.cli import QUORUM
from helpers.cluster import free_ports
from quorum.cli import main


@pytest.mark.parametrize("argv, message", [
    (["serve", "--listen-peer-urls", "127.0.0.1:2380"], "expected http://HOST:PORT"),
    (["serve", "--name", "a", "--initial-cluster", "b=http://127.0.0.1:1"], "no entry"),
    (["serve", "--initial-cluster-state", "old"], "invalid choice"),
    (["serve"], "peers would not be authenticated"),
    (["serve", "--peer-auto-tls"], "--peer-auto-tls encrypts but authenticates no one"),
    (["serve", "--peer-cert-file", "/nonexistent/c.pem"], "--peer-key-file go together"),
    (["serve", "--peer-client-cert-auth"], "need --peer-cert-file"),
    (["serve", "--peer-secret-file", "/nonexistent/secret"], "--peer-secret-file"),
    (["cluster", "up", "--nodes", "0"], "between 1 and 9"),
    (["cluster", "up", "--frontends", "-1"], "--frontends must be between 0 and 64"),
    (["cluster", "up", "--protocol", "paxos"], "--protocol must be raft or multipaxos"),
    (["kv", "--endpoints", "nonsense", "get", "k"], "expected http://HOST:PORT"),
    (["kv", "txn", "--compare", "size(k) = 1"], "expected TARGET(KEY) OP VALUE"),
])
def test_bad_flags_one_line_exit_2(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def _members(pattern: str) -> str:
    """The pids of running processes whose command line contains ``pattern``."""
    out = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr  # 1: none; anything else: pgrep failed
    return out.stdout


def _kill_all(up: subprocess.Popen[bytes], pattern: str) -> None:
    """Leave nothing behind, whatever the test's outcome (members run in their own
    sessions, so killing ``up`` alone would orphan them)."""
    if up.poll() is None:
        up.kill()
        up.wait()
    subprocess.run(["pkill", "-KILL", "-f", "--", pattern], capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("frontends, protocol", [  # members serving clients, or front-ends
    (0, "raft"), (1, "raft"), (0, "multipaxos")])
def test_cluster_up_serves_kv_and_stops_on_ctrl_c(tmp_path: Path, frontends: int,
                                                  protocol: str) -> None:
    base = free_ports(1)[0] // 16 * 16  # a run of ports; collisions are unlikely
    up = subprocess.Popen([*QUORUM, "cluster", "up", "--nodes", "3",
                           "--base-port", str(base), "--data-dir", str(tmp_path),
                           "--frontends", str(frontends), "--protocol", protocol],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        endpoints = ",".join(f"http://127.0.0.1:{base + 2 * i}" for i in range(3))
        kv = [*QUORUM, "kv", "--endpoints", endpoints]
        deadline = time.monotonic() + 30
        while subprocess.run([*kv, "put", "greeting", "hello"], cwd=tmp_path,
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "the cluster never accepted a write"
            time.sleep(0.3)
        got = subprocess.run([*kv, "get", "greeting"], cwd=tmp_path,
                             capture_output=True, text=True)
        assert got.stdout == "greeting\nhello\n"
        assert (tmp_path / "n1" / "protocol").read_text() == protocol + "\n"
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=30)
        assert up.returncode == 0, err
        assert b"stopping the cluster" in err
        assert _members(f"--data-dir {tmp_path}/n") == "", "members still running"
    finally:
        _kill_all(up, f"--data-dir {tmp_path}/n")


@pytest.mark.slow
def test_cluster_up_stopped_while_starting_leaves_no_member(tmp_path: Path) -> None:
    # Ctrl-C as soon as the first member exists, while the others are being started:
    # every member that was started is stopped, none is left behind.
    base = free_ports(1)[0] // 16 * 16
    up = subprocess.Popen([*QUORUM, "cluster", "up", "--nodes", "5",
                           "--base-port", str(base), "--data-dir", str(tmp_path)],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pattern = f"--data-dir {tmp_path}/n"
    try:
        deadline = time.monotonic() + 30
        while not _members(pattern):
            assert time.monotonic() < deadline, "no member ever started"
            time.sleep(0.01)
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=30)
        assert up.returncode == 0, err
        assert b"stopping the cluster" in err
        assert _members(pattern) == "", "members still running"
    finally:
        _kill_all(up, pattern)
