"""Scenarios of the store's Multi-Paxos core on an in-process cluster with real WALs."""

from __future__ import annotations

import pytest

from quorum.impl.multipaxos import MultiPaxosConfig, MultiPaxosNode, next_ballot, owner
from quorum.impl.multipaxos.testing import Cluster
from quorum.impl.multipaxos.types import MessageType as MT
from quorum.impl.raft.errors import ConfigError, NotLeader, ProposalDropped
from quorum.impl.raft.types import Role


def test_ballots_are_dealt_round_robin_and_never_shared():
    voters = (7, 3, 5)
    assert [owner(b, voters) for b in range(1, 7)] == [3, 5, 7, 3, 5, 7]
    assert next_ballot(0, 5, voters) == 2 and next_ballot(2, 5, voters) == 5
    assert next_ballot(4, 3, voters) == 7 and next_ballot(6, 7, voters) == 9
    for above in range(20):
        for me in voters:
            b = next_ballot(above, me, voters)
            assert b > above and owner(b, voters) == me and b - above <= 3


def test_a_leader_chooses_proposals_in_order_on_every_replica():
    c = Cluster([1, 2, 3])
    c.campaign(1)
    c.deliver_all()
    assert c.leaders() == [1] and c.node(1).ballot == 1
    c.propose(1, b"a", b"b")
    c.propose(2, b"c")  # forwarded by a follower
    assert c.stabilize() == 1
    assert [c.values(i) for i in (1, 2, 3)] == [[b"a", b"b", b"c"]] * 3
    assert c.chosen == {1: b"a", 2: b"b", 3: b"c"}
    hs = c.node(2).status().hard_state
    assert (hs.term, hs.vote, hs.commit) == (1, 1, 3)


def test_a_replica_with_no_leader_refuses_proposals_and_reads():
    c = Cluster([1, 2, 3])
    with pytest.raises(ProposalDropped):
        c.propose(2, b"x")
    with pytest.raises(NotLeader):
        c.node(2).read_index(b"r")


def test_a_bad_configuration_is_refused():
    with pytest.raises(ConfigError, match="one of the positive, distinct voters"):
        MultiPaxosNode(MultiPaxosConfig(id=4, voters=(1, 2, 3)))
    with pytest.raises(ConfigError, match="heartbeat_tick < election_tick"):
        MultiPaxosNode(MultiPaxosConfig(id=1, voters=(1,), election_tick=1))


def test_leader_change_recovers_a_value_accepted_by_a_minority():
    c = Cluster([1, 2, 3, 4, 5])
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"v")
    # only n2 receives the ACCEPT: v is accepted by {1, 2}, a minority, and not chosen
    c.drop_where(lambda m: m.type is MT.ACCEPT and m.to != 2)
    c.deliver_all()
    assert c.node(2).accepted(1) is not None and c.node(1).commit == 0
    c.crash(1)
    c.campaign(3)  # its quorum {3, 2, 4} includes the one acceptor of v
    assert c.stabilize() == 3
    assert c.node(3).ballot == next_ballot(1, 3, c.voters) == 3
    assert c.chosen == {1: b"v"}
    assert c.node(4).accepted(1).term == 3  # re-proposed at the new ballot


def test_a_gap_below_a_recovered_slot_is_filled_with_a_noop():
    c = Cluster([1, 2, 3])
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"x")
    c.drop_where(lambda m: m.type is MT.ACCEPT)  # slot 1 reaches nobody
    c.propose(1, b"y")
    c.drop_where(lambda m: m.type is MT.ACCEPT and m.to != 2)  # slot 2 reaches n2 only
    c.deliver_all()
    assert c.node(2).accepted(1) is None and c.node(2).accepted(2) is not None
    c.crash(1)
    c.campaign(2)
    assert c.stabilize() == 2
    assert c.chosen == {1: b"", 2: b"y"}  # slot 1 a no-op, slot 2 recovered
    assert [c.values(i) for i in (2, 3)] == [[b"y"], [b"y"]]


def test_an_old_leaders_accepts_are_refused_and_it_steps_down():
    c = Cluster([1, 2, 3])
    c.campaign(1)
    c.deliver_all()
    c.isolate(1)
    c.campaign(2)
    c.deliver_all()
    assert sorted(c.leaders()) == [1, 2]  # n1 does not know yet
    c.heal()
    c.propose(1, b"old")  # ACCEPT at ballot 1 to replicas that promised ballot 2
    c.propose(2, b"new")
    c.deliver_all()
    assert c.leaders() == [2] and c.node(1).role is Role.FOLLOWER
    assert c.node(1).promised == 2
    assert c.node(3).accepted(1).data == b"new"
    assert c.stabilize() == 2
    assert c.chosen == {1: b"new"}


def test_a_prepare_below_the_promise_is_rejected_and_deposes_its_candidate():
    c = Cluster([1, 2, 3])
    c.campaign(2)  # ballot 2 (n2 owns 2, 5, 8, ...); its PREPAREs stay in flight
    held = list(c.inflight)
    c.inflight.clear()
    c.campaign(1)  # ballot 1
    c.node(3).step(held[1])  # n3 promises 2 before n1's PREPARE(1) arrives
    c.pump(3)
    c.deliver(0)  # PREPARE(1) to n2, a candidate at ballot 2: rejected
    assert [m.type for m in c.inflight if m.frm == 2 and m.to == 1] == [MT.REJECT]
    c.deliver_all()
    assert c.leaders() == [2]  # n3's promise and its own: a majority for ballot 2
    n1 = c.node(1)
    assert n1.role is Role.FOLLOWER and n1.promised == 2  # deposed by REJECT(2)
    c.propose(2, b"x")
    assert c.stabilize() == 2 and c.chosen == {1: b"x"}


