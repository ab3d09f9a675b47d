"""Leader stickiness (``MultiPaxosConfig.pre_prepare``, the Multi-Paxos form of Raft's
pre-vote with the check-quorum lease, Ongaro's thesis 9.6): a replica that was cut off or
restarted asks before it raises its ballot, and a replica that hears a live leader says
no, so the leader stays."""

from __future__ import annotations

from quorum.impl.multipaxos.testing import Cluster
from quorum.impl.multipaxos.types import Message
from quorum.impl.multipaxos.types import MessageType as MT
from quorum.impl.raft.types import Role


def _cluster_with_leader_1(**cfg: int) -> Cluster:
    c = Cluster([1, 2, 3], **cfg)
    c.campaign(1)
    c.deliver_all()
    c.propose(1, b"a")
    assert c.stabilize() == 1 and c.node(1).ballot == 1
    return c


def _partition_3_then_rejoin(c: Cluster, rounds: int = 60) -> None:
    """n3 is cut off for ``rounds`` ticks of everyone (n1 and n2 keep working), then the
    link heals just as n3's timeout fires, and n3's message goes first."""
    c.isolate(3)
    for _ in range(rounds):
        for i in (1, 2, 3):
            c.tick(i)
        c.deliver_all()  # what n3 sends or is sent is lost on the cut links
    c.heal()
    n3 = c.node(3)
    for _ in range(4 * c.node(3).cfg.election_tick):  # until its timeout fires again
        if any(m.frm == 3 for m in c.inflight):
            break
        c.node(3).tick()
        c.pump(3)
    assert n3.role in (Role.PRE_CANDIDATE, Role.CANDIDATE)
    first = sorted(c.inflight, key=lambda m: m.frm != 3)  # n3 speaks first on the healed links
    c.inflight = first
    c.deliver_all()


def test_a_member_rejoining_after_a_partition_does_not_depose_the_leader():
    c = _cluster_with_leader_1()
    _partition_3_then_rejoin(c)
    n3 = c.node(3)
    assert n3.promised == 1  # it never raised its promise while cut off
    assert c.stabilize() == 1
    assert c.node(1).ballot == 1 and c.node(2).promised == 1  # the same leader, same ballot
    c.propose(1, b"b")
    assert c.stabilize() == 1 and c.values(3) == [b"a", b"b"]


def test_without_stickiness_the_rejoining_member_deposes_the_leader():
    """The same run with ``pre_prepare`` off: the cut-off member's phase 1 went to ever
    higher ballots, and its first message after the heal takes the leadership."""
    c = _cluster_with_leader_1(pre_prepare=False)
    _partition_3_then_rejoin(c)
    assert c.node(3).promised > 3
    lead = c.stabilize()
    assert lead is not None and c.node(lead).ballot > 1 and c.node(1).ballot != 1


def test_a_peer_in_a_lease_stays_silent_and_a_lower_ballot_is_told_the_promise():
    c = _cluster_with_leader_1()
    c.node(2).step(Message(MT.PRE_PREPARE, to=2, frm=3, ballot=3))
    assert c.node(2).msgs == []  # it heard n1 within an election timeout: no answer
    c.node(2).step(Message(MT.PRE_PREPARE, to=2, frm=3, ballot=1))
    rd = c.node(2).ready()
    assert [(m.type, m.ballot) for m in rd.messages] == [(MT.REJECT, 1)]
    c.node(2).advance(rd)
    assert c.node(2).promised == 1  # a PRE_PREPARE changes no promise


def test_a_dead_leader_is_still_replaced():
    c = _cluster_with_leader_1()
    c.crash(1)
    lead = c.stabilize(rounds=100)
    assert lead in (2, 3) and c.node(lead).ballot > 1
    c.propose(lead, b"b")
    assert c.stabilize() == lead and c.values(2) == c.values(3) == [b"a", b"b"]


def test_a_restarted_member_rejoins_as_a_follower():
    c = _cluster_with_leader_1()
    c.crash(3)
    for _ in range(30):
        c.tick(1)
        c.tick(2)
        c.deliver_all()
    c.start(3)
    for _ in range(60):
        for i in (1, 2, 3):
            c.tick(i)
        c.deliver_all()
    assert c.leaders() == [1] and c.node(1).ballot == 1 and c.node(3).leader == 1
