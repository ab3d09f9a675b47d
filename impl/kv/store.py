"""The key-value state machine: etcd's multi-version revision model, in memory.

Theory of operation (etcd's ``server/storage/mvcc``):

* The store has one global **revision**, 1 when empty.  Every request that changes something
  (a Put, a DeleteRange that deletes at least one key, a Txn whose taken branch does either)
  is one write transaction and raises the revision by exactly one; all its changes carry
  that revision as their ``mod_revision``.  Reads, failed requests, no-op deletes and
  Compact leave it unchanged.
* Per key: ``create_revision`` is the revision that created the current incarnation,
  ``mod_revision`` the last one that changed it, ``version`` counts puts since creation
  (1 on creation).  A delete writes a tombstone: the key is gone and a later put starts a
  new incarnation (version 1, new create_revision).
* History is kept so that a Range can read at any past revision >= the **compact
  revision**; Compact(r) forgets what no read at >= r can see.
* **Size**: the store accounts the bytes it keeps (:attr:`KVStore.size_bytes`): for every
  version kept in the history, the key, the value and :data:`VERSION_BYTES` of fixed
  overhead (a tombstone counts its key and the overhead).  Compact(r) drops the versions
  no read at >= r can see and subtracts them, so the figure (etcd's ``dbSize``, and what
  ``--quota-backend-bytes`` is checked against) falls as memory is freed.
* A Txn's compares (its nested txns' too) and its checks are evaluated against the state
  before the txn; then the chosen branch runs in order, each op seeing the earlier ones.

``apply(index, data)`` is deterministic and idempotent per Raft index: an index at or below
``applied_index`` is ignored (returns None), so replaying a log after a restart, or after
restoring a snapshot taken at a later index, cannot apply an entry twice.  It never raises
for bad entry bytes: it answers a :class:`KVError` and still consumes the index.  A command
with a client session runs at most once (:mod:`quorum.impl.kv.sessions`, thesis 6.3): a duplicate
entry answers the first execution's result and changes nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from typing import Any

from quorum.impl.gcpause import gc_paused
from quorum.impl.kv.commands import (
    Command,
    CommandDecodeError,
    Compact,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    Op,
    Put,
    Range,
    SortOrder,
    SortTarget,
    Txn,
    adds_data,
    decode,
    is_read_only,
)
from quorum.impl.kv.results import (
    CompactResult,
    DeleteRangeResult,
    ErrorCode,
    KeyValue,
    KVError,
    PutResult,
    RangeResult,
    Result,
    TxnResult,
)
from quorum.impl.kv.sessions import MAX_SESSIONS, Sessions
from quorum.impl.kv.snapshot import SnapshotError, dump_state, load_state
from quorum.impl.kv.snapview import SnapshotView
from quorum.impl.kv.validate import MAX_TXN_OPS_CEILING, validate

__all__ = ["VERSION_BYTES", "Applied", "HistoryError", "KVStore"]

# Accounted per kept version besides its key and value: mod, create revision, version and
# lease (8 bytes each, the integers etcd's backend stores with every version) plus 16 bytes
# for the index entry.  An accounting, not a measurement of Python's memory.
VERSION_BYTES = 48


class HistoryError(RuntimeError):
    """The store's revision history would break: a key written twice in one revision (a
    bug, since :func:`validate` refuses every such transaction).  An explicit check, so
    also under ``python -O``; the node must stop."""


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of applying one log entry (``result`` None for an empty entry)."""

    index: int
    request_id: int
    result: Result | None


Row = tuple[int, int, bytes, int]  # (create_revision, version, value, lease) of one version


