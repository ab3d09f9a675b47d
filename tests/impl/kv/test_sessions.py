"""Client sessions (thesis 6.3): a command with a (client id, seq) runs at most once."""

from __future__ import annotations

import zlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.impl.kv import (
    CommandDecodeError,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    ErrorCode,
    KeyValue,
    KVError,
    KVStore,
    Put,
    Range,
    RangeResult,
    SnapshotError,
    Txn,
    TxnResult,
    decode,
    encode,
)
from quorum.impl.kv.sessions import Sessions, pack_result, unpack_result
from quorum.impl.kv.snapshot import dump_state

CLIENT = 0xC0FFEE


def cas(key: bytes, old: bytes, new: bytes) -> Txn:
    return Txn(compare=(Compare(key, CompareTarget.VALUE, CompareResult.EQUAL, old),),
               success=(Put(key, new),), failure=(Range(key),))


def test_session_envelope_round_trips_and_plain_bytes_are_unchanged() -> None:
    req = decode(encode(Put(b"k", b"v"), 7, CLIENT, 3))
    assert (req.command, req.request_id, req.client_id, req.seq) == (Put(b"k", b"v"), 7, CLIENT, 3)
    plain = encode(Put(b"k", b"v"), 7)
    assert msgpack.unpackb(plain)[:2] == [1, 7]  # format 1, as before sessions
    assert decode(plain).client_id == 0


@pytest.mark.parametrize("raw", [
    [2, 7, 0, 1, 1, b"k", b"v", 0, False, False, False],  # client id 0
    [2, 7, 5, 0, 1, b"k", b"v", 0, False, False, False],  # seq 0
    [2, 7, -5, 1, 1, b"k", b"v", 0, False, False, False],  # negative client id
    [2, 7, 5, 1],  # no command
    [3, 7, 1, b"k", b"v", 0, False, False, False],  # unknown format
])
def test_malformed_session_envelopes_are_refused(raw: list[object]) -> None:
    with pytest.raises(CommandDecodeError):
        decode(msgpack.packb(raw, use_bin_type=True))


def test_a_duplicate_cas_answers_the_first_result_and_changes_nothing() -> None:
    s = KVStore()
    s.apply(1, encode(Put(b"k", b"a"), 1, CLIENT, 1))
    first = s.apply(2, encode(cas(b"k", b"b", b"c"), 2, CLIENT, 2))  # fails: k is "a"
    assert first is not None and isinstance(first.result, TxnResult)
    assert not first.result.succeeded
    s.apply(3, encode(Put(b"k", b"b"), 3, CLIENT + 1, 1))  # someone else makes it "b"
    before = s.snapshot()
    dup = s.apply(4, encode(cas(b"k", b"b", b"c"), 2, CLIENT, 2))  # the same CAS again
    assert dup is not None and dup.result == first.result and dup.request_id == 2
    assert s.read(Range(b"k")).kvs[0].value == b"b"  # type: ignore[union-attr]
    assert s.revision == 3
    after = s.snapshot()
    assert msgpack.unpackb(msgpack.unpackb(after)[3])[1:4] == \
        msgpack.unpackb(msgpack.unpackb(before)[3])[1:4]  # revision and keys unchanged


def test_without_a_session_a_duplicate_executes_twice() -> None:
    s = KVStore()
    s.apply(1, encode(Put(b"k", b"a")))
    s.apply(2, encode(Put(b"k", b"a")))
    assert s.revision == 3 and len(s.sessions) == 0


def test_stale_and_expired_commands_are_refused_without_effect() -> None:
    s = KVStore()
    s.apply(1, encode(Put(b"k", b"1"), 1, CLIENT, 1))
    s.apply(2, encode(Put(b"k", b"2"), 2, CLIENT, 2))
    stale = s.apply(3, encode(DeleteRange(b"k"), 1, CLIENT, 1))
    assert stale is not None and isinstance(stale.result, KVError)
    assert stale.result.code is ErrorCode.STALE_REQUEST
    unknown = s.apply(4, encode(DeleteRange(b"k"), 9, CLIENT + 1, 5))
    assert unknown is not None and isinstance(unknown.result, KVError)
    assert unknown.result.code is ErrorCode.SESSION_EXPIRED
    assert s.revision == 3 and s.read(Range(b"k")).count == 1  # type: ignore[union-attr]
    last = s.sessions.last(CLIENT)
    assert last is not None and last[0] == 2  # the stale copy did not touch the session


