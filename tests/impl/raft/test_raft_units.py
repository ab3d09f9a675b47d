"""Unit tests of the small pieces: quorums, progress, inflights, storage, log, config."""

from __future__ import annotations

import pytest

from quorum.impl.mutants import Mutant
from quorum.impl.raft import quorum
from quorum.impl.raft.config import RaftConfig
from quorum.impl.raft.errors import (
    CompactedError,
    ConfigError,
    SnapshotOutOfDateError,
    UnavailableError,
)
from quorum.impl.raft.log import RaftLog
from quorum.impl.raft.progress import Inflights, Progress, ProgressState
from quorum.impl.raft.quorum import VoteResult
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import ConfState, Entry


def test_majority_is_floor_half_plus_one() -> None:
    assert [quorum.majority(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


def test_committed_index_is_the_majority_th_highest_match() -> None:
    acked = {1: 9, 2: 5, 3: 7, 4: 2}
    assert quorum.committed_index((1, 2, 3), acked) == 7
    assert quorum.committed_index((1, 2, 3, 4), acked) == 5  # needs 3 of 4
    assert quorum.committed_index((1, 2, 3, 5), acked) == 5  # 5 has acked nothing
    assert quorum.committed_index((), acked) is None
    assert quorum.joint_committed_index((1, 2, 3), (3, 4), acked) == 2
    assert quorum.joint_committed_index((1, 2, 3), (), acked) == 7


def test_vote_results() -> None:
    voters = (1, 2, 3, 4)
    assert quorum.vote_result(voters, {1: True, 2: True}) is VoteResult.PENDING
    assert quorum.vote_result(voters, {1: True, 2: True, 3: True}) is VoteResult.WON
    assert quorum.vote_result(voters, {1: False, 3: True}) is VoteResult.PENDING
    assert quorum.vote_result(voters, {1: False, 2: False}) is VoteResult.LOST  # 2 < 3 left
    assert quorum.vote_result(voters, {1: False, 2: False, 3: True}) is VoteResult.LOST
    assert quorum.joint_vote_result((1, 2, 3), (3, 4, 5), {1: True, 2: True, 3: True}) \
        is VoteResult.PENDING
    assert quorum.joint_vote_result((1, 2, 3), (3, 4, 5), {1: True, 4: False, 5: False}) \
        is VoteResult.LOST


def test_inflights_window() -> None:
    w = Inflights(capacity=3, max_bytes=250)
    w.add(5, 100)
    w.add(7, 100)
    assert not w.full()
    w.add(9, 100)
    assert w.full() and w.bytes == 300
    w.free_le(7)
    assert len(w) == 1 and w.bytes == 100 and not w.full()
    w.free_first_one()
    assert len(w) == 0


def test_progress_probe_and_replicate() -> None:
    pr = Progress(match=0, next=11, inflights=Inflights(2))
    assert not pr.is_paused()
    pr.sent_entries(11, 1)
    assert pr.is_paused() and pr.next == 11  # probe: one at a time, next unchanged
    assert not pr.maybe_decr_to(rejected=7, match_hint=3)  # stale rejection
    assert pr.maybe_decr_to(rejected=10, match_hint=3) and pr.next == 4 and not pr.is_paused()
    assert pr.maybe_update(6) and pr.match == 6 and pr.next == 7
    pr.become_replicate()
    pr.sent_entries(9, 10)
    pr.sent_entries(12, 10)
    assert pr.next == 13 and pr.is_paused()  # pipelined; window of 2 is full
    assert pr.maybe_decr_to(rejected=9, match_hint=0) and pr.next == 7
    pr.become_snapshot(20)
    assert pr.is_paused() and pr.state is ProgressState.SNAPSHOT
    pr.become_probe()
    assert pr.next == 21  # after the snapshot it acknowledged


def _storage(n: int) -> MemoryStorage:
    st = MemoryStorage(ConfState(voters=(1,)))
    st.append([Entry(term=1 + i // 3, index=i + 1, data=b"x" * 10) for i in range(n)])
    return st


def test_memory_storage_append_compact_snapshot() -> None:
    st = _storage(9)
    assert (st.first_index(), st.last_index(), st.term(4)) == (1, 9, 2)
    st.append([Entry(term=5, index=7)])  # overwrite the suffix from 7
    assert st.last_index() == 7 and st.term(7) == 5
    assert len(st.entries(1, 8, max_bytes=25)) == 2
    st.create_snapshot(5, ConfState(voters=(1,)), b"sm")
    st.compact(5)
    assert (st.first_index(), st.term(5)) == (6, 2)
    with pytest.raises(CompactedError):
        st.term(4)
    with pytest.raises(UnavailableError):
        st.entries(6, 9)
    with pytest.raises(SnapshotOutOfDateError):
        st.create_snapshot(4, ConfState(), b"")


def test_raft_log_unstable_tail_and_conflicts() -> None:
    log = RaftLog(_storage(6))
    assert log.maybe_append(6, 2, 0, [Entry(2, 7), Entry(3, 8)]) == 8
    assert log.unstable.offset == 7 and log.last_index() == 8
    assert log.maybe_append(5, 9, 0, [Entry(9, 6)]) is None  # prev term mismatch
    assert log.maybe_append(4, 2, 5, [Entry(2, 5), Entry(4, 6)]) == 6  # conflict at 6
    assert log.last_index() == 6 and log.term(6) == 4 and log.committed == 5
    assert log.find_conflict_by_term(6, 3) == (5, 2)
    log.stable_to(6, 4)
    assert log.unstable.entries == []


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="election_tick"):
        RaftConfig(id=1, election_tick=1, heartbeat_tick=1).validate()
    with pytest.raises(ConfigError, match="unknown core mutants 'typo'"):
        RaftConfig(id=1, mutants=frozenset({"typo"})).validate()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no-fsync-vote [(]a storage mutant[)]"):
        RaftConfig(id=1, mutants=frozenset({Mutant.NO_FSYNC_VOTE})).validate()
    RaftConfig(id=1, mutants=frozenset({Mutant.LOCAL_READ})).validate()
    with pytest.raises(ConfigError, match="positive"):
        RaftConfig(id=0).validate()
