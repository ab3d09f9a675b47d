"""The revision model, scenario by scenario, against etcd's documented behaviour
(etcd.io "API guarantees" / "Data model", and ``server/etcdserver/txn``)."""

from __future__ import annotations

import pytest

from quorum.impl.kv import (
    Compact,
    CompactResult,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    DeleteRangeResult,
    ErrorCode,
    KeyValue,
    KVError,
    KVStore,
    Put,
    PutResult,
    Range,
    RangeResult,
    SnapshotError,
    SortOrder,
    SortTarget,
    Txn,
    TxnResult,
    encode,
)
from quorum.impl.kv.commands import Command
from quorum.impl.kv.results import Result

EQ, GT, LT, NE = CompareResult.EQUAL, CompareResult.GREATER, CompareResult.LESS, CompareResult.NOT_EQUAL


class Log:
    """A store fed through apply(), one Raft index per command."""

    def __init__(self) -> None:
        self.kv = KVStore()

    def __call__(self, cmd: Command) -> Result:
        applied = self.kv.apply(self.kv.applied_index + 1, encode(cmd))
        assert applied is not None and applied.result is not None
        return applied.result

    def get(self, key: bytes, **kw: object) -> tuple[KeyValue, ...]:
        r = self.kv.read(Range(key, **kw))  # type: ignore[arg-type]
        assert isinstance(r, RangeResult)
        return r.kvs


@pytest.fixture
def s() -> Log:
    return Log()


def test_a_new_store_is_at_revision_1_and_each_write_adds_one(s: Log) -> None:
    assert s.kv.revision == 1
    assert s(Put(b"foo", b"bar")) == PutResult(2)
    assert s(Put(b"foo", b"baz")) == PutResult(3)
    assert s(Put(b"other", b"x")) == PutResult(4)
    assert s.get(b"foo") == (KeyValue(b"foo", 2, 3, 2, b"baz"),)


def test_delete_resets_version_and_recreation_gets_a_new_create_revision(s: Log) -> None:
    s(Put(b"k", b"1"))
    s(Put(b"k", b"2"))
    assert s(DeleteRange(b"k", prev_kv=True)) == DeleteRangeResult(
        4, 1, (KeyValue(b"k", 2, 3, 2, b"2"),))
    assert s.get(b"k") == ()
    assert s(Put(b"k", b"3")) == PutResult(5)
    assert s.get(b"k") == (KeyValue(b"k", 5, 5, 1, b"3"),)


def test_deleting_nothing_does_not_change_the_revision(s: Log) -> None:
    s(Put(b"a", b"1"))
    assert s(DeleteRange(b"zzz")) == DeleteRangeResult(2, 0)
    assert s(DeleteRange(b"b", b"c")) == DeleteRangeResult(2, 0)
    assert s.kv.revision == 2


def test_put_prev_kv_and_ignore_value(s: Log) -> None:
    assert s(Put(b"k", b"v1", prev_kv=True)) == PutResult(2, None)
    assert s(Put(b"k", ignore_value=True, prev_kv=True)) == PutResult(
        3, KeyValue(b"k", 2, 2, 1, b"v1"))
    assert s.get(b"k") == (KeyValue(b"k", 2, 3, 2, b"v1"),)
    assert s(Put(b"missing", ignore_value=True)) == KVError(ErrorCode.KEY_NOT_FOUND)
    assert s(Put(b"k", b"x", ignore_value=True)) == KVError(ErrorCode.VALUE_PROVIDED)
    assert s(Put(b"k", b"x", lease=7)).code is ErrorCode.LEASE_NOT_FOUND  # type: ignore[union-attr]
    assert s(Put(b"", b"x")) == KVError(ErrorCode.EMPTY_KEY)
    assert s.kv.revision == 3  # refused requests change nothing


def load(s: Log) -> None:
    for k in [b"a", b"ab", b"abc", b"b", b"c\x00", b"d"]:
        s(Put(k, k.upper()))


def keys(kvs: tuple[KeyValue, ...]) -> list[bytes]:
    return [kv.key for kv in kvs]