class _History:
    """One key's versions, oldest first: ``revs[i]`` is the mod revision of ``rows[i]``;
    a ``None`` row is a tombstone.  Never empty.  Rows are plain tuples (KeyValue objects
    are built only for answers) so that snapshots pack them directly."""

    __slots__ = ("revs", "rows")

    def __init__(self, revs: list[int] | None = None, rows: list[Row | None] | None = None):
        self.revs: list[int] = revs if revs is not None else []
        self.rows: list[Row | None] = rows if rows is not None else []

    def kv(self, key: bytes, i: int) -> KeyValue | None:
        row = self.rows[i] if i >= 0 else None
        if row is None:
            return None
        return KeyValue(key, row[0], self.revs[i], row[1], row[2], row[3])

    def at(self, rev: int) -> int:
        """Position of the version visible at ``rev`` (-1: none)."""
        return bisect_right(self.revs, rev) - 1


@dataclass(slots=True)
class _Plan:
    """A txn's decision, fixed before it runs: branch taken, and plans of nested txns."""

    succeeded: bool
    ops: tuple[Op, ...]
    nested: dict[int, _Plan]  # position in ops -> plan of the Txn there


_SORT_KEYS: dict[SortTarget, Any] = {
    SortTarget.KEY: lambda kv: kv.key,
    SortTarget.VERSION: lambda kv: kv.version,
    SortTarget.CREATE: lambda kv: kv.create_revision,
    SortTarget.MOD: lambda kv: kv.mod_revision,
    SortTarget.VALUE: lambda kv: kv.value,
}

_CMP: dict[CompareResult, Any] = {
    CompareResult.EQUAL: lambda a, b: a == b,
    CompareResult.NOT_EQUAL: lambda a, b: a != b,
    CompareResult.GREATER: lambda a, b: a > b,
    CompareResult.LESS: lambda a, b: a < b,
}

_CMP_FIELD: dict[CompareTarget, Any] = {
    CompareTarget.VERSION: lambda kv: kv.version,
    CompareTarget.CREATE: lambda kv: kv.create_revision,
    CompareTarget.MOD: lambda kv: kv.mod_revision,
    CompareTarget.VALUE: lambda kv: kv.value,
    CompareTarget.LEASE: lambda kv: kv.lease,
}

_ABSENT = KeyValue(b"", 0, 0, 0, b"", 0)  # what a compare sees for a missing key


