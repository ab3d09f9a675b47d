"""Model-based property test: KVStore against a naive model that keeps a full copy of the key
space per revision (etcd's revision model at its most literal)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
    Txn,
    TxnResult,
    encode,
    validate,
)
from quorum.impl.kv.commands import Command

KEYS = [b"a", b"ab", b"b", b"c"]
ENDS = [b"", b"", b"\0", b"b", b"c", b"z"]


class Model:
    def __init__(self) -> None:
        self.revs: list[dict[bytes, KeyValue]] = [{}, {}]  # revs[r]: the key space at r
        self.compacted = -1

    @property
    def rev(self) -> int:
        return len(self.revs) - 1

    @staticmethod
    def in_range(k: bytes, key: bytes, end: bytes) -> bool:
        if not end:
            return k == key
        return k >= key and (end == b"\0" or k < end)

    def select(self, space: dict[bytes, KeyValue], key: bytes, end: bytes) -> list[KeyValue]:
        return [space[k] for k in sorted(space) if self.in_range(k, key, end)]

    def range(self, r: Range, space: dict[bytes, KeyValue], current: int) -> Any:
        rev = r.revision if r.revision > 0 else current
        if rev > current:
            return ErrorCode.FUTURE_REV
        if rev < self.compacted:
            return ErrorCode.COMPACTED
        kvs = self.select(space if rev == current else self.revs[rev], r.key, r.range_end)
        count, more = len(kvs), 0 < r.limit < len(kvs)
        kvs = kvs[: r.limit] if more else kvs
        if r.count_only:
            kvs = []
        if r.keys_only:
            kvs = [KeyValue(kv.key, kv.create_revision, kv.mod_revision, kv.version)
                   for kv in kvs]
        return RangeResult(current, tuple(kvs), more, count)

    def compare(self, c: Compare) -> bool:
        kvs = self.select(self.revs[-1], c.key, c.range_end)
        if not kvs:
            if c.target is CompareTarget.VALUE:
                return False
            kvs = [KeyValue(b"", 0, 0, 0)]
        field = {CompareTarget.VALUE: "value", CompareTarget.VERSION: "version",
                 CompareTarget.CREATE: "create_revision", CompareTarget.MOD: "mod_revision"}
        ops = {CompareResult.EQUAL: lambda a, b: a == b, CompareResult.LESS: lambda a, b: a < b,
               CompareResult.GREATER: lambda a, b: a > b,
               CompareResult.NOT_EQUAL: lambda a, b: a != b}
        return all(ops[c.result](getattr(kv, field[c.target]), c.value) for kv in kvs)

    def execute(self, cmd: Command) -> Any:
        if validate(cmd) is not None:
            return validate(cmd).code  # type: ignore[union-attr]
        if isinstance(cmd, Compact):
            if cmd.revision <= self.compacted:
                return ErrorCode.COMPACTED
            if cmd.revision > self.rev:
                return ErrorCode.FUTURE_REV
            self.compacted = cmd.revision
            return CompactResult(self.rev)
        txn = cmd if isinstance(cmd, Txn) else Txn(success=(cmd,))
        ok = all(self.compare(c) for c in txn.compare)
        ops = txn.success if ok else txn.failure
        for op in ops:  # checks on the taken path, before anything runs
            if isinstance(op, Range) and op.revision > self.rev:
                return ErrorCode.FUTURE_REV
            if isinstance(op, Range) and 0 < op.revision < self.compacted:
                return ErrorCode.COMPACTED
        space, main, changed, out = dict(self.revs[-1]), self.rev + 1, False, []
        for op in ops:
            cur = main if changed else self.rev
            if isinstance(op, Range):
                out.append(self.range(op, space, cur))
            elif isinstance(op, Put):
                prev = space.get(op.key)
                space[op.key] = KeyValue(op.key, prev.create_revision if prev else main, main,
                                         prev.version + 1 if prev else 1, op.value)
                changed = True
                out.append(PutResult(main, prev if op.prev_kv else None))
            elif isinstance(op, DeleteRange):
                gone = self.select(space, op.key, op.range_end)
                for kv in gone:
                    del space[kv.key]
                changed = changed or bool(gone)
                out.append(DeleteRangeResult(main if changed else self.rev, len(gone),
                                             tuple(gone) if op.prev_kv else ()))
        if changed:
            self.revs.append(space)
        return TxnResult(self.rev, ok, tuple(out)) if isinstance(cmd, Txn) else out[0]


def normal(result: Any) -> Any:
    """Errors compared by code only (details are free text)."""
    if isinstance(result, KVError):
        return result.code
    if isinstance(result, TxnResult):
        return TxnResult(result.revision, result.succeeded,
                         tuple(normal(r) for r in result.responses))
    return result


keys, ends = st.sampled_from(KEYS), st.sampled_from(ENDS)
values = st.sampled_from([b"", b"x", b"y", b"zz"])
ranges = st.builds(Range, keys, ends, limit=st.integers(0, 3), revision=st.integers(0, 12),
                   keys_only=st.booleans(), count_only=st.booleans())
puts = st.builds(Put, keys, values, prev_kv=st.booleans())
deletes = st.builds(DeleteRange, keys, ends, prev_kv=st.booleans())


@st.composite
def compares(draw: st.DrawFn) -> Compare:
    target = draw(st.sampled_from([CompareTarget.VALUE, CompareTarget.VERSION,
                                   CompareTarget.CREATE, CompareTarget.MOD]))
    value = draw(values) if target is CompareTarget.VALUE else draw(st.integers(0, 6))
    return Compare(draw(keys), target, draw(st.sampled_from(CompareResult)), value,
                   draw(st.sampled_from([b"", b"", b"c"])))


flat = st.one_of(ranges, puts, deletes)
txns = st.builds(Txn, st.lists(compares(), max_size=2).map(tuple),
                 st.lists(flat, max_size=3).map(tuple), st.lists(flat, max_size=3).map(tuple))
commands = st.one_of(ranges, puts, puts, deletes, txns, st.builds(Compact, st.integers(0, 12)))


@settings(max_examples=150, deadline=None)
@given(st.lists(commands, max_size=40))
def test_store_agrees_with_the_naive_model(cmds: list[Command]) -> None:
    store, model = KVStore(), Model()
    for i, cmd in enumerate(cmds, start=1):
        applied = store.apply(i, encode(cmd))
        assert applied is not None
        assert normal(applied.result) == model.execute(cmd), cmd
        assert store.revision == model.rev
    copy = KVStore()
    copy.restore(store.snapshot())
    for rev in range(max(model.compacted, 1), model.rev + 1):
        whole = Range(b"\0", b"\0", revision=rev)
        assert copy.read(whole) == store.read(whole) == model.range(whole, model.revs[-1],
                                                                    model.rev)