def test_range_forms(s: Log) -> None:
    load(s)
    assert keys(s.get(b"ab")) == [b"ab"]
    assert keys(s.get(b"a", range_end=b"b")) == [b"a", b"ab", b"abc"]  # [a, b)
    assert keys(s.get(b"ab", range_end=b"ac")) == [b"ab", b"abc"]  # prefix "ab"
    assert keys(s.get(b"b", range_end=b"\0")) == [b"b", b"c\x00", b"d"]  # all keys >= b
    assert keys(s.get(b"\0", range_end=b"\0")) == [b"a", b"ab", b"abc", b"b", b"c\x00", b"d"]
    assert s.get(b"c", range_end=b"a") == ()  # empty interval


def test_range_limit_count_more_keys_only_count_only(s: Log) -> None:
    load(s)
    r = s.kv.read(Range(b"a", b"\0", limit=2))
    assert isinstance(r, RangeResult)
    assert (keys(r.kvs), r.more, r.count, r.revision) == ([b"a", b"ab"], True, 6, 7)
    r = s.kv.read(Range(b"a", b"b", limit=3))
    assert (r.more, r.count) == (False, 3)  # type: ignore[union-attr]
    r = s.kv.read(Range(b"a", b"b", count_only=True))
    assert (r.kvs, r.count) == ((), 3)  # type: ignore[union-attr]
    r = s.kv.read(Range(b"a", b"b", keys_only=True))
    assert [kv.value for kv in r.kvs] == [b"", b"", b""]  # type: ignore[union-attr]


def test_range_sort_and_revision_filters(s: Log) -> None:
    load(s)
    s(Put(b"a", b"zz"))  # a: version 2, mod 8
    r = s.kv.read(Range(b"\0", b"\0", sort_order=SortOrder.DESCEND))
    assert keys(r.kvs) == [b"d", b"c\x00", b"b", b"abc", b"ab", b"a"]  # type: ignore[union-attr]
    r = s.kv.read(Range(b"\0", b"\0", sort_target=SortTarget.MOD, limit=2))  # NONE -> ASCEND
    assert keys(r.kvs) == [b"ab", b"abc"]  # type: ignore[union-attr]
    r = s.kv.read(Range(b"\0", b"\0", sort_target=SortTarget.VALUE, sort_order=SortOrder.DESCEND))
    assert keys(r.kvs)[0] == b"a"  # type: ignore[union-attr]
    r = s.kv.read(Range(b"\0", b"\0", min_mod_revision=6, max_create_revision=6))
    assert keys(r.kvs) == [b"a", b"c\x00"]  # type: ignore[union-attr]  # a: mod 8, create 2
    assert r.count == 6  # type: ignore[union-attr]  # count ignores the filters, as etcd's


def test_reads_of_the_past_until_compaction(s: Log) -> None:
    s(Put(b"k", b"v1"))  # rev 2
    s(Put(b"k", b"v2"))  # rev 3
    s(DeleteRange(b"k"))  # rev 4
    s(Put(b"k", b"v3"))  # rev 5
    assert s.get(b"k", revision=2) == (KeyValue(b"k", 2, 2, 1, b"v1"),)
    assert s.get(b"k", revision=3) == (KeyValue(b"k", 2, 3, 2, b"v2"),)
    assert s.get(b"k", revision=4) == ()
    assert s.get(b"k", revision=1) == ()
    assert s.kv.read(Range(b"k", revision=6)) == KVError(ErrorCode.FUTURE_REV, "revision 6 > 5")
    assert s(Compact(3)) == CompactResult(5)
    assert s.kv.read(Range(b"k", revision=2)).code is ErrorCode.COMPACTED  # type: ignore[union-attr]
    assert s.get(b"k", revision=3) == (KeyValue(b"k", 2, 3, 2, b"v2"),)  # the compact rev itself
    assert s(Compact(3)).code is ErrorCode.COMPACTED  # type: ignore[union-attr]
    assert s(Compact(9)).code is ErrorCode.FUTURE_REV  # type: ignore[union-attr]
    assert s(Compact(4)) == CompactResult(5)  # a tombstone at the compact point is dropped
    assert s.get(b"k", revision=4) == ()
    assert s.kv.revision == 5  # compaction is not a write


def test_compaction_drops_keys_whose_last_version_is_a_tombstone(s: Log) -> None:
    s(Put(b"gone", b"x"))
    s(DeleteRange(b"gone"))
    s(Put(b"kept", b"y"))
    s(Compact(4))
    assert s.kv._keys == [b"kept"]  # the tombstoned key's history is gone entirely


