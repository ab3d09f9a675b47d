"""Leadership transfer (Ongaro's thesis, section 3.10)."""

from __future__ import annotations

import pytest

from quorum.impl.raft.errors import NotLeader, ProposalDropped
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import MessageType, Role


def test_transfer_to_an_up_to_date_follower() -> None:
    """3.10: the leader sends TIMEOUT_NOW; the target campaigns at once (no pre-vote,
    past the other followers' lease) and wins the next term."""
    net = Network([1, 2, 3])
    net.campaign(1)
    net.propose(1, b"x")
    net.nodes[1].transfer_leader(3)
    net.stabilize()
    assert net.leaders() == [3]
    assert [net.nodes[i].raft.term for i in (1, 2, 3)] == [2, 2, 2]
    assert [m.to for m in net.delivered if m.type is MessageType.TIMEOUT_NOW] == [3]
    net.propose(2, b"y")
    assert net.commands(1) == [b"x", b"y"]


def test_transfer_to_a_lagging_follower_catches_it_up_first() -> None:
    net = Network([1, 2, 3])
    net.campaign(1)
    net.isolate(3)
    for k in range(5):
        net.propose(1, b"%d" % k)
    net.heal()
    net.nodes[1].transfer_leader(3)
    assert all(m.type is not MessageType.TIMEOUT_NOW for m in net.queue)
    with pytest.raises(ProposalDropped, match="transferred"):
        net.nodes[1].propose(b"during")
    net.stabilize()
    net.tick(n=1)
    assert net.leaders() == [3]
    assert net.commands(3) == [b"%d" % k for k in range(5)]


def test_a_transfer_to_an_unreachable_node_is_abandoned_after_an_election_timeout() -> None:
    net = Network([1, 2, 3])
    net.campaign(1)
    net.isolate(3)
    net.propose(1, b"a")
    net.nodes[1].transfer_leader(3)
    net.tick(n=10)
    assert net.leaders() == [1] and net.nodes[1].raft.lead_transferee == 0
    net.propose(1, b"b")  # proposals flow again
    assert net.commands(2) == [b"a", b"b"]


def test_only_the_leader_transfers() -> None:
    net = Network([1, 2, 3])
    net.campaign(1)
    with pytest.raises(NotLeader) as err:
        net.nodes[2].transfer_leader(3)
    assert err.value.leader == 1
    with pytest.raises(ProposalDropped, match="non-voter"):
        net.nodes[1].transfer_leader(9)
    assert net.role(1) is Role.LEADER
