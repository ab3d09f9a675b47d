"""The driver loop end to end: elect, replicate, apply (Raft paper, sections 5.2-5.3)."""

from __future__ import annotations

from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import Role


def test_three_nodes_elect_and_replicate() -> None:
    net = Network([1, 2, 3])
    net.campaign(1)
    assert net.leaders() == [1]
    assert [net.nodes[i].status().hard_state.term for i in (1, 2, 3)] == [1, 1, 1]
    net.propose(1, b"x")
    net.propose(2, b"y")  # a follower forwards to the leader
    for i in (1, 2, 3):
        assert net.commands(i) == [b"x", b"y"]
        assert net.log(i) == [(1, 1), (2, 1), (3, 1)]  # the empty entry, then x and y


def test_bootstrap_logs_the_initial_configuration() -> None:
    net = Network([1, 2, 3], bootstrap=True)
    net.campaign(2)
    net.propose(3, b"z")
    assert net.leaders() == [2]
    assert net.log(1) == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]
    assert all(net.commands(i) == [b"z"] for i in (1, 2, 3))


def test_single_node_commits_after_persisting() -> None:
    net = Network([1])
    net.campaign(1)
    assert net.role(1) is Role.LEADER
    net.propose(1, b"a")
    assert net.commands(1) == [b"a"]
    assert net.nodes[1].status().hard_state.commit == 2
