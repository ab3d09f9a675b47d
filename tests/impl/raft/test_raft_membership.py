"""Membership changes, one server at a time (Ongaro's thesis, section 4.1; the 2015 fix)."""

from __future__ import annotations

import pytest

from quorum.impl.raft.confchange import ConfChangeError
from quorum.impl.raft.errors import ProposalDropped
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import ConfChange, ConfChangeType, ConfState, Role

ADD, REMOVE, LEARNER = ConfChangeType.ADD_NODE, ConfChangeType.REMOVE_NODE, ConfChangeType.ADD_LEARNER


def _cluster() -> Network:
    net = Network([1, 2, 3], bootstrap=True)
    net.campaign(1)
    return net


def _change(net: Network, leader: int, typ: ConfChangeType, node: int) -> None:
    net.nodes[leader].propose_conf_change(ConfChange(typ, node, b"peer-url"))
    net.stabilize()


def _voters(net: Network, i: int) -> tuple[int, ...]:
    return net.nodes[i].raft.tracker.voters


def _committed(net: Network, i: int) -> int:
    return net.nodes[i].raft.log.committed


def test_adding_a_server_it_catches_up_from_the_log_and_counts_in_quorums() -> None:
    """4.1: the new server (empty storage) learns the whole history, including the
    bootstrap configuration, from the leader; once the change is applied, a majority
    means 3 of 4."""
    net = _cluster()
    net.propose(1, b"before")
    _change(net, 1, ADD, 4)
    assert _voters(net, 1) == (1, 2, 3, 4)
    net.add_node(4)
    net.tick(n=2)
    assert net.commands(4) == [b"before"]
    assert _voters(net, 4) == (1, 2, 3, 4) and net.nodes[4].raft.promotable()

    net.isolate(2)
    net.cut(1, 3)
    before = _committed(net, 1)
    net.propose(1, b"two of four")  # only 1 and 4 have it: no majority
    assert _committed(net, 1) == before
    net.heal()
    net.isolate(3)
    net.tick(n=2)  # 1, 2 and 4 have it: 3 of 4
    assert net.commands(4)[-1] == b"two of four"


def test_removing_a_server_shrinks_the_majority() -> None:
    net = _cluster()
    _change(net, 1, REMOVE, 3)
    assert _voters(net, 1) == _voters(net, 2) == _voters(net, 3) == (1, 2)
    net.isolate(3)
    net.propose(1, b"with two")
    assert net.commands(2)[-1] == b"with two"
    term = net.nodes[3].raft.term
    net.tick([3], n=50)  # a removed server never campaigns
    assert net.nodes[3].raft.term == term and net.role(3) is Role.FOLLOWER


def test_a_removed_leader_steps_down_and_the_rest_elect_a_leader() -> None:
    """4.2.2: the leader that removes itself steps down once the change is committed."""
    net = _cluster()
    _change(net, 1, REMOVE, 1)
    assert net.role(1) is Role.FOLLOWER
    net.tick(n=40)
    (leader,) = net.leaders()
    assert leader in (2, 3)
    net.propose(leader, b"after")
    assert net.commands(2)[-1] == net.commands(3)[-1] == b"after"


def test_no_conf_change_before_the_new_leader_commits_an_entry_of_its_term() -> None:
    """The 2015 fix (Ongaro, raft-dev): a new leader proposes no membership change until
    an entry of its own term is committed (here: its empty entry, applied)."""
    net = Network([1, 2, 3], bootstrap=True)
    net.process_all()
    net.nodes[1].campaign()
    while not net.leaders():
        net.deliver(limit=1)
    with pytest.raises(ProposalDropped, match="pending"):
        net.nodes[1].propose_conf_change(ConfChange(ADD, 4))
    net.stabilize()
    net.nodes[1].propose_conf_change(ConfChange(ADD, 4))  # accepted now


def test_only_one_change_at_a_time() -> None:
    net = _cluster()
    net.nodes[1].propose_conf_change(ConfChange(ADD, 4))
    with pytest.raises(ProposalDropped, match="pending"):
        net.nodes[1].propose_conf_change(ConfChange(ADD, 5))
    net.stabilize()
    _change(net, 1, ADD, 5)
    assert _voters(net, 1) == (1, 2, 3, 4, 5)


def test_a_learner_replicates_but_neither_votes_nor_counts() -> None:
    net = _cluster()
    _change(net, 1, LEARNER, 4)
    net.add_node(4)
    net.tick(n=2)
    assert net.nodes[1].raft.tracker.learners == (4,)
    net.propose(1, b"l")
    assert net.commands(4) == [b"l"]
    assert not net.nodes[4].raft.promotable()
    net.isolate(2)
    net.cut(1, 3)
    before = _committed(net, 1)
    net.propose(1, b"needs 2 of 3 voters")
    assert _committed(net, 1) == before
    net.heal()
    net.tick(n=2)
    _change(net, 1, ADD, 4)  # promotion
    assert _voters(net, 1) == (1, 2, 3, 4) and net.nodes[4].raft.promotable()


def test_invalid_changes_are_refused() -> None:
    net = Network([1])
    net.campaign(1)
    with pytest.raises(ConfChangeError, match="no voters"):
        net.nodes[1].propose_conf_change(ConfChange(REMOVE, 1))
    assert net.nodes[1].apply_conf_change(ConfChange(REMOVE, 1)) == ConfState(voters=(1,))