def test_an_accept_below_the_promise_is_rejected_without_being_written():
    c = Cluster([1, 2, 3])
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"old")
    held = [m for m in c.inflight if m.to == 3]
    c.inflight = [m for m in c.inflight if m.to != 3]
    c.deliver_all()
    c.isolate(1)
    c.campaign(3)  # ballot 3; n2 promises it
    c.deliver_all()
    c.heal()
    c.inflight.extend(held)  # ACCEPT(1) reaches n3 now, which leads at ballot 3
    c.deliver_all()
    assert c.node(3).accepted(1).term == 3  # recovered "old" at its own ballot, not 1's write
    assert c.node(1).role is Role.FOLLOWER and c.node(1).promised == 3
    assert c.stabilize() == 3 and c.chosen == {1: b"old"}


def test_restart_from_durable_state_keeps_every_chosen_value():
    c = Cluster([1, 2, 3], seed=3)
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"a", b"b")
    assert c.stabilize() == 1
    promised = {i: c.node(i).promised for i in c.voters}
    for i in c.voters:
        c.crash(i)
    for i in c.voters:
        node = c.start(i)
        assert node.promised == promised[i] and node.commit in (0, 2)
        assert [node.accepted(s).data for s in (1, 2)] == [b"a", b"b"]
    lead = c.stabilize()
    assert lead is not None
    c.propose(lead, b"c")
    assert c.stabilize() == lead
    assert [c.values(i) for i in c.voters] == [[b"a", b"b", b"c"]] * 3
    assert c.node(lead).ballot > max(promised.values())  # never a ballot used before


def test_a_lagging_replica_catches_up_on_slots_chosen_long_ago():
    c = Cluster([1, 2, 3], max_msg_entries=2)
    c.campaign(1)
    c.deliver_all()
    c.isolate(3)
    for k in range(5):
        c.propose(1, bytes([97 + k]))
        c.deliver_all()
    c.tick(1)
    c.deliver_all()
    assert len(c.applied[3]) == 0 and len(c.applied[2]) == 5
    c.heal()
    assert c.stabilize() == 1
    assert c.values(3) == [b"a", b"b", b"c", b"d", b"e"]


def test_read_index_needs_a_majority_of_acknowledgements():
    c = Cluster([1, 2, 3])
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"a")
    c.stabilize()
    c.isolate(1)
    c.node(1).read_index(b"r1")
    c.pump(1)
    c.deliver_all()
    assert c.read_states[1] == []  # no peer answered
    c.heal()
    c.node(1).read_index(b"r2")
    c.pump(1)
    c.deliver_all()
    assert [(r.index, r.context) for r in c.read_states[1]] == [(1, b"r2")]


def test_a_leader_without_a_majority_steps_down():
    c = Cluster([1, 2, 3], election_tick=4)
    c.campaign(1)
    c.deliver_all()
    c.isolate(1)
    c.tick(1, 8)
    assert c.node(1).role is Role.FOLLOWER


def _deliver_first(c: Cluster, pred) -> None:
    c.deliver(next(k for k, m in enumerate(c.inflight) if pred(m)))


def test_recovery_takes_the_value_of_the_highest_ballot_not_the_last_report():
    """y is chosen at ballot 3 (known only to its leader, which then crashes); x, accepted
    at ballot 1, is reported after y by the new leader's quorum: y must win."""
    c = Cluster([1, 2, 3, 4, 5])
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"x")
    c.drop_where(lambda m: m.type is MT.ACCEPT and m.to != 2)
    c.deliver_all()  # x accepted at ballot 1 by n1 and n2
    c.crash(1)
    c.isolate(2)
    c.campaign(3)  # ballot 3 with {3, 4, 5}: nobody reports slot 1
    c.deliver_all()
    c.propose(3, b"y")
    c.deliver_all()  # y accepted at ballot 3 by n3, n4, n5: chosen; n4 and n5 do not know it
    assert c.chosen == {1: b"y"} and c.node(4).commit == 0
    c.crash(3)
    c.heal()
    c.start(1)
    c.campaign(2)  # ballot 2 is below n4's and n5's promise: REJECT(3) deposes it
    c.deliver_all()
    assert c.node(2).promised == 3 and c.node(2).role is Role.FOLLOWER
    c.campaign(2)  # ballot 7
    assert c.node(2).ballot == 7
    c.drop_where(lambda m: m.type is MT.PREPARE and m.to == 5)
    _deliver_first(c, lambda m: m.type is MT.PREPARE and m.to == 4)
    _deliver_first(c, lambda m: m.type is MT.PROMISE and m.frm == 4)  # y@3 reported first
    _deliver_first(c, lambda m: m.type is MT.PREPARE and m.to == 1)
    _deliver_first(c, lambda m: m.type is MT.PROMISE and m.frm == 1)  # x@1 reported last
    assert c.leaders() == [2] and c.node(2).accepted(1).data == b"y"
    assert c.stabilize() == 2 and c.chosen == {1: b"y"}
    assert [c.values(i) for i in (1, 2, 4, 5)] == [[b"y"]] * 4
