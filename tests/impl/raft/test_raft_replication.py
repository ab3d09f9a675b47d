"""Log replication scenarios (Raft paper, sections 5.3 and 5.4; Figures 7 and 8)."""

from __future__ import annotations

import pytest

from quorum.impl.mutants import Mutant
from quorum.impl.raft.errors import ProposalDropped
from quorum.impl.raft.progress import ProgressState
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import Message, MessageType

FIGURE_7_LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIGURE_7_FOLLOWERS = {
    2: [1, 1, 1, 4, 4, 5, 5, 6, 6],  # (a) missing an entry
    3: [1, 1, 1, 4],  # (b) missing many
    4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],  # (c) an extra uncommitted entry
    5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],  # (d) extra entries of a later term
    6: [1, 1, 1, 4, 4, 4, 4],  # (e) missing entries and extra ones of term 4
    7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],  # (f) a leader of terms 2 and 3 that failed
}


def _appends(net: Network, frm: int, to: int) -> list[Message]:
    return [m for m in net.delivered
            if m.type is MessageType.APPEND and (m.frm, m.to) == (frm, to)]


def test_figure_7_leader_repairs_every_divergent_follower() -> None:
    """5.3, Figure 7: the term-8 leader finds where each follower's log matches its own,
    deletes the conflicting suffix and appends its entries; all logs end up equal."""
    net = Network.with_logs({1: FIGURE_7_LEADER, **FIGURE_7_FOLLOWERS}, term=7, pre_vote=False)
    net.campaign(1)  # (a), (b), (e), (f) vote for it: 5 of 7
    assert net.leaders() == [1] and net.nodes[1].raft.term == 8
    net.tick(n=2)  # heartbeats resume probes that waited for an answer
    want = [(k + 1, t) for k, t in enumerate(FIGURE_7_LEADER)] + [(11, 8)]
    for i in range(1, 8):
        assert net.log(i) == want, f"follower {i}"
    assert all(net.nodes[i].raft.log.committed == 11 for i in range(1, 8))
    # Fast backtracking: one rejection per divergent term, not one per entry.
    rejections = {i: sum(1 for m in net.delivered if m.type is MessageType.APPEND_RESP
                         and m.frm == i and m.reject) for i in range(2, 8)}
    assert rejections == {2: 1, 3: 1, 4: 0, 5: 0, 6: 1, 7: 1}


def test_no_truncate_mutant_keeps_a_divergent_suffix() -> None:
    """The "no-truncate" mutant skips receiver rule 3 (delete conflicting entries): the
    follower reports success, the logs disagree, Log Matching is broken."""
    net = Network.with_logs({1: FIGURE_7_LEADER, 2: FIGURE_7_LEADER[:6], 3: [1, 1, 1, 2, 2, 2, 3, 3]},
                            term=7, pre_vote=False, mutants=frozenset({Mutant.NO_TRUNCATE}))
    net.campaign(1)
    net.tick(n=2)
    assert net.log(3)[:8] == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 3), (8, 3)]
    assert net.log(1)[:8] != net.log(3)[:8]
    assert net.nodes[1].status().progress[3].match == 11  # the leader believes it matches


def test_figure_8_an_old_term_entry_is_not_committed_by_counting() -> None:
    """5.4.2, Figure 8: leader S1 of term 4 replicates its term-2 entry to a majority;
    counting replicas must not commit it, because S5 (last term 3) can still be elected
    and overwrite it.  Only entries of the leader's own term are committed by counting."""
    committed, applied = _figure_8(mutant=False)
    assert committed == 0  # index 2 is on S1, S2, S3, yet not committed
    assert applied == {i: [b"1@1", b"2@3"] for i in (2, 3, 4, 5)} | {1: []}


def test_figure_8_commit_old_term_mutant_loses_a_committed_entry() -> None:
    """The "commit-old-term" mutant commits S1's term-2 entry by counting; S5 then
    overwrites it: two servers applied different commands at index 2."""
    committed, applied = _figure_8(mutant=True)
    assert committed == 2
    assert applied[1] == [b"1@1", b"2@2"]
    assert applied[2] == [b"1@1", b"2@3"]  # State Machine Safety violated at index 2


