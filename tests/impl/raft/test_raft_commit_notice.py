"""The commit index without a notice of its own (``RaftConfig.eager_commit=False``).

With ``eager_commit`` (etcd-raft's behaviour, the default) the leader sends every member
an AppendEntries as soon as its commit index moves; the member answers it.  Without, the
members learn it from the next AppendEntries, a heartbeat, or ``RawNode.send_commit``;
the member (``quorum serve``) runs so.  These tests pin the messages per write of one
closed-loop client, and that nothing waits for a commit index it was not told.
"""

from __future__ import annotations

from collections import Counter

import pytest

from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import Message, MessageType, ReadState

MT = MessageType


def _cluster(eager: bool) -> Network:
    net = Network([1, 2, 3], bootstrap=True, pre_vote=False, eager_commit=eager)
    net.campaign(1)
    net.stabilize()
    return net


def _closed_loop(net: Network, writes: int) -> Counter[tuple[int, MessageType]]:
    """One client: each write is proposed once the leader has applied the previous one
    (the member answers its client then), delivering one message at a time, in order,
    then what is still in flight; the messages sent by sender and type."""
    start = len(net.delivered)
    for k in range(writes):
        net.nodes[1].propose(b"w%d" % k)
        net.process_all()
        while net.commands(1)[-1:] != [b"w%d" % k]:
            assert net.deliver(limit=1) == 1, "the write was not committed"
    net.deliver()  # what is still in flight, without stabilize's send_commit
    sent = net.delivered[start:]
    return Counter((m.frm, m.type) for m in sent)


@pytest.mark.parametrize(("eager", "leader_sent", "follower_sent"), [
    (True, {MT.APPEND: 80}, {MT.APPEND_RESP: 40}),  # a notice per member, and its answer
    (False, {MT.APPEND: 40}, {MT.APPEND_RESP: 20}),
])
def test_messages_per_write_of_one_client(eager: bool, leader_sent: dict[MessageType, int],
                                          follower_sent: dict[MessageType, int]) -> None:
    """20 writes, one at a time: the leader sends 4 messages per write with the commit
    notice, 2 without (the next write's AppendEntries carries the commit index); each
    follower answers every AppendEntries, so 2 and 1 messages per write."""
    net = _cluster(eager)
    sent = _closed_loop(net, writes=20)
    assert {t: n for (f, t), n in sent.items() if f == 1} == leader_sent
    for f in (2, 3):
        assert {t: n for (g, t), n in sent.items() if g == f} == follower_sent
    net.stabilize()  # send_commit once nothing is in flight: everyone applies everything
    assert all(net.commands(i)[-20:] == [b"w%d" % k for k in range(20)] for i in (1, 2, 3))


def test_a_follower_learns_the_commit_index_from_the_next_heartbeat() -> None:
    """Idle after a write: the members lag by that write until the next heartbeat (every
    tick here) carries the commit index; nothing else is sent for it."""
    net = _cluster(eager=False)
    _closed_loop(net, writes=1)
    leader = net.nodes[1].raft
    assert leader.log.committed == net.sms[1].applied_index
    assert [net.nodes[i].raft.log.committed for i in (2, 3)] == [leader.log.committed - 1] * 2
    assert net.nodes[1].commit_lagging()
    before = len(net.delivered)
    net.nodes[1].tick()
    net.deliver()
    assert {(m.frm, m.type) for m in net.delivered[before:]} == {
        (1, MT.HEARTBEAT), (2, MT.HEARTBEAT_RESP), (3, MT.HEARTBEAT_RESP)}
    assert [net.sms[i].applied_index for i in (2, 3)] == [leader.log.committed] * 2
    assert not net.nodes[1].commit_lagging()


def test_send_commit_tells_only_the_members_that_lag() -> None:
    net = _cluster(eager=False)
    _closed_loop(net, writes=1)
    net.nodes[1].send_commit()
    rd = net.nodes[1].ready()
    committed = net.nodes[1].raft.log.committed
    assert sorted((m.to, m.type, m.commit, len(m.entries)) for m in rd.messages) == [
        (2, MT.APPEND, committed, 0), (3, MT.APPEND, committed, 0)]
    net.nodes[1].advance(rd)
    assert not net.nodes[1].commit_lagging()
    net.nodes[1].send_commit()
    assert not net.nodes[1].has_ready()


def _step_first(net: Network, frm: int, type: MessageType, to: int = 0) -> Message:
    """Deliver the first queued message of ``type`` from ``frm`` (to ``to``, if given),
    ahead of the others."""
    k = next(k for k, m in enumerate(net.queue)
             if (m.frm, m.type) == (frm, type) and to in (0, m.to))
    m = net.queue.pop(k)
    net.nodes[m.to].step(m)
    net.delivered.append(m)
    net.process(m.to)
    return m


def test_a_forwarded_read_is_answered_after_the_commit_index_it_needs() -> None:
    """Follower 3's acknowledgement of a write reaches the leader after its heartbeat for
    3's read left (that heartbeat could only say 3's older match) and before 3's answer
    to it: the leader sends 3 the commit index ahead of the read index, so 3 serves the
    read at once rather than a heartbeat later."""
    net = _cluster(eager=False)
    net.nodes[1].propose(b"w")
    net.process_all()
    _step_first(net, 1, MT.APPEND)  # to 2
    _step_first(net, 1, MT.APPEND)  # to 3
    _step_first(net, 2, MT.APPEND_RESP)  # committed on 1 and 2
    index = net.nodes[1].raft.log.committed
    assert net.nodes[3].raft.log.committed < index
    net.nodes[3].read_index(b"r")
    net.process(3)
    _step_first(net, 3, MT.READ_INDEX)
    hb = _step_first(net, 1, MT.HEARTBEAT, to=3)
    assert hb.commit < index  # the heartbeat knew only 3's older match
    _step_first(net, 3, MT.APPEND_RESP)  # now the leader knows 3 holds the write
    _step_first(net, 3, MT.HEARTBEAT_RESP)  # a quorum confirmed the read
    told = [m for m in net.queue if m.frm == 1 and m.to == 3]
    assert [(m.type, m.commit) for m in told][-2:] == [(MT.APPEND, index), (MT.READ_INDEX_RESP, 0)]
    _step_first(net, 1, MT.APPEND)
    _step_first(net, 1, MT.READ_INDEX_RESP)
    assert net.read_states[3] == [ReadState(index=index, context=b"r")]
    assert net.sms[3].applied_index >= index