def cas(key: bytes, expect: bytes, new: bytes) -> Txn:
    return Txn((Compare(key, CompareTarget.VALUE, EQ, expect),), (Put(key, new),),
               (Range(key),))


def test_txn_compare_and_swap(s: Log) -> None:
    s(Put(b"k", b"old"))
    assert s(cas(b"k", b"old", b"new")) == TxnResult(3, True, (PutResult(3),))
    r = s(cas(b"k", b"old", b"newer"))
    assert r == TxnResult(3, False, (RangeResult(3, (KeyValue(b"k", 2, 3, 2, b"new"),),
                                                 False, 1),))


@pytest.mark.parametrize(("target", "op", "value", "expected"), [
    (CompareTarget.VERSION, EQ, 2, True), (CompareTarget.VERSION, GT, 1, True),
    (CompareTarget.VERSION, LT, 2, False), (CompareTarget.VERSION, NE, 2, False),
    (CompareTarget.CREATE, EQ, 2, True), (CompareTarget.MOD, EQ, 3, True),
    (CompareTarget.MOD, LT, 3, False), (CompareTarget.VALUE, GT, b"a", True),
    (CompareTarget.VALUE, LT, b"a", False), (CompareTarget.LEASE, EQ, 0, True),
])
def test_compare_targets(s: Log, target: CompareTarget, op: CompareResult,
                         value: bytes | int, expected: bool) -> None:
    s(Put(b"k", b"v1"))
    s(Put(b"k", b"v2"))
    r = s(Txn((Compare(b"k", target, op, value),)))
    assert isinstance(r, TxnResult) and r.succeeded is expected


def test_compares_on_a_missing_key(s: Log) -> None:
    # etcd: a missing key compares as version/create/mod 0; any VALUE compare is false.
    assert s(Txn((Compare(b"nope", CompareTarget.CREATE, EQ, 0),))).succeeded  # type: ignore[union-attr]
    assert not s(Txn((Compare(b"nope", CompareTarget.VALUE, NE, b"x"),))).succeeded  # type: ignore[union-attr]


def test_compare_over_a_range_needs_every_key(s: Log) -> None:
    s(Put(b"p/1", b"a"))
    s(Put(b"p/2", b"b"))
    over = Compare(b"p/", CompareTarget.VERSION, EQ, 1, range_end=b"p0")
    assert s(Txn((over,))).succeeded  # type: ignore[union-attr]
    s(Put(b"p/2", b"c"))
    assert not s(Txn((over,))).succeeded  # type: ignore[union-attr]


def test_a_txn_is_one_revision_and_its_ops_see_earlier_ones(s: Log) -> None:
    r = s(Txn(success=(Put(b"a", b"1"), Put(b"b", b"2"), Range(b"a", b"c"),
                       DeleteRange(b"zz"))))
    assert r == TxnResult(2, True, (
        PutResult(2), PutResult(2),
        RangeResult(2, (KeyValue(b"a", 2, 2, 1, b"1"), KeyValue(b"b", 2, 2, 1, b"2")), False, 2),
        DeleteRangeResult(2, 0)))
    assert s.kv.revision == 2


def test_read_only_txn_does_not_change_the_revision(s: Log) -> None:
    s(Put(b"a", b"1"))
    r = s(Txn(success=(Range(b"a"),)))
    assert isinstance(r, TxnResult) and r.revision == 2 and s.kv.revision == 2


def test_nested_txn_compares_see_the_state_before_the_txn(s: Log) -> None:
    inner = Txn((Compare(b"a", CompareTarget.VERSION, EQ, 0),), (Put(b"b", b"inner-then"),),
                (Put(b"b", b"inner-else"),))
    r = s(Txn(success=(Put(b"a", b"1"), inner)))
    assert isinstance(r, TxnResult)
    nested = r.responses[1]
    assert isinstance(nested, TxnResult) and nested.succeeded  # a was absent before the txn
    assert s.get(b"b")[0].value == b"inner-then"


