"""The Multi-Paxos codec: round trips, and a peer's garbage is a CodecError, never a crash."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.impl.multipaxos import MultiPaxosConfig, MultiPaxosNode
from quorum.impl.multipaxos.codec import decode_message, encode_message, message_to_wire
from quorum.impl.multipaxos.types import Message
from quorum.impl.multipaxos.types import MessageType as MT
from quorum.impl.raft.codec import conf_change_to_bytes
from quorum.impl.raft.errors import CodecError
from quorum.impl.raft.types import ConfChange, ConfChangeType, Entry

GOOD = [
    Message(MT.PREPARE, 2, 1, ballot=4, slot=3),
    Message(MT.PROMISE, 1, 2, ballot=4, slot=3, commit=2,
            entries=(Entry(1, 3, data=b"a"), Entry(4, 5, data=b""))),
    Message(MT.ACCEPT, 2, 1, ballot=4, commit=3,
            entries=(Entry(4, 6, data=b"x"), Entry(4, 7, data=b"y"))),
    Message(MT.ACCEPT, 2, 1, ballot=4, commit=3, context=b"read"),
    Message(MT.ACCEPTED, 1, 2, ballot=4, slot=6, last=7, commit=5, context=b"read"),
    Message(MT.REJECT, 1, 2, ballot=9),
    Message(MT.PROPOSE, 1, 2, entries=(Entry(0, 0, data=b"cmd"),)),
]


@pytest.mark.parametrize("m", GOOD, ids=lambda m: m.type.name)
def test_round_trip(m):
    assert decode_message(encode_message(m)) == m


def _w(m: Message, **kw) -> bytes:
    wire = message_to_wire(m)
    names = ["type", "to", "frm", "ballot", "slot", "last", "entries", "commit", "context"]
    for k, v in kw.items():
        wire[names.index(k)] = v
    return msgpack.packb(wire, use_bin_type=True)


CC = conf_change_to_bytes(ConfChange(ConfChangeType.ADD_NODE, 2))
BAD = [
    (b"\xc1", "undecodable msgpack"),
    (msgpack.packb([1, 2]), "9 fields"),
    (_w(GOOD[0], type=42), "unknown value 42"),
    (_w(GOOD[0], to=0), "positive node ids"),
    (_w(GOOD[0], ballot=-1), "ballot"),
    (_w(GOOD[0], ballot=0), "ballot must be positive"),
    (_w(GOOD[0], slot=0), "first slot asked about"),
    (_w(GOOD[0], entries=[[1, 3, 0, b"a"]]), "PREPARE carries no entries"),
    (_w(GOOD[2], entries=[[4, 6, 0, b"x"], [4, 8, 0, b"y"]]), "consecutive"),
    (_w(GOOD[2], entries=[[3, 6, 0, b"x"]]), "at the message's ballot"),
    (_w(GOOD[2], entries=[[4, 6, 1, CC]]), "commands only"),
    (_w(GOOD[1], entries=[[5, 3, 0, b"a"]]), "below the promise"),
    (_w(GOOD[1], entries=[[1, 4, 0, b"a"], [1, 4, 0, b"b"]]), "must increase"),
    (_w(GOOD[1], entries=[[1, 2, 0, b"a"]]), "must increase"),
    (_w(GOOD[4], slot=8), "first <= last"),
    (_w(GOOD[4], slot=0), "0..0"),
    (_w(GOOD[6], entries=[]), "at least one value"),
    (_w(GOOD[3], context="text"), "context"),
    ("not bytes", "expected bytes"),
]


@pytest.mark.parametrize(("data", "why"), BAD, ids=[w for _, w in BAD])
def test_malformed_input_is_a_clear_codec_error(data, why):
    with pytest.raises(CodecError, match=why):
        decode_message(data)


_leaf = st.one_of(st.integers(-3, 2**64 - 1), st.binary(max_size=4), st.booleans(), st.none(),
                  st.text(max_size=2))
_tree = st.recursive(_leaf, lambda c: st.lists(c, max_size=10), max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), _tree.map(lambda t: msgpack.packb(t))))
def test_garbage_raises_only_codec_error_and_what_decodes_never_crashes_a_node(data):
    try:
        m = decode_message(data)
    except CodecError:
        return
    node = MultiPaxosNode(MultiPaxosConfig(id=m.to if m.to in (1, 2, 3) else 1, voters=(1, 2, 3)))
    node.step(m)
    while node.has_ready():
        node.advance(node.ready())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(GOOD), st.integers(0, 8), st.integers(0, 7))
def test_flipped_fields_of_real_messages_never_crash_a_replica(m, field, value):
    names = ["type", "to", "frm", "ballot", "slot", "last", "entries", "commit", "context"]
    wire = message_to_wire(m)
    if names[field] not in ("entries", "context"):
        wire[field] = value
    try:
        m2 = decode_message(msgpack.packb(wire, use_bin_type=True))
    except CodecError:
        return
    for me in (1, 2, 3):
        node = MultiPaxosNode(MultiPaxosConfig(id=me, voters=(1, 2, 3)))
        node.campaign()
        node.step(m2)
        while node.has_ready():
            node.advance(node.ready())
