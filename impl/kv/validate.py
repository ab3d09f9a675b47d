"""etcd's request checks (``server/etcdserver/api/v3rpc/key.go``), as a pure function.

The gRPC layer calls :func:`validate` before proposing, as etcd does, so a bad request is
refused without a log entry.  :meth:`KVStore.apply` calls it again on every entry, so a
replica never applies a request that a correct server would have refused (the log may hold
anything a buggy or hostile proposer put there), and every replica refuses it identically
(against :data:`MAX_TXN_OPS_CEILING` for the number of operations: each member's
``--max-txn-ops`` is checked before proposing, and members may differ in it).
"""

from __future__ import annotations

from collections.abc import Iterable

from quorum.impl.kv.commands import MAX_TXN_DEPTH, Command, DeleteRange, Op, Put, Range, Txn
from quorum.impl.kv.results import ErrorCode, KVError

__all__ = ["MAX_TXN_OPS", "MAX_TXN_OPS_CEILING", "validate"]

MAX_TXN_OPS = 128  # etcd's default --max-txn-ops
#: the largest --max-txn-ops a member accepts, and the bound the state machine itself
#: applies: members may differ in their flag (as in etcd), but every replica must refuse
#: the same entries, so apply checks against this cluster-wide constant
MAX_TXN_OPS_CEILING = 10_000


def validate(command: Command, max_ops: int = MAX_TXN_OPS) -> KVError | None:
    """The error etcd's API layer would answer for ``command``, or None if it is acceptable;
    ``max_ops``: the member's --max-txn-ops."""
    if isinstance(command, Txn):
        if _depth(command) > MAX_TXN_DEPTH:
            return KVError(ErrorCode.TXN_TOO_DEEP)
        err = _check_txn(command, max_ops)
        if err is None:
            err = _check_intervals(command.success)[2] or _check_intervals(command.failure)[2]
        return err
    if isinstance(command, (Range, Put, DeleteRange)):
        return _check_op(command, max_ops)
    return None


def _depth(txn: Txn) -> int:
    """Levels of Txn in ``txn`` (1: no nested txn); stops counting past the bound."""
    deepest, level = 1, [txn]
    while level and deepest <= MAX_TXN_DEPTH:
        level = [op for t in level for op in t.success + t.failure if isinstance(op, Txn)]
        deepest += bool(level)
    return deepest


def _check_op(op: Op, max_ops: int) -> KVError | None:
    if isinstance(op, Txn):
        return _check_txn(op, max_ops)
    if not op.key:
        return KVError(ErrorCode.EMPTY_KEY)
    if isinstance(op, Put):
        if op.ignore_value and op.value:
            return KVError(ErrorCode.VALUE_PROVIDED)
        if op.ignore_lease and op.lease:
            return KVError(ErrorCode.LEASE_PROVIDED)
    return None


def _check_txn(txn: Txn, max_ops: int) -> KVError | None:
    opc = max(len(txn.compare), len(txn.success), len(txn.failure))
    if opc > max_ops:
        return KVError(ErrorCode.TOO_MANY_OPS)
    if any(not c.key for c in txn.compare):
        return KVError(ErrorCode.EMPTY_KEY)
    for op in txn.success + txn.failure:
        err = _check_op(op, max_ops - opc)
        if err is not None:
            return err
    return None


Interval = tuple[bytes, bytes | None]  # [start, end); end None = unbounded


def _delete_interval(d: DeleteRange) -> Interval:
    if not d.range_end:
        return (d.key, d.key + b"\0")
    return (d.key, None if d.range_end == b"\0" else d.range_end)


def _hits(dels: Iterable[Interval], key: bytes) -> bool:
    return any(lo <= key and (hi is None or key < hi) for lo, hi in dels)


def _check_intervals(ops: tuple[Op, ...]) -> tuple[set[bytes], list[Interval], KVError | None]:
    """etcd's checkIntervals: within one branch, no key is put twice and no key is both put
    and deleted (puts in the two branches of one nested txn may coincide: only one runs)."""
    dup = KVError(ErrorCode.DUPLICATE_KEY)
    dels = [_delete_interval(op) for op in ops if isinstance(op, DeleteRange)]
    puts: set[bytes] = set()
    for op in ops:
        if not isinstance(op, Txn):
            continue
        puts_then, dels_then, err = _check_intervals(op.success)
        if err is None:
            puts_else, dels_else, err = _check_intervals(op.failure)
        if err is not None:
            return puts, dels, err
        for k in puts_then:
            if k in puts or _hits(dels, k):
                return puts, dels, dup
            puts.add(k)
        for k in puts_else:
            if (k in puts and k not in puts_then) or _hits(dels, k):
                return puts, dels, dup
            puts.add(k)
        dels += dels_then + dels_else
    for op in ops:
        if isinstance(op, Put):
            if op.key in puts or _hits(dels, op.key):
                return puts, dels, dup
            puts.add(op.key)
    return puts, dels, None
