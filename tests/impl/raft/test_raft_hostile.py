"""A peer's message never crashes the node (STYLE.md: errors say who is at fault).

Hypothesis builds arbitrary messages that the codec accepts — any type, term, index,
entries, commit, snapshot — and steps them into nodes in each role; the node must neither
raise nor break its own invariants (applied <= committed <= last index), and the driver
loop must keep working.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.impl.raft import codec
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import (
    ConfState,
    Entry,
    Message,
    MessageType,
    Role,
    Snapshot,
    SnapshotMeta,
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    typ = draw(st.sampled_from(list(MessageType)))
    term = draw(st.integers(0, 6))
    index = draw(st.integers(0, 12))
    log_term = draw(st.integers(0, term))
    entries: tuple[Entry, ...] = ()
    if typ in (MessageType.APPEND, MessageType.PROPOSE):
        terms = sorted(draw(st.lists(st.integers(log_term, max(term, log_term)), max_size=4)))
        base = index + 1 if typ is MessageType.APPEND else 0
        entries = tuple(Entry(term=t, index=base + k if base else 0, data=b"h")
                        for k, t in enumerate(terms))
    snap = None
    if typ is MessageType.SNAPSHOT:
        voters = tuple(sorted(draw(st.sets(st.integers(1, 4), max_size=4))))
        meta = SnapshotMeta(index=draw(st.integers(1, 15)), term=draw(st.integers(0, term)),
                            conf_state=ConfState(voters=voters))
        snap = Snapshot(meta=meta, data=b"")
    m = Message(type=typ, to=1, frm=draw(st.integers(2, 4)), term=term, log_term=log_term,
                index=index, entries=entries, commit=draw(st.integers(0, 15)),
                reject=draw(st.booleans()), reject_hint=draw(st.integers(0, 12)),
                snapshot=snap, context=draw(st.sampled_from([b"", b"r1", b"transfer"])))
    return codec.decode_message(codec.encode_message(m))  # exactly what the codec admits


def _cluster(role: Role) -> Network:
    """Node 1 as the leader, a follower, or a candidate cut off from the others."""
    net = Network([1, 2, 3], check_quorum=False, pre_vote=False)
    leader = 1 if role is Role.LEADER else 2
    net.campaign(leader)
    for k in range(3):
        net.propose(leader, b"%d" % k)
    if role is Role.CANDIDATE:
        net.isolate(1)
        net.nodes[1].campaign()
        net.process_all()
    assert net.role(1) is role
    return net


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([Role.FOLLOWER, Role.CANDIDATE, Role.LEADER]),
       st.lists(messages(), min_size=1, max_size=8))
def test_hostile_messages_never_raise(role: Role, msgs: list[Message]) -> None:
    net = _cluster(role)
    node = net.nodes[1]
    for m in msgs:
        node.step(m)
        net.process(1)
        r = node.raft
        assert r.log.applied <= r.log.committed <= r.log.last_index()
    net.queue.clear()
    node.tick()
    net.process_all()