def test_sessions_survive_snapshot_and_restore() -> None:
    s = KVStore()
    s.apply(1, encode(Put(b"k", b"a", prev_kv=True), 1, CLIENT, 1))
    r = s.apply(2, encode(Put(b"k", b"b", prev_kv=True), 2, CLIENT, 2))
    other = KVStore()
    other.restore(s.snapshot())
    assert other.snapshot() == s.snapshot()
    dup = other.apply(3, encode(Put(b"k", b"b", prev_kv=True), 2, CLIENT, 2))
    assert r is not None and dup is not None and dup.result == r.result
    assert other.revision == s.revision


def test_a_version_1_snapshot_restores_with_no_sessions() -> None:
    old = msgpack.unpackb(KVStore().snapshot())
    payload = msgpack.unpackb(old[3])[:4]
    p = msgpack.packb(payload, use_bin_type=True)
    data = msgpack.packb([old[0], 1, zlib.crc32(p), p], use_bin_type=True)
    s = KVStore()
    s.restore(data)
    assert len(s.sessions) == 0 and s.applied_index == 0


def test_a_malformed_session_table_is_refused() -> None:
    s = KVStore()
    s.apply(1, encode(Put(b"k", b"a"), 1, CLIENT, 1))
    before = s.snapshot()
    bad = dump_state([0, 1, -1, [], [[CLIENT, 1, [99]]]])
    with pytest.raises(SnapshotError):
        s.restore(bad)
    assert s.snapshot() == before


def test_expiry_is_least_recently_used_and_deterministic() -> None:
    def run() -> KVStore:
        s = KVStore(max_sessions=3)
        for i, client in enumerate([1, 2, 3, 1, 4], start=1):  # 4 evicts 2, the LRU one
            seq = 2 if (client == 1 and i == 4) else 1
            s.apply(i, encode(Put(b"k%d" % client, b"v"), i, client, seq))
        return s
    a, b = run(), run()
    assert a.snapshot() == b.snapshot()
    assert [a.sessions.last(c) is not None for c in (1, 2, 3, 4)] == [True, False, True, True]
    late = a.apply(6, encode(Put(b"k2", b"again"), 2, 2, 1))  # session 2 forgotten: runs
    assert late is not None and late.result is not None and a.revision == 7
    restored = KVStore(max_sessions=3)
    restored.restore(a.snapshot())
    restored.apply(7, encode(Put(b"x"), 7, 5, 1))
    a.apply(7, encode(Put(b"x"), 7, 5, 1))
    assert restored.snapshot() == a.snapshot()  # eviction order survives the snapshot


@pytest.mark.parametrize("result", [
    TxnResult(4, True, (RangeResult(4, (KeyValue(b"a", 2, 3, 2, b"v"),), False, 1),)),
    KVError(ErrorCode.COMPACTED, "r 3"),
])
def test_results_pack_and_unpack(result: object) -> None:
    assert unpack_result(pack_result(result)) == result  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        unpack_result([42])
    assert len(Sessions()) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2), st.integers(0, 3)),
                min_size=1, max_size=25),
       st.lists(st.integers(0, 40), max_size=15))
def test_duplicating_any_entries_changes_no_state_and_no_answer(
        ops: list[tuple[int, int, int]], dups: list[int]) -> None:
    """A log of session commands (CAS and puts from 3 clients) against the same log with
    copies of some entries inserted later: same keys, revision and first answers; a copy
    answers the first copy's result, or STALE_REQUEST once its client has moved on."""
    seqs: dict[int, int] = {}
    log: list[bytes] = []
    for client, kind, v in ops:
        seqs[client] = seqs.get(client, 0) + 1
        cmd = Put(b"k", b"%d" % v) if kind == 0 else cas(b"k", b"%d" % v, b"%d" % (v + 1))
        log.append(encode(cmd, len(log) + 1, client, seqs[client]))
    noisy = list(log)
    for d in dups:  # a copy of entry d, some time after it (never before it)
        src = noisy.index(log[d % len(log)])
        noisy.insert(src + 1 + d % (len(noisy) - src), log[d % len(log)])
    clean, dirty = KVStore(), KVStore()
    first = [clean.apply(i, e) for i, e in enumerate(log, 1)]
    seen: dict[bytes, object] = {}
    for i, e in enumerate(noisy, 1):
        r = dirty.apply(i, e)
        assert r is not None
        stale = isinstance(r.result, KVError) and r.result.code is ErrorCode.STALE_REQUEST
        assert not stale or e in seen  # only a copy can be stale
        seen.setdefault(e, r.result)
        assert stale or r.result == seen[e]
    assert [seen[e] for e in log] == [a.result for a in first if a is not None]
    assert dirty.revision == clean.revision
    assert dirty.read(Range(b"k")) == clean.read(Range(b"k"))
