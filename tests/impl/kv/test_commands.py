"""The log encoding of KV commands: deterministic, invertible, strict on bad bytes."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.impl.kv.commands import (
    FORMAT,
    MAX_TXN_DEPTH,
    CommandDecodeError,
    Compact,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    Put,
    Range,
    Request,
    SortOrder,
    SortTarget,
    Txn,
    decode,
    encode,
    is_read_only,
)

keys = st.binary(min_size=0, max_size=6)
ints = st.integers(-(2**63), 2**63 - 1)
ranges = st.builds(Range, keys, keys, ints, ints, st.sampled_from(SortOrder),
                   st.sampled_from(SortTarget), st.booleans(), st.booleans(), st.booleans(),
                   ints, ints, ints, ints)
puts = st.builds(Put, keys, keys, ints, st.booleans(), st.booleans(), st.booleans())
deletes = st.builds(DeleteRange, keys, keys, st.booleans())


@st.composite
def compares(draw: st.DrawFn) -> Compare:
    target = draw(st.sampled_from(CompareTarget))
    value = draw(keys) if target is CompareTarget.VALUE else draw(ints)
    return Compare(draw(keys), target, draw(st.sampled_from(CompareResult)), value, draw(keys))


ops = st.recursive(
    st.one_of(ranges, puts, deletes),
    lambda inner: st.builds(Txn, st.lists(compares()).map(tuple),
                            st.lists(inner, max_size=3).map(tuple),
                            st.lists(inner, max_size=3).map(tuple)),
    max_leaves=8,
)
commands = st.one_of(ops, st.builds(Compact, ints, st.booleans()))


@settings(deadline=None)
@given(commands, st.integers(0, 2**64 - 1))
def test_decode_inverts_encode(cmd: object, request_id: int) -> None:
    data = encode(cmd, request_id)  # type: ignore[arg-type]
    assert decode(data) == Request(cmd, request_id)  # type: ignore[arg-type]
    assert encode(cmd, request_id) == data  # type: ignore[arg-type]  # deterministic


@settings(deadline=None)
@given(st.binary(max_size=64))
def test_garbage_raises_only_the_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except CommandDecodeError:
        pass


@settings(deadline=None)
@given(commands, st.data())
def test_flipped_byte_never_escapes_as_another_exception(cmd: object, data: st.DataObject) -> None:
    raw = bytearray(encode(cmd))  # type: ignore[arg-type]
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    try:
        decoded = decode(bytes(raw))
    except CommandDecodeError:
        return
    assert isinstance(decoded, Request)  # bytes that decode at all decode to a request


@pytest.mark.parametrize("raw", [
    [FORMAT + 1, 0, 1, b"k", b"v", 0, False, False, False],  # unknown format
    [FORMAT, -1, 1, b"k", b"v", 0, False, False, False],  # negative request id
    [FORMAT, 0, 1, "k", b"v", 0, False, False, False],  # key as str, not bytes
    [FORMAT, 0, 1, b"k", b"v", 0, 0, False, False],  # int where a bool belongs
    [FORMAT, 0, 1, b"k", b"v", 0, False, False],  # a field missing
    [FORMAT, 0, 9],  # unknown tag
    [FORMAT, 0, 3, [], [[4, 5, False]], []],  # Compact nested in a Txn
    [FORMAT, 0, 3, [[b"k", 3, 0, 5, b""]], [], []],  # VALUE compare against an int
    [FORMAT, 0, 0, b"k", b"", 0, 0, 7, 0, False, False, False, 0, 0, 0, 0],  # bad sort order
])
def test_malformed_envelopes_are_refused(raw: list[object]) -> None:
    with pytest.raises(CommandDecodeError):
        decode(msgpack.packb(raw, use_bin_type=True))


def test_nesting_is_bounded() -> None:
    txn = Txn()
    for _ in range(MAX_TXN_DEPTH + 1):
        txn = Txn(success=(txn,))
    with pytest.raises(CommandDecodeError, match="nested deeper"):
        decode(encode(txn))


def test_read_only_classification_follows_etcd() -> None:
    assert is_read_only(Range(b"a"))
    assert is_read_only(Txn(success=(Range(b"a"),), failure=(Txn(success=(Range(b"b"),)),)))
    assert not is_read_only(Txn(failure=(Txn(success=(Put(b"b"),)),)))
    assert not is_read_only(Put(b"a"))
    assert not is_read_only(Compact(3))