def _figure_8(mutant: bool) -> tuple[int, dict[int, list[bytes]]]:
    """Figure 8 (c)-(d): S1 leads term 4; S3 acknowledges only index 2; then S5 wins."""
    logs = {1: [1, 2], 2: [1, 2], 3: [1], 4: [1], 5: [1, 3]}
    net = Network.with_logs(logs, term=3, pre_vote=False, check_quorum=False, max_msg_entries=1,
                            mutants=frozenset({Mutant.COMMIT_OLD_TERM} if mutant else ()))
    net.isolate(5)
    to_s3: list[Message] = []

    def drop(m: Message) -> bool:
        """S4 gets nothing; S3 gets the first probe (it rejects) and index 2 only; a
        commit of index 2 (the mutant's) reaches nobody before S1 is cut off."""
        if m.frm == 1 and m.commit >= 2:
            return True
        if m.type is not MessageType.APPEND or m.to not in (3, 4):
            return False
        to_s3.append(m)
        return m.to == 4 or (len(to_s3) > 1 and any(e.index >= 3 for e in m.entries))

    net.drop = drop
    net.campaign(1)
    assert net.leaders() == [1] and net.nodes[1].raft.term == 4
    net.tick([1], n=1)
    assert [len(net.log(i)) for i in (1, 2, 3)] == [3, 3, 2]
    committed = net.nodes[1].raft.log.committed
    net.heal()
    net.isolate(1)
    net.campaign(5)  # term 4: refused, they voted for S1 in term 4
    net.campaign(5)  # term 5: S2, S3, S4 vote for S5, its last term 3 beats their 2 or 1
    assert net.leaders() == [1, 5] and net.nodes[5].raft.term == 5
    net.propose(5, b"")
    return committed, {i: [c for c in net.commands(i)] for i in (1, 2, 3, 4, 5)}


def test_batching_limits_entries_and_bytes_per_message() -> None:
    """Batching: an AppendEntries carries at most max_msg_entries entries and about
    max_msg_bytes of payload (at least one entry)."""
    net = Network([1, 2, 3], max_msg_entries=3, max_msg_bytes=250, max_inflight_msgs=1)
    net.campaign(1)
    for k in range(7):
        net.nodes[1].propose(bytes([k]) * 100)
    net.stabilize()
    sizes = [(len(m.entries), sum(len(e.data) for e in m.entries))
             for m in _appends(net, 1, 2) if m.entries]
    assert max(n for n, _ in sizes) == 2  # 3 entries of 100 bytes exceed 250
    assert all(b <= 250 for _, b in sizes)
    assert net.commands(2) == [bytes([k]) * 100 for k in range(7)]

    net = Network([1, 2], max_msg_entries=3, max_inflight_msgs=1)
    net.campaign(1)
    for _ in range(7):
        net.nodes[1].propose(b"x")
    net.stabilize()
    assert max(len(m.entries) for m in _appends(net, 1, 2)) == 3


def test_proposals_between_two_readies_leave_in_one_message() -> None:
    """Batching across proposals: replication is flushed at ready(), so what the
    leader accepted in between goes out as one AppendEntries per follower."""
    net = Network([1, 2, 3])
    net.campaign(1)
    for k in range(5):
        net.nodes[1].propose(b"b%d" % k)
    net.process(1)
    appends = [m for m in net.queue if m.type is MessageType.APPEND]
    assert [(m.to, len(m.entries)) for m in appends] == [(2, 5), (3, 5)]


def test_pipelining_sends_ahead_without_waiting_for_acks() -> None:
    """Replicate state: the leader advances next on send and keeps several
    AppendEntries in flight to an in-sync follower."""
    net = Network([1, 2, 3])
    net.campaign(1)
    pr = net.nodes[1].raft.tracker.progress[2]
    assert pr.state is ProgressState.REPLICATE
    for k in range(3):
        net.nodes[1].propose(b"p%d" % k)
        net.process(1)  # a Ready per proposal: each one is sent at once
    in_flight = [m for m in net.queue if m.type is MessageType.APPEND and m.to == 2]
    assert [[e.index for e in m.entries] for m in in_flight] == [[2], [3], [4]]
    assert pr.next == 5 and pr.match == 1 and len(pr.inflights) == 3


def test_flow_control_caps_the_inflight_window() -> None:
    """The inflight window (max_inflight_msgs) pauses sending to a slow follower; acks
    reopen it and the rest flows."""
    net = Network([1, 2, 3], max_inflight_msgs=2)
    net.campaign(1)
    for k in range(5):
        net.nodes[1].propose(b"w%d" % k)
        net.process(1)
    to_2 = [m for m in net.queue if m.type is MessageType.APPEND and m.to == 2]
    assert [len(m.entries) for m in to_2] == [1, 1]
    assert net.nodes[1].raft.tracker.progress[2].is_paused()
    net.stabilize()
    assert net.commands(2) == [b"w%d" % k for k in range(5)]


def test_a_leader_counts_itself_only_after_persisting() -> None:
    """The commit index counts the leader's own copy only once the driver persisted it
    (Ready order: persist, then advance), so an ack is never ahead of durability."""
    net = Network([1])
    net.campaign(1)
    node = net.nodes[1]
    node.propose(b"d")
    rd = node.ready()
    assert [e.data for e in rd.entries] == [b"d"] and rd.committed_entries == ()
    assert node.raft.log.committed == 1
    net.storages[1].append(rd.entries)
    node.advance(rd)
    assert node.raft.log.committed == 2
    assert [e.data for e in node.ready().committed_entries] == [b"d"]


