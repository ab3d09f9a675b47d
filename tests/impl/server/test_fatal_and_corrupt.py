"""A member that cannot go on says why in one line and exits non-zero (storage errors,
a corrupt WAL at start, a broken Raft invariant); the corruption check's verdict and wire
format; a leader's entry conflicting with a committed one is a panic, not a silent refusal."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from helpers.cluster import free_ports
from quorum.cli import main
from quorum.impl.net import PeerError
from quorum.impl.raft.errors import PanicError
from quorum.impl.raft.log import RaftLog
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import Entry
from quorum.impl.server.corrupt import Checker, decode, encode, verdict
from quorum.impl.storage.errors import CorruptionError
from quorum.impl.storage.storage import DiskStorage


def serve_argv(tmp: Path) -> list[str]:
    client, peer = free_ports(2)
    secret = tmp / "secret"
    secret.write_bytes(b"0123456789abcdef0123")
    return ["serve", "--name", "solo", "--data-dir", str(tmp / "solo"),
            "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--peer-secret-file", str(secret), "--log-level", "error"]


def test_enospc_stops_the_member_with_one_line_and_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def full(self: Any, *args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "wal/0001.wal")
    monkeypatch.setattr(DiskStorage, "save", full)  # the bootstrap's first save fails
    monkeypatch.setenv("QUORUM_LOOP", "asyncio")
    assert main(serve_argv(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("quorum serve: solo stopped: storage failed: "
                                            "ENOSPC (No space left on device) wal/0001.wal")


def test_a_corrupt_wal_at_start_is_one_line_and_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def corrupt(*args: Any, **kw: Any) -> None:
        raise CorruptionError("solo/wal/0001.wal", 4096, "bad CRC")
    monkeypatch.setattr(DiskStorage, "open", corrupt)
    monkeypatch.setenv("QUORUM_LOOP", "asyncio")
    assert main(serve_argv(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "quorum serve: solo: corrupt write-ahead log: solo/wal/0001.wal at byte 4096: "
        "bad CRC; refusing to start"]


def test_a_leaders_entry_conflicting_with_a_committed_one_panics() -> None:
    log = RaftLog(MemoryStorage())
    log.append([Entry(term=1, index=1), Entry(term=1, index=2)])
    log.commit_to(2)
    with pytest.raises(PanicError, match="entry 2 \\(term 2\\) conflicts with committed "
                                         "entry 2 \\(term 1; committed 2\\)"):
        log.maybe_append(1, 1, 2, [Entry(term=2, index=2)])
    assert log.maybe_append(2, 1, 2, [Entry(term=2, index=3)]) == 3  # above commit: fine


def test_verdict_trusts_the_majority_hash() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert verdict({1: a, 2: a, 3: a}, 3) == []
    assert verdict({1: a, 2: b, 3: a}, 3) == [2]
    assert verdict({1: a, 2: b}, 3) == [1, 2]  # no majority of the cluster: cannot tell
    assert verdict({1: a}, 3) == []


def test_checker_compares_hashes_taken_at_the_same_index() -> None:
    """Three checkers wired together; member 3's key space differs at index 5."""
    states = {1: b"same", 2: b"same", 3: b"same"}
    alarms: list[int] = []
    outbox: list[tuple[int, int, bytes]] = []
    members = frozenset({1, 2, 3})
    checkers = {m: Checker(m, lambda peer, body, m=m: outbox.append((m, peer, body)),
                           lambda m=m: states[m], lambda member, msg: alarms.append(member),
                           lambda: 0.0) for m in members}
    applied = {1: 5, 2: 3, 3: 7}  # 2 is behind, 3 is past the check point

    def deliver() -> None:
        while outbox:
            frm, to, body = outbox.pop(0)
            checkers[to].on_frame(frm, body, applied[to])

    checkers[1].start(5, members, applied[1])
    deliver()
    assert checkers[1].completed == 0  # waiting for 2, which has not applied 5 yet
    states[2] = b"different"
    checkers[2].applied(4)
    checkers[2].applied(5)  # 2 hashes right after 5
    deliver()
    # 3 was past 5, so left out; 1 and 2 differ and neither hash has a majority of the
    # 3-member cluster: nobody can tell who is right, both are alarmed
    assert (checkers[1].completed, alarms) == (1, [1, 2])
    alarms.clear()  # with 3 answering too, 2 is the odd one out
    applied = {1: 9, 2: 9, 3: 9}
    states[3] = b"same"
    checkers[1].start(9, members, 9)
    deliver()
    assert alarms == [2]
    assert checkers[1].mismatches == 2


def test_malformed_check_frames_are_the_peers_fault() -> None:
    assert decode(encode("req", 1, 5)) == ("req", 1, 5, None)
    assert decode(encode("resp", 1, 5, b"h" * 32)) == ("resp", 1, 5, b"h" * 32)
    for bad in (b"QH\xc1", encode("req", 1), encode("resp", 1, 5, b"short"),
                encode("nope", 1, 5), encode("req", -1, 5), encode("req", 1, 5, None)):
        with pytest.raises(PeerError):
            decode(bad)
