"""Linearizable reads with ReadIndex (Ongaro's thesis, section 6.4)."""

from __future__ import annotations

import pytest

from quorum.impl.mutants import Mutant
from quorum.impl.raft.errors import ProposalDropped
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import MessageType, ReadState


def _heartbeats_with(net: Network, ctx: bytes) -> list[int]:
    return [m.to for m in net.delivered if m.type is MessageType.HEARTBEAT and m.context == ctx]


def test_leader_confirms_leadership_with_a_heartbeat_round() -> None:
    """6.4 steps 1-3: record the commit index, confirm with a quorum of heartbeat acks,
    then answer; the read index covers every write acknowledged before the read."""
    net = Network([1, 2, 3])
    net.campaign(1)
    net.propose(1, b"w")
    net.nodes[1].read_index(b"r1")
    assert net.read_states[1] == []  # not before a majority has answered
    net.stabilize()
    assert net.read_states[1] == [ReadState(index=2, context=b"r1")]
    assert _heartbeats_with(net, b"r1") == [2, 3]


def test_a_new_leader_waits_for_an_entry_of_its_term_before_answering() -> None:
    """6.4 step 1: until its empty entry commits, a new leader's commit index may be
    stale, so the read waits for it."""
    net = Network([1, 2, 3])
    net.nodes[1].campaign()
    while not net.leaders():
        net.deliver(limit=1)  # until 1 has won; its empty entry is not yet committed
    r = net.nodes[1].raft
    assert net.leaders() == [1] and not r.committed_in_current_term()
    net.nodes[1].read_index(b"early")
    assert r.pending_reads == [(1, b"early")]
    net.stabilize()
    assert net.read_states[1] == [ReadState(index=1, context=b"early")]


def test_a_follower_forwards_the_read_to_the_leader() -> None:
    """6.4: a follower asks the leader for the read index, then serves the read itself
    once it has applied up to that index."""
    net = Network([1, 2, 3])
    net.campaign(1)
    net.propose(1, b"w1")
    net.propose(1, b"w2")
    net.nodes[3].read_index(b"f")
    net.stabilize()
    assert net.read_states[3] == [ReadState(index=3, context=b"f")]
    assert net.sms[3].applied_index >= 3
    assert any(m.type is MessageType.READ_INDEX_RESP for m in net.delivered)


def test_a_deposed_leader_cannot_answer_a_read() -> None:
    """6.4 step 2 is what makes reads linearizable: an isolated old leader (check-quorum
    off, so it still thinks it leads) never gets a quorum of acks and never answers."""
    net = Network([1, 2, 3], check_quorum=False)
    net.campaign(1)
    net.isolate(1)
    net.campaign(2)
    net.propose(2, b"newer")
    net.nodes[1].read_index(b"stale?")
    net.tick([1], n=5)
    assert net.read_states[1] == []


def test_local_read_mutant_answers_a_stale_read_on_a_deposed_leader() -> None:
    """The "local-read" mutant skips the heartbeat round: the old leader answers with
    its commit index 1, missing the write committed at index 3 by the new leader."""
    net = Network([1, 2, 3], check_quorum=False, mutants=frozenset({Mutant.LOCAL_READ}))
    net.campaign(1)
    net.isolate(1)
    net.campaign(2)
    net.propose(2, b"newer")
    assert net.nodes[2].raft.log.committed == 3
    net.nodes[1].read_index(b"stale!")
    net.process_all()
    assert net.read_states[1] == [ReadState(index=1, context=b"stale!")]


def test_one_heartbeat_round_confirms_every_earlier_read() -> None:
    net = Network([1, 2, 3])
    net.campaign(1)
    net.cut(1, 2)
    net.cut(1, 3)
    for ctx in (b"a", b"b", b"c"):
        net.nodes[1].read_index(ctx)
    net.stabilize()
    assert net.read_states[1] == []
    net.heal()
    net.nodes[1].read_index(b"d")
    net.stabilize()
    assert [rs.context for rs in net.read_states[1]] == [b"a", b"b", b"c", b"d"]


def test_single_node_answers_at_once_and_no_leader_refuses() -> None:
    net = Network([1])
    net.campaign(1)
    net.nodes[1].read_index(b"solo")
    net.process_all()
    assert net.read_states[1] == [ReadState(index=1, context=b"solo")]
    lonely = Network([1, 2, 3])
    with pytest.raises(ProposalDropped, match="knows no leader"):
        lonely.nodes[2].read_index(b"x")