class KVStore:
    """etcd's key space; see the module docstring.  Not thread-safe (one driver owns it)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, dedup: bool = True) -> None:
        self.sessions = Sessions(max_sessions)  # read-only for callers
        self.dedup = dedup  # False only for the retry-applied-twice mutant (quorum.impl.mutants)
        self._rev = 1
        self._compact_rev = -1  # etcd's compactMainRev before any compaction
        self._applied = 0
        self._keys: list[bytes] = []  # every key with history, sorted
        self._hist: dict[bytes, _History] = {}
        self._main = 0  # revision of the write transaction in progress (0: none)
        self._changed = False
        self._bytes = 0  # accounted size of every kept version (module docstring)
        self._view: SnapshotView | None = None  # a snapshot being taken in pieces
        # Set by the owner from the replicated alarm table (quorum.impl.server.alarms):
        # NOSPACE refuses requests that add data, CORRUPT refuses every request.
        self.nospace = False
        self.corrupt = False

    # --- what callers may read ----------------------------------------------------------
    @property
    def revision(self) -> int:
        """The store's current revision (1 when nothing was ever written)."""
        return self._rev

    @property
    def compact_revision(self) -> int:
        """Reads below this revision are refused as compacted (-1: never compacted)."""
        return self._compact_rev

    @property
    def size_bytes(self) -> int:
        """Accounted bytes of every version kept (module docstring, "Size")."""
        return self._bytes

    @property
    def applied_index(self) -> int:
        """The Raft index of the last entry applied (or restored from a snapshot)."""
        return self._applied

    # --- applying the log ---------------------------------------------------------------
    def apply(self, index: int, data: bytes) -> Applied | None:
        """Apply the log entry at ``index``; None if ``index`` was already applied."""
        if index <= self._applied:
            return None
        self._applied = index
        if not data:  # a leader's empty entry of its new term
            return Applied(index, 0, None)
        try:
            request = decode(data)
        except CommandDecodeError as exc:
            return Applied(index, 0, KVError(ErrorCode.MALFORMED_REQUEST, str(exc)))
        rid, client, seq = request.request_id, request.client_id, request.seq
        decided = self.sessions.lookup(client, seq) if client and self.dedup else None
        if decided is not None:
            return Applied(index, rid, decided)
        result = self.execute(request.command)
        if client:
            self.sessions.record(client, seq, result)
        return Applied(index, rid, result)

    def mark_applied(self, index: int) -> None:
        """Consume an entry that is not a KV command (e.g. a membership change)."""
        self._applied = max(self._applied, index)

    def execute(self, command: Command) -> Result:
        """Run ``command`` now (writes included); the log-free core of :meth:`apply`."""
        err = validate(command, MAX_TXN_OPS_CEILING) or self._alarmed(command)
        if err is not None:
            return err
        if isinstance(command, Compact):
            return self._compact(command.revision)
        txn = command if isinstance(command, Txn) else Txn(success=(command,))
        plan = self._decide(txn)
        err = self._check(plan)
        if err is not None:
            return err
        self._main, self._changed = self._rev + 1, False
        try:
            responses = self._run(plan)
        finally:
            if self._changed:
                self._rev = self._main
            self._main = 0
        if isinstance(command, Txn):
            return TxnResult(self._rev, plan.succeeded, responses)
        return responses[0]

    def read(self, command: Range | Txn) -> Result:
        """Serve a read-only request from local state (serializable, or linearizable once
        the caller's ReadIndex has been applied).  Writes are refused with ValueError."""
        if not is_read_only(command):
            raise ValueError("KVStore.read accepts only a Range or a read-only Txn")
        return self.execute(command)

    def _alarmed(self, command: Command) -> KVError | None:
        if self.corrupt:
            return KVError(ErrorCode.CORRUPT)
        if self.nospace and adds_data(command):
            return KVError(ErrorCode.NO_SPACE)
        return None

    # --- transactions -----------------------------------------------------------------------
    def _decide(self, txn: Txn) -> _Plan:
        ok = all(self._compare(c) for c in txn.compare)
        ops = txn.success if ok else txn.failure
        nested = {i: self._decide(op) for i, op in enumerate(ops) if isinstance(op, Txn)}
        return _Plan(ok, ops, nested)

    def _compare(self, c: Compare) -> bool:
        kvs = self._live(c.key, c.range_end, self._rev)
        if not kvs:
            if c.target is CompareTarget.VALUE:
                return False
            kvs = [_ABSENT]
        field, test = _CMP_FIELD[c.target], _CMP[c.result]
        return all(test(field(kv), c.value) for kv in kvs)

    def _check(self, plan: _Plan) -> KVError | None:
        """etcd's checkTxn: errors on the taken path, judged before anything runs."""
        for i, op in enumerate(plan.ops):
            err: KVError | None = None
            if isinstance(op, Range) and op.revision > 0:
                err = self._check_revision(op.revision, self._rev)
            elif isinstance(op, Put):
                err = self._check_put(op)
            elif isinstance(op, Txn):
                err = self._check(plan.nested[i])
            if err is not None:
                return err
        return None

    def _check_put(self, op: Put) -> KVError | None:
        if op.lease != 0:
            return KVError(ErrorCode.LEASE_NOT_FOUND, f"lease {op.lease}")
        if (op.ignore_value or op.ignore_lease) and self._latest(op.key) is None:
            return KVError(ErrorCode.KEY_NOT_FOUND)
        return None

    def _check_revision(self, rev: int, current: int) -> KVError | None:
        if rev > current:
            return KVError(ErrorCode.FUTURE_REV, f"revision {rev} > {current}")
        if rev < self._compact_rev:
            return KVError(ErrorCode.COMPACTED, f"revision {rev} < {self._compact_rev}")
        return None

    def _run(self, plan: _Plan) -> tuple[Any, ...]:
        out: list[Any] = []
        for i, op in enumerate(plan.ops):
            if isinstance(op, Range):
                out.append(self._range(op))
            elif isinstance(op, Put):
                out.append(self._put(op))
            elif isinstance(op, DeleteRange):
                out.append(self._delete(op))
            else:
                sub = plan.nested[i]
                responses = self._run(sub)
                out.append(TxnResult(self._read_rev(), sub.succeeded, responses))
        return tuple(out)

    def _read_rev(self) -> int:
        return self._main if self._changed else self._rev

    # --- the operations -------------------------------------------------------------------
    def _range(self, r: Range) -> RangeResult | KVError:
        current = self._read_rev()
        rev = r.revision if r.revision > 0 else current
        err = self._check_revision(rev, current)
        if err is not None:
            return err
        kvs = self._live(r.key, r.range_end, rev)
        count = len(kvs)
        kvs = _filter(kvs, r)
        order = r.sort_order
        if r.sort_target is not SortTarget.KEY and order is SortOrder.NONE:
            order = SortOrder.ASCEND
        if not (order is SortOrder.NONE or
                (r.sort_target is SortTarget.KEY and order is SortOrder.ASCEND)):
            kvs.sort(key=_SORT_KEYS[r.sort_target], reverse=order is SortOrder.DESCEND)
        more = 0 < r.limit < len(kvs)
        if more:
            kvs = kvs[: r.limit]
        if r.count_only:
            kvs = []
        elif r.keys_only:
            kvs = [KeyValue(kv.key, kv.create_revision, kv.mod_revision, kv.version, b"",
                            kv.lease) for kv in kvs]
        return RangeResult(current, tuple(kvs), more, count)

    def _put(self, p: Put) -> PutResult:
        h = self._hist.get(p.key)
        prev = h.rows[-1] if h is not None else None
        value, lease = p.value, p.lease
        if prev is None:
            row: Row = (self._main, 1, value, lease)
        else:
            value = prev[2] if p.ignore_value else value
            lease = prev[3] if p.ignore_lease else lease
            row = (prev[0], prev[1] + 1, value, lease)
        prev_kv = h.kv(p.key, len(h.rows) - 1) if p.prev_kv and h is not None else None
        self._append(p.key, row)
        self._changed = True
        return PutResult(self._main, prev_kv)

    def _delete(self, d: DeleteRange) -> DeleteRangeResult:
        victims = self._live(d.key, d.range_end, self._read_rev())
        for kv in victims:
            self._append(kv.key, None)
        if victims:
            self._changed = True
        prev = tuple(victims) if d.prev_kv else ()
        return DeleteRangeResult(self._read_rev(), len(victims), prev)

    def _compact(self, rev: int) -> CompactResult | KVError:
        if rev <= self._compact_rev:
            return KVError(ErrorCode.COMPACTED, f"revision {rev} <= {self._compact_rev}")
        if rev > self._rev:
            return KVError(ErrorCode.FUTURE_REV, f"revision {rev} > {self._rev}")
        for key in list(self._keys):
            h = self._hist[key]
            i = bisect_right(h.revs, rev) - 1
            drop = i + 1 if i >= 0 and h.rows[i] is None else i
            if self._view is not None and (drop > 0 or not h.revs):
                self._view.keep(key, h.revs, h.rows)
            if drop > 0:
                self._bytes -= sum(_cost(key, row) for row in h.rows[:drop])
                del h.revs[:drop], h.rows[:drop]
            if not h.revs:
                del self._hist[key]
                self._keys.pop(bisect_left(self._keys, key))
        self._compact_rev = rev
        return CompactResult(self._rev)

    # --- the multi-version index ------------------------------------------------------------
    def _latest(self, key: bytes) -> KeyValue | None:
        h = self._hist.get(key)
        return h.kv(key, len(h.rows) - 1) if h is not None else None

    def _append(self, key: bytes, row: Row | None) -> None:
        h = self._hist.get(key)
        if h is None:
            h = self._hist[key] = _History()
            insort(self._keys, key)
        if h.revs and h.revs[-1] >= self._main:
            raise HistoryError(f"key {key!r} written twice in revision {self._main}")
        if self._view is not None:
            self._view.keep(key, h.revs, h.rows)
        h.revs.append(self._main)
        h.rows.append(row)
        self._bytes += _cost(key, row)

    def _live(self, key: bytes, range_end: bytes, rev: int) -> list[KeyValue]:
        """The keys of [key, range_end) alive at ``rev``, in key order."""
        latest = rev >= self._read_rev()
        if not range_end:
            h = self._hist.get(key)
            kv = None if h is None else h.kv(key, len(h.revs) - 1 if latest else h.at(rev))
            return [] if kv is None else [kv]
        lo = bisect_left(self._keys, key)
        hi = len(self._keys) if range_end == b"\0" else bisect_left(self._keys, range_end)
        out: list[KeyValue] = []
        for k in self._keys[lo:hi]:
            h = self._hist[k]
            kv = h.kv(k, len(h.revs) - 1 if latest else h.at(rev))
            if kv is not None:
                out.append(kv)
        return out

    # --- snapshots ------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The whole state (history included) as versioned, checksummed msgpack bytes."""
        hist = self._hist
        with gc_paused():
            keys = [[k, hist[k].revs, hist[k].rows] for k in self._keys]
            return dump_state([self._applied, self._rev, self._compact_rev, keys,
                               self.sessions.dump()])

    def snapshot_view(self) -> SnapshotView:
        """The state as it is now, to be packed in pieces while the store goes on
        changing (:mod:`quorum.impl.kv.snapview`); its ``finish()`` returns exactly what
        :meth:`snapshot` returns now.  A view still open is closed first."""
        if self._view is not None:
            self._view.close()
        self._view = SnapshotView(self, self._hist, self._keys[:],
                                  [self._applied, self._rev, self._compact_rev],
                                  self.sessions.dump())
        return self._view

    def restore(self, data: bytes) -> None:
        """Replace the whole state by a :meth:`snapshot`; raises SnapshotError on bad bytes
        (and then leaves this store unchanged)."""
        applied, rev, compact_rev, keys, session_rows = load_state(data)
        if self._view is not None:  # it keeps reading the old tables, which stay unchanged
            self._view.close()
        try:
            sessions = Sessions.load(session_rows, self.sessions.max_sessions)
        except (TypeError, ValueError) as exc:
            raise SnapshotError(f"malformed session table: {exc}") from None
        with gc_paused():
            hist = {key: _History(list(revs), list(rows)) for key, revs, rows in keys}
        self._applied, self._rev, self._compact_rev = applied, rev, compact_rev
        self.sessions = sessions
        self._hist, self._keys = hist, [k for k, _, _ in keys]
        self._bytes = sum(_cost(k, row) for k, _, rows in keys for row in rows)


def _cost(key: bytes, row: Row | None) -> int:
    return len(key) + VERSION_BYTES + (0 if row is None else len(row[2]))


def _filter(kvs: list[KeyValue], r: Range) -> list[KeyValue]:
    if r.max_mod_revision:
        kvs = [kv for kv in kvs if kv.mod_revision <= r.max_mod_revision]
    if r.min_mod_revision:
        kvs = [kv for kv in kvs if kv.mod_revision >= r.min_mod_revision]
    if r.max_create_revision:
        kvs = [kv for kv in kvs if kv.create_revision <= r.max_create_revision]
    if r.min_create_revision:
        kvs = [kv for kv in kvs if kv.create_revision >= r.min_create_revision]
    return kvs
