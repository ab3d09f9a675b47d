"""Leader election scenarios (Raft paper, section 5.2; Ongaro's thesis, 6.2 and 9.6)."""

from __future__ import annotations

from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import MessageType, Role


def _term(net: Network, i: int) -> int:
    return net.nodes[i].raft.term


def test_a_follower_times_out_and_wins_an_election() -> None:
    """5.2: with no leader, the first randomized timeout starts an election that wins."""
    net = Network([1, 2, 3], seed=7)
    timeouts = {i: net.nodes[i].raft.randomized_election_timeout for i in (1, 2, 3)}
    assert all(10 <= t < 20 for t in timeouts.values())
    first = min(timeouts, key=lambda i: (timeouts[i], i))
    net.tick(n=min(timeouts.values()))
    assert net.leaders() == [first]
    assert {_term(net, i) for i in (1, 2, 3)} == {1}
    assert net.nodes[2].status().soft_state.leader == first


def test_election_timeouts_are_deterministic_per_seed() -> None:
    """No hidden randomness: the same seed and id draw the same timeouts."""
    def draws(seed: int) -> list[int]:
        net = Network([1, 2, 3], seed=seed)
        out = []
        for _ in range(5):
            net.nodes[1].raft.become_follower(net.nodes[1].raft.term + 1, 0)
            out.append(net.nodes[1].raft.randomized_election_timeout)
        return out

    assert draws(3) == draws(3)
    assert len({tuple(draws(s)) for s in range(6)}) > 1


def test_split_vote_is_resolved_by_randomized_timeouts() -> None:
    """5.2: two candidates split the votes of four servers; nobody wins term 1, and the
    randomized timeouts let exactly one win a later term."""
    net = Network([1, 2, 3, 4], pre_vote=False, seed=1)
    net.drop = lambda m: (m.frm, m.to) in {(1, 4), (2, 3)} and m.type is MessageType.VOTE
    net.nodes[1].campaign()
    net.nodes[2].campaign()
    net.stabilize()
    assert net.leaders() == []
    assert net.nodes[1].raft.tracker.votes == {1: True, 3: True, 2: False}
    assert net.nodes[2].raft.tracker.votes == {2: True, 4: True, 1: False}
    net.drop = None
    for _ in range(60):
        net.tick()
        if net.leaders():
            break
    (leader,) = net.leaders()
    assert _term(net, leader) >= 2
    assert all(_term(net, i) == _term(net, leader) for i in (1, 2, 3, 4))


def test_one_vote_per_term() -> None:
    """5.2: each server votes for at most one candidate in a term (first come)."""
    net = Network([1, 2, 3], pre_vote=False)
    net.nodes[1].campaign()
    net.nodes[2].campaign()
    net.deliver()  # 3 sees 1's request first
    assert net.nodes[3].raft.vote == 1
    assert net.leaders() == [1]
    assert net.role(2) is Role.FOLLOWER


def test_a_candidate_with_a_stale_log_cannot_win() -> None:
    """5.4.1: voters refuse a candidate whose log is less up to date than theirs."""
    net = Network.with_logs({1: [1], 2: [1, 2], 3: [1, 2]}, term=2, pre_vote=False)
    net.campaign(1)
    assert net.leaders() == []
    answers = {(m.frm, m.reject) for m in net.delivered if m.type is MessageType.VOTE_RESP}
    assert answers == {(2, True), (3, True)}
    assert net.role(1) is Role.FOLLOWER and _term(net, 1) == 3
    net.campaign(2)
    assert net.leaders() == [2]


def test_pre_vote_keeps_a_partitioned_node_from_disrupting_the_cluster() -> None:
    """Thesis 9.6: an isolated node's pre-votes fail, so its term does not grow, and
    on rejoining it neither deposes the leader nor bumps the term."""
    net = Network([1, 2, 3], seed=2)
    net.campaign(1)
    net.isolate(3)
    net.tick(n=100)
    assert _term(net, 3) == 1
    assert net.role(3) is Role.PRE_CANDIDATE
    net.heal()
    net.tick(n=3)
    assert net.leaders() == [1]
    assert [_term(net, i) for i in (1, 2, 3)] == [1, 1, 1]
    assert net.role(3) is Role.FOLLOWER


def test_without_pre_vote_a_returning_node_deposes_the_leader() -> None:
    """The contrast: without pre-vote the isolated node's term grows each timeout and its
    return forces the leader out (the disruption thesis 9.6 removes)."""
    net = Network([1, 2, 3], pre_vote=False, check_quorum=False, seed=2)
    net.campaign(1)
    net.isolate(3)
    net.tick(n=100)
    assert _term(net, 3) > 3
    isolated_term = _term(net, 3)
    net.heal()
    net.tick(n=30)
    assert _term(net, 1) > isolated_term
    assert _term(net, 1) == _term(net, 2) == _term(net, 3)


def test_check_quorum_makes_an_isolated_leader_step_down() -> None:
    """Thesis 6.2: a leader that hears from no majority for an election timeout steps
    down (so it stops serving stale reads); the majority elects a new leader."""
    net = Network([1, 2, 3], seed=4)
    net.campaign(1)
    net.isolate(1)
    net.tick([1], n=10)  # the first check still counts the answers to its election
    assert net.role(1) is Role.LEADER
    net.tick([1], n=10)
    assert net.role(1) is Role.FOLLOWER
    net.tick([2, 3], n=40)
    assert len([i for i in (2, 3) if net.role(i) is Role.LEADER]) == 1
    assert _term(net, 1) == 1  # the deposed leader's own term did not move


def test_without_check_quorum_an_isolated_leader_stays_leader() -> None:
    net = Network([1, 2, 3], check_quorum=False)
    net.campaign(1)
    net.isolate(1)
    net.tick([1], n=50)
    assert net.role(1) is Role.LEADER


def test_leader_lease_ignores_vote_requests_of_higher_terms() -> None:
    """Thesis 6.2/4.2.3: with check-quorum, a follower that heard from its leader within
    the election timeout ignores a higher-term vote request (no reply, no term change)."""
    net = Network([1, 2, 3], pre_vote=False)
    net.campaign(1)
    net.cut(1, 3)
    net.nodes[3].campaign()  # term 2, but 2 still hears from 1
    net.stabilize()
    assert _term(net, 2) == 1
    assert net.leaders() == [1]
    assert net.role(3) is Role.CANDIDATE


def test_a_stale_leader_learns_the_new_term_from_a_reply() -> None:
    """5.1: a deposed leader's AppendEntries is answered with the newer term, which
    turns it into a follower."""
    net = Network([1, 2, 3], check_quorum=False)
    net.campaign(1)
    net.isolate(1)
    net.campaign(2)
    assert _term(net, 2) == 2 and net.role(1) is Role.LEADER
    net.heal()
    net.propose(1, b"lost")  # the old leader appends and sends in term 1
    assert net.role(1) is Role.FOLLOWER and _term(net, 1) == 2
    net.propose(2, b"kept")
    net.tick(n=1)  # 2's first probe of 1 was lost: the heartbeat's answer resumes it
    assert all(net.commands(i) == [b"kept"] for i in (1, 2, 3))