def test_errors_on_the_taken_path_abort_the_whole_txn(s: Log) -> None:
    r = s(Txn(success=(Put(b"a", b"1"), Range(b"a", revision=50))))
    assert isinstance(r, KVError) and r.code is ErrorCode.FUTURE_REV
    assert s.get(b"a") == () and s.kv.revision == 1
    # ... but errors on the branch not taken are not looked at
    r = s(Txn((Compare(b"x", CompareTarget.VERSION, EQ, 0),), (Put(b"a", b"1"),),
              (Put(b"a", ignore_value=True),)))
    assert isinstance(r, TxnResult) and r.succeeded


@pytest.mark.parametrize("txn", [
    Txn(success=(Put(b"a", b"1"), Put(b"a", b"2"))),
    Txn(success=(DeleteRange(b"a", b"c"), Put(b"b", b"1"))),
    Txn(success=(Put(b"k"), Txn(success=(Put(b"k"),)))),
    Txn(success=(DeleteRange(b"\0", b"\0"), Txn(failure=(Put(b"k"),)))),
])
def test_duplicate_keys_in_a_txn_are_refused(s: Log, txn: Txn) -> None:
    assert s(txn) == KVError(ErrorCode.DUPLICATE_KEY)


def test_puts_in_both_branches_of_a_nested_txn_are_allowed(s: Log) -> None:
    inner = Txn((), (Put(b"k", b"then"),), (Put(b"k", b"else"),))
    assert isinstance(s(Txn(success=(inner, Put(b"other")))), TxnResult)


def test_too_many_ops(s: Log) -> None:
    """The state machine's own bound is the cluster-wide ceiling, not a member's flag."""
    from quorum.impl.kv import MAX_TXN_OPS_CEILING

    assert isinstance(s(Txn(success=tuple(Put(b"k%d" % i) for i in range(129)))), TxnResult)
    assert s(Txn(success=tuple(Put(b"k%d" % i) for i in range(MAX_TXN_OPS_CEILING + 1)))) == (
        KVError(ErrorCode.TOO_MANY_OPS))


def test_apply_is_idempotent_per_index_and_tolerates_bad_entries() -> None:
    kv = KVStore()
    assert kv.apply(1, encode(Put(b"a", b"1"))) is not None
    assert kv.apply(1, encode(Put(b"a", b"2"))) is None  # already applied: ignored
    assert kv.revision == 2
    empty = kv.apply(2, b"")
    assert empty is not None and empty.result is None
    bad = kv.apply(3, b"\xc1garbage")
    assert bad is not None and isinstance(bad.result, KVError)
    assert bad.result.code is ErrorCode.MALFORMED_REQUEST
    assert kv.applied_index == 3 and kv.revision == 2
    kv.mark_applied(5)
    assert kv.apply(4, encode(Put(b"a"))) is None and kv.applied_index == 5


def test_request_id_is_handed_back() -> None:
    kv = KVStore()
    applied = kv.apply(1, encode(Put(b"a"), request_id=42))
    assert applied is not None and applied.request_id == 42


def test_read_refuses_writes() -> None:
    with pytest.raises(ValueError):
        KVStore().read(Txn(success=(Put(b"a"),)))  # type: ignore[arg-type]


def test_snapshot_round_trip_keeps_history_and_applied_index(s: Log) -> None:
    load(s)
    s(DeleteRange(b"ab"))
    s(Compact(3))
    data = s.kv.snapshot()
    other = KVStore()
    other.restore(data)
    assert other.snapshot() == data
    assert (other.revision, other.compact_revision, other.applied_index) == (8, 3, 8)
    assert other.read(Range(b"\0", b"\0", revision=4)) == s.kv.read(Range(b"\0", b"\0", revision=4))
    assert other.apply(8, encode(Put(b"x"))) is None  # index 8 is inside the snapshot


@pytest.mark.parametrize("mangle", [
    lambda b: b[:-1], lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:], lambda b: b"junk",
    lambda b: b.replace(b"quorum-kv", b"quorum-xx"),
])
def test_a_damaged_snapshot_is_refused_and_changes_nothing(s: Log, mangle: object) -> None:
    load(s)
    data = mangle(s.kv.snapshot())  # type: ignore[operator]
    other = KVStore()
    other.apply(1, encode(Put(b"mine")))
    before = other.snapshot()
    with pytest.raises(SnapshotError):
        other.restore(data)
    assert other.snapshot() == before
