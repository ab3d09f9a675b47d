"""The wire codec: exact round trips, and a peer's garbage only ever raises CodecError."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.impl.raft import codec
from quorum.impl.raft.errors import CodecError
from quorum.impl.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMeta,
)

CC = codec.conf_change_to_bytes(ConfChange(ConfChangeType.ADD_NODE, 4, b"http://x"))
APPEND = Message(MessageType.APPEND, to=2, frm=1, term=3, log_term=2, index=5,
                 entries=(Entry(2, 6, data=b"a"), Entry(3, 7, EntryType.CONF_CHANGE, CC)),
                 commit=5)
SNAP = Message(MessageType.SNAPSHOT, to=3, frm=1, term=4, snapshot=Snapshot(
    SnapshotMeta(index=9, term=4, conf_state=ConfState(voters=(1, 2, 3), learners=(4,))),
    data=b"state"))
REPLY = Message(MessageType.APPEND_RESP, to=1, frm=2, term=3, index=5, reject=True,
                reject_hint=4, log_term=1)
READ = Message(MessageType.HEARTBEAT, to=2, frm=1, term=3, commit=2, context=b"\x00r1")


@pytest.mark.parametrize("m", [APPEND, SNAP, REPLY, READ])
def test_message_round_trip(m: Message) -> None:
    assert codec.decode_message(codec.encode_message(m)) == m


def test_a_shared_run_is_packed_once_and_the_bytes_are_unchanged() -> None:
    """A leader's AppendEntries to two followers: the entry run is packed for the first
    and reused for the second; every message's bytes are what encoding it alone gives,
    including ones with large fields (multi-byte msgpack headers) and no entries."""
    big = Entry(3, 8, data=b"v" * 70_000)
    to3 = Message(MessageType.APPEND, to=3, frm=1, term=3, log_term=2, index=5,
                  entries=APPEND.entries, commit=2**40, context=b"c" * 300)
    other = Message(MessageType.APPEND, to=2, frm=1, term=2**33, log_term=3, index=7,
                    entries=(big,), commit=7)
    runs: dict[tuple[int, int, int], bytes] = {}
    for m in (APPEND, to3, other, REPLY, READ, SNAP):
        assert codec.encode_message(m, runs) == codec.encode_message(m)
        assert codec.decode_message(codec.encode_message(m, runs)) == m
    assert sorted(runs) == [(6, 7, 3), (8, 8, 3)]
    runs[(6, 7, 3)] = b"\x90"  # the cache is what is used: an empty run spliced in
    assert codec.decode_message(codec.encode_message(APPEND, runs)).entries == ()


@pytest.mark.parametrize("wire, why", [
    ([True, 1, 0, b"x"], "entry term"), ([1, 2**63, 0, b"x"], "entry index"),
    ([1, -1, 0, b"x"], "entry index"), ([1, 1, 2, b"x"], "entry type: unknown value 2"),
    ([1, 1, 0, "x"], "entry data"), ([1, 1, 0], "expected 4 fields"),
    ([1, 1, 1, b"\xc1"], "undecodable msgpack"),
])
def test_entry_checks_hold_on_the_fast_path(wire: list[object], why: str) -> None:
    """A follower's common case (a NORMAL entry) is checked inline; everything else still
    meets the general checks."""
    assert codec.entry_from_wire([2**63 - 1, 5, 0, b"v"]) == Entry(2**63 - 1, 5, data=b"v")
    with pytest.raises(CodecError, match=why):
        codec.entry_from_wire(wire)


def test_values_round_trip() -> None:
    hs = HardState(term=7, vote=2, commit=40)
    assert codec.hard_state_from_wire(codec.hard_state_to_wire(hs)) == hs
    cc = ConfChange(ConfChangeType.REMOVE_NODE, 3)
    assert codec.conf_change_from_bytes(codec.conf_change_to_bytes(cc)) == cc
    e = Entry(term=2, index=9, data=b"v")
    assert codec.entry_from_wire(codec.entry_to_wire(e)) == e


def _wire(m: Message) -> list:
    return codec.message_to_wire(m)


@pytest.mark.parametrize("mutate, why", [
    (lambda w: w[:11], "expected 12 fields"),
    (lambda w: [99, *w[1:]], "unknown value 99"),
    (lambda w: [w[0], True, *w[2:]], "expected an integer"),
    (lambda w: [*w[:3], -1, *w[4:]], "expected an integer"),
    (lambda w: [*w[:3], 1 << 64, *w[4:]], "expected an integer"),
    (lambda w: [*w[:11], "text"], "expected bytes"),
    (lambda w: [w[0], 0, *w[2:]], "positive node ids"),
    (lambda w: [*w[:5], 6, *w[6:]], "contiguous"),  # entries no longer follow index
    (lambda w: [*w[:3], 1, *w[4:]], "out of range"),  # log_term 2 > term 1
    (lambda w: [*w[:10], [1, 1, [[], [], []], b""], w[11]], "belongs to SNAPSHOT"),
])
def test_malformed_append_is_refused_with_a_reason(mutate, why: str) -> None:
    with pytest.raises(CodecError, match=why):
        codec.message_from_wire(mutate(_wire(APPEND)))


def test_bad_conf_change_entry_is_refused() -> None:
    bad = Message(MessageType.APPEND, to=2, frm=1, term=1,
                  entries=(Entry(1, 1, EntryType.CONF_CHANGE, b"\xc1"),))
    with pytest.raises(CodecError, match="undecodable"):
        codec.decode_message(codec.encode_message(bad))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_codec_error(data: bytes) -> None:
    try:
        decoded = codec.decode_message(data)
    except CodecError:
        return
    assert isinstance(decoded, Message) and decoded.type in MessageType


_leaf = st.one_of(st.integers(min_value=-2, max_value=(1 << 64) - 1), st.booleans(), st.none(),
                  st.binary(max_size=8), st.text(max_size=4), st.floats(allow_nan=True))
_tree = st.recursive(_leaf, lambda c: st.lists(c, max_size=13), max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(st.one_of(_tree, st.lists(_leaf, min_size=12, max_size=12)))
def test_random_msgpack_values_raise_only_codec_error(value: object) -> None:
    try:
        decoded = codec.decode_message(msgpack.packb(value, use_bin_type=True))
    except CodecError:
        return
    assert isinstance(decoded, Message) and decoded.type in MessageType


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 11), st.one_of(_leaf, st.lists(_leaf, max_size=4)))
def test_one_corrupted_field_raises_only_codec_error(pos: int, value: object) -> None:
    for m in (APPEND, SNAP):
        w = _wire(m)
        w[pos] = value
        try:
            assert codec.message_from_wire(w).type in MessageType
        except CodecError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(0, 10_000))
def test_flipped_bytes_in_a_real_frame_raise_only_codec_error(noise: bytes, at: int) -> None:
    frame = bytearray(codec.encode_message(APPEND))
    for k, b in enumerate(noise):
        frame[(at + k) % len(frame)] ^= b
    try:
        decoded = codec.decode_message(bytes(frame))
    except CodecError:
        return
    assert isinstance(decoded, Message) and decoded.type in MessageType