def test_stale_append_is_refused_and_answered_with_the_current_term() -> None:
    """Figure 2, AppendEntries rule 1: reply false if term < currentTerm."""
    net = Network([1, 2, 3], check_quorum=False)
    net.campaign(1)
    net.campaign(2)  # term 2
    stale = Message(MessageType.APPEND, to=3, frm=1, term=1, index=2, log_term=2,
                    entries=(), commit=0)
    before = net.log(3)
    net.nodes[3].step(stale)
    (reply,) = net.nodes[3].ready().messages
    assert (reply.type, reply.term, reply.to) == (MessageType.APPEND_RESP, 2, 1)
    assert net.log(3) == before


def test_stale_append_mutant_lets_a_deposed_leader_commit() -> None:
    """The "stale-append" mutant accepts it: deposed leader 1 (term 1) gets follower 3 to
    store its entry and acknowledge, counts a majority and applies a command that the
    real leader of term 2 then overwrites: State Machine Safety is violated."""
    applied = _deposed_leader_writes(mutants=frozenset({Mutant.STALE_APPEND}))
    assert applied[1] == [b"old"]
    assert applied[2] == applied[3] == [b"new"]


def test_without_the_mutant_the_deposed_leaders_write_is_lost_not_applied() -> None:
    applied = _deposed_leader_writes(mutants=frozenset())
    assert applied == {1: [], 2: [b"new"], 3: [b"new"]}


def _deposed_leader_writes(mutants: frozenset[Mutant]) -> dict[int, list[bytes]]:
    net = Network([1, 2, 3], mutants=mutants, check_quorum=False)
    net.campaign(1)
    net.isolate(1)
    net.drop = lambda m: (m.frm, m.to, m.type) == (2, 3, MessageType.APPEND)
    net.campaign(2)  # 3 votes (term 2) but has not got 2's entries yet
    assert net.leaders() == [1, 2] and net.log(3) == [(1, 1)]
    net.cut_links -= {(1, 3), (3, 1)}
    net.drop = lambda m: m.frm == 1 and m.commit >= 2  # 3 never learns 1's commit
    net.propose(1, b"old")
    net.heal()
    net.isolate(1)
    net.propose(2, b"new")
    net.tick(n=2)
    return {i: list(net.commands(i)) for i in (1, 2, 3)}


def test_an_acknowledgement_beyond_the_leaders_log_is_ignored() -> None:
    """A peer's message never crashes the node: an impossible match index is dropped."""
    net = Network([1, 2, 3])
    net.campaign(1)
    bogus = Message(MessageType.APPEND_RESP, to=1, frm=2, term=1, index=99)
    net.nodes[1].step(bogus)
    assert net.nodes[1].status().progress[2].match == 1


def test_a_batch_of_proposals_is_one_append_one_message_and_one_ready() -> None:
    """``propose_batch``: the leader stamps the batch as consecutive entries of its term in
    one Ready (one write, one fsync for the driver) and sends each follower one
    AppendEntries carrying all of it (5.3); a follower forwards a batch as one PROPOSE;
    with no leader nothing is taken."""
    net = Network([1, 2, 3], bootstrap=True, pre_vote=False)
    net.campaign(1)
    net.stabilize()
    leader, last = net.nodes[1], net.nodes[1].status().last_index
    sent = len(net.delivered)
    leader.propose_batch([b"a", b"b", b"c"])
    rd = leader.ready()
    assert [(e.index, e.term, e.data) for e in rd.entries] == [
        (last + 1, 2, b"a"), (last + 2, 2, b"b"), (last + 3, 2, b"c")]
    assert rd.must_sync
    appends = [m for m in rd.messages if m.type is MessageType.APPEND]
    assert sorted(m.to for m in appends) == [2, 3]
    assert all([e.data for e in m.entries] == [b"a", b"b", b"c"] for m in appends)
    net.queue.extend(rd.messages)
    net.storages[1].append(rd.entries)
    leader.advance(rd)
    net.nodes[2].propose_batch([b"d", b"e"])
    net.stabilize()
    forwarded = [m for m in net.delivered[sent:] if m.type is MessageType.PROPOSE]
    assert [(m.frm, m.to, [e.data for e in m.entries]) for m in forwarded] == [
        (2, 1, [b"d", b"e"])]
    for i in (1, 2, 3):
        assert net.commands(i)[-5:] == [b"a", b"b", b"c", b"d", b"e"]
    net.isolate(3)
    net.tick([3], n=30)  # 3 campaigns alone: a candidate knows no leader
    before = net.nodes[3].status().last_index
    with pytest.raises(ProposalDropped):
        net.nodes[3].propose_batch([b"x", b"y"])
    assert net.nodes[3].status().last_index == before
