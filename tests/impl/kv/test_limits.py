"""The store's size accounting (etcd's dbSize, checked against the quota), compaction giving
the bytes back, the nesting bound, and the refusals an alarm imposes."""

from __future__ import annotations

import gc
import tracemalloc

from quorum.impl.kv import (
    MAX_TXN_OPS,
    Compact,
    CompactResult,
    DeleteRange,
    ErrorCode,
    KVError,
    KVStore,
    Put,
    PutResult,
    Range,
    RangeResult,
    Txn,
    TxnResult,
    adds_data,
    validate,
)
from quorum.impl.kv.commands import MAX_TXN_DEPTH
from quorum.impl.kv.store import VERSION_BYTES


def _nested(levels: int) -> Txn:
    txn = Txn(success=(Put(b"k", b"v"),))
    for _ in range(levels - 1):
        txn = Txn(success=(txn,))
    return txn


def test_size_counts_every_kept_version_and_tombstone() -> None:
    s = KVStore()
    assert s.size_bytes == 0
    s.execute(Put(b"ab", b"x" * 100))
    assert s.size_bytes == 2 + 100 + VERSION_BYTES
    s.execute(Put(b"ab", b"y" * 10))  # the old version stays readable: both counted
    s.execute(DeleteRange(b"ab"))  # a tombstone: key and overhead
    assert s.size_bytes == (102 + 12 + 2) + 3 * VERSION_BYTES
    restored = KVStore()
    restored.restore(s.snapshot())
    assert restored.size_bytes == s.size_bytes


def test_compaction_gives_back_the_bytes_and_frees_the_values() -> None:
    s = KVStore()
    tracemalloc.start()
    try:
        for i in range(10):
            s.execute(Put(b"big", bytes([i]) * 100_000))
        s.execute(Put(b"small", b"s"))
        assert isinstance(s.read(Range(b"big", revision=2)), RangeResult)
        assert s.size_bytes == 10 * (3 + 100_000) + 6 + 11 * VERSION_BYTES
        held = tracemalloc.get_traced_memory()[0]
        s.execute(Compact(s.revision))
        gc.collect()
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert s.size_bytes == (3 + 100_000) + 6 + 2 * VERSION_BYTES
    assert freed >= 9 * 100_000  # the nine dropped values really left memory
    s.execute(DeleteRange(b"big"))
    s.execute(Compact(s.revision))
    assert s.size_bytes == 6 + VERSION_BYTES  # a deleted key goes with its tombstone
    old = s.read(Range(b"big", revision=s.revision - 1))
    assert isinstance(old, KVError) and old.code is ErrorCode.COMPACTED


def test_nesting_bound_and_op_count_are_refused_before_anything_runs() -> None:
    assert validate(_nested(MAX_TXN_DEPTH)) is None
    assert validate(_nested(MAX_TXN_DEPTH + 1)) == KVError(ErrorCode.TXN_TOO_DEEP)
    many = Txn(success=tuple(Put(b"k%d" % i) for i in range(MAX_TXN_OPS + 1)))
    assert validate(many) == KVError(ErrorCode.TOO_MANY_OPS)
    s = KVStore()
    assert s.execute(_nested(MAX_TXN_DEPTH + 1)) == KVError(ErrorCode.TXN_TOO_DEEP)
    assert s.revision == 1


def test_adds_data_is_any_put_at_any_depth() -> None:
    assert adds_data(Put(b"k"))
    assert adds_data(Txn(failure=(Txn(success=(Put(b"k"),)),)))
    assert not adds_data(Txn(success=(DeleteRange(b"k"), Range(b"k"))))
    assert not adds_data(Compact(3)) and not adds_data(DeleteRange(b"k"))


def test_nospace_refuses_only_writes_that_add_data_and_corrupt_refuses_all() -> None:
    s = KVStore()
    s.execute(Put(b"a", b"1"))
    s.nospace = True
    assert s.execute(Put(b"b", b"2")) == KVError(ErrorCode.NO_SPACE)
    assert s.execute(Txn(failure=(Put(b"b", b"2"),))) == KVError(ErrorCode.NO_SPACE)
    assert isinstance(s.execute(Txn(success=(DeleteRange(b"a"),))), TxnResult)
    assert s.revision == 3 and isinstance(s.execute(Compact(3)), CompactResult)
    s.nospace, s.corrupt = False, True
    assert s.execute(Range(b"a")) == KVError(ErrorCode.CORRUPT)
    s.corrupt = False
    assert isinstance(s.execute(Put(b"b", b"2")), PutResult)
