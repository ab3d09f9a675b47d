"""Log compaction of the Multi-Paxos core: a replica compacts the slots its state machine
executed (they are chosen) to a snapshot, a lagging replica gets the snapshot instead of
slots compacted away, a restart recovers snapshot and votes, and phase 1 never needs a
compacted slot (an acceptor that compacted slots a candidate asks about sends its
snapshot with its PROMISE).  The cluster's ghost checks judge every slot a snapshot
carries as if it had been applied one by one."""

from __future__ import annotations

import pytest

from quorum.impl.multipaxos.testing import Cluster
from quorum.impl.multipaxos.types import Message
from quorum.impl.multipaxos.types import MessageType as MT
from quorum.impl.raft.types import Entry, Role


def _values(n: int, start: int = 1) -> list[bytes]:
    return [f"v{k}".encode() for k in range(start, start + n)]


def _leader_1(size: int = 3) -> Cluster:
    c = Cluster(range(1, size + 1))
    c.campaign(1)
    c.deliver_all()
    return c


def test_compaction_drops_the_executed_votes_and_the_cluster_goes_on():
    c = _leader_1()
    c.propose(1, *_values(5))
    assert c.stabilize() == 1
    for i in (1, 2, 3):
        snap = c.compact(i)
        assert snap.meta.index == 5 and c.node(i).log == {}
        assert c.node(i).status().snapshot_index == 5
    with pytest.raises(ValueError, match="need 5 < index <= applied 5"):
        c.node(1).compact(5, b"")
    c.propose(1, *_values(2, 6))
    assert c.stabilize() == 1
    assert [c.values(i) for i in (1, 2, 3)] == [_values(7)] * 3
    assert sorted(c.node(2).log) == [6, 7]


def test_a_lagging_replica_catches_up_by_the_leaders_snapshot():
    c = _leader_1()
    c.isolate(3)
    c.propose(1, *_values(6))
    for _ in range(5):
        c.tick(1)
        c.tick(2)
        c.deliver_all()
    assert c.node(1).commit == 6 and c.node(3).commit == 0
    c.compact(1)
    c.compact(2)
    c.heal()
    c.inflight.clear()
    c.tick(1)
    snaps = [m for m in c.inflight if m.type is MT.SNAPSHOT]
    assert [(m.to, m.last) for m in snaps] == [(3, 6)]
    assert c.stabilize() == 1
    n3 = c.node(3)
    assert n3.status().snapshot_index == 6 and n3.applied == 6 and c.values(3) == _values(6)
    c.propose(1, b"w")
    assert c.stabilize() == 1 and c.values(3) == [*_values(6), b"w"]
    # its WAL holds the snapshot: a restart recovers it, not an empty log
    c.crash(3)
    c.start(3)
    assert c.node(3).status().snapshot_index == 6 and c.values(3) == _values(6)


def test_a_snapshot_goes_once_per_election_timeout_while_unacknowledged():
    c = _leader_1()
    c.isolate(3)
    c.propose(1, *_values(3))
    c.stabilize(rounds=5)
    c.compact(1)
    c.inflight.clear()
    for _ in range(c.node(1).cfg.election_tick):
        c.tick(1)
    assert sum(m.type is MT.SNAPSHOT for m in c.inflight) == 1


def test_restart_recovers_the_snapshot_and_the_votes_after_it():
    c = _leader_1()
    c.propose(1, *_values(4))
    assert c.stabilize() == 1
    c.compact(2)
    c.propose(1, *_values(2, 5))
    assert c.stabilize() == 1
    c.crash(2)
    n2 = c.start(2)
    assert n2.status().snapshot_index == 4 and n2.applied == 4 and sorted(n2.log) == [5, 6]
    assert c.values(2) == _values(4)  # the state machine restored from the snapshot
    assert c.stabilize() == 1
    assert c.values(2) == _values(6)


def test_a_new_leader_after_compaction_needs_no_compacted_slot():
    c = _leader_1()
    c.propose(1, *_values(4))
    assert c.stabilize() == 1
    for i in (1, 2, 3):
        c.compact(i)
    c.crash(1)
    c.campaign(2)
    prepares = [m for m in c.inflight if m.type is MT.PREPARE]
    assert {m.slot for m in prepares} == {5}  # phase 1 from the first unchosen slot
    c.deliver_all()
    assert c.leaders() == [2]
    c.propose(2, b"w")
    c.start(1)
    assert c.stabilize() == 2
    assert [c.values(i) for i in (1, 2, 3)] == [[*_values(4), b"w"]] * 3


def test_a_lagging_candidate_learns_compacted_slots_from_a_promise():
    """n3 missed slots 1..4; n1 and n2 compacted them.  n1 dies and n3 runs phase 1 with
    n2: n2's PROMISE reports its chosen prefix and carries its snapshot, so n3 installs
    it and does not re-propose into slots 1..4 (a no-op there would break agreement)."""
    c = _leader_1()
    c.isolate(3)
    c.propose(1, *_values(4))
    for _ in range(5):
        c.tick(1)
        c.tick(2)
        c.deliver_all()
    c.compact(1)
    c.compact(2)
    c.crash(1)
    c.heal()
    c.inflight.clear()
    c.campaign(3)
    c.deliver_all()
    n3 = c.node(3)
    assert n3.role is Role.LEADER and n3.status().snapshot_index == 4
    assert c.values(3) == _values(4)
    c.propose(3, b"w")
    c.start(1)
    assert c.stabilize() == 3
    assert [c.values(i) for i in (1, 2, 3)] == [[*_values(4), b"w"]] * 3
    assert c.chosen[5] == b"w"


def test_an_installed_snapshot_keeps_the_votes_above_it():
    """A replica's votes above a snapshot it installs may be part of a choice: they stay
    in memory and in its WAL."""
    c = _leader_1()
    c.isolate(3)
    c.propose(1, *_values(4))  # n3 misses all of them
    c.stabilize(rounds=3)
    snap = c.compact(1) if c.node(1).applied == 4 else None
    assert snap is not None and snap.meta.index == 4
    c.heal()
    c.inflight.clear()
    c.node(3).step(Message(MT.ACCEPT, 3, 1, ballot=1, entries=(Entry(1, 5, data=b"v5"),)))
    c.pump(3)
    c.node(3).step(Message(MT.SNAPSHOT, 3, 1, ballot=1, last=4, commit=4,
                           snapshot=snap.data))
    c.pump(3)
    n3 = c.node(3)
    assert n3.commit == 4 and n3.applied == 4 and n3.log == {5: Entry(1, 5, data=b"v5")}
    assert c.values(3) == _values(4)
    c.crash(3)
    n3 = c.start(3)
    assert n3.status().snapshot_index == 4 and n3.log == {5: Entry(1, 5, data=b"v5")}
