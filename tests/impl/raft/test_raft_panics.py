"""Broken invariants of the core raise PanicError (where etcd-raft panics), under -O too.

The checks are explicit ``if ...: raise``, never ``assert``, so ``python -O`` (which
strips asserts) cannot turn a commit beyond the log into silent corruption.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from quorum.impl.raft.config import RaftConfig
from quorum.impl.raft.errors import PanicError
from quorum.impl.raft.log import RaftLog
from quorum.impl.raft.progress import Inflights
from quorum.impl.raft.raft import Raft
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import ConfState, Entry


def _log(last: int, committed: int) -> RaftLog:
    log = RaftLog(MemoryStorage())
    log.append([Entry(term=1, index=i) for i in range(1, last + 1)])
    log.commit_to(committed)
    return log


def test_a_commit_beyond_the_log_panics():
    with pytest.raises(PanicError, match="commit 5 is beyond the last index 3"):
        _log(3, 2).commit_to(5)


def test_a_commit_never_goes_backwards():
    log = _log(3, 2)
    log.commit_to(1)
    assert log.committed == 2


def test_overwriting_committed_entries_panics():
    with pytest.raises(PanicError, match="index 2 would overwrite committed entries"):
        _log(3, 2).append([Entry(term=2, index=2)])


def test_applying_outside_applied_to_committed_panics():
    log = _log(3, 2)
    log.applied_to(1)
    for index in (0, 3):
        with pytest.raises(PanicError, match=f"applied index {index} is out of range"):
            log.applied_to(index)


def test_a_full_inflights_window_panics():
    window = Inflights(capacity=1)
    window.add(1, 10)
    with pytest.raises(PanicError, match="full inflights window"):
        window.add(2, 10)


def test_a_follower_cannot_become_leader_without_an_election():
    r = Raft(RaftConfig(id=1), MemoryStorage(ConfState(voters=(1, 2, 3))))
    with pytest.raises(PanicError, match="invalid transition: follower -> leader"):
        r.become_leader()


def test_the_checks_survive_python_dash_O():
    """The same broken invariants, in a child interpreter run with -O."""
    code = textwrap.dedent("""
        from quorum.impl.raft.errors import PanicError
        from quorum.impl.raft.log import RaftLog
        from quorum.impl.raft.storage import MemoryStorage
        from quorum.impl.raft.types import Entry

        assert False, "unreachable: -O strips this"
        log = RaftLog(MemoryStorage())
        log.append([Entry(term=1, index=1), Entry(term=1, index=2)])
        log.commit_to(2)
        for broken in (lambda: log.commit_to(3), lambda: log.applied_to(3),
                       lambda: log.append([Entry(term=2, index=1)])):
            try:
                broken()
            except PanicError as exc:
                print("panic:", exc)
        """)
    out = subprocess.run([sys.executable, "-O", "-P", "-c", code], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("panic: ") == 3, out.stdout
