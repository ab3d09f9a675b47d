"""Client sessions: exactly-once execution of replicated commands (Ongaro's thesis, 6.3).

A command may reach the log more than once: the network duplicates a forwarded proposal,
or a server retries a proposal whose first copy was in fact committed.  Each command may
therefore carry a session ``(client_id, seq)``.  The state machine remembers, per client,
the highest ``seq`` it executed and that command's result, and decides each new command
before executing it (:meth:`Sessions.lookup`):

* ``seq`` equal to the remembered one: a duplicate; answer the remembered result and change
  nothing else;
* ``seq`` below it: a stale copy of a command the client has moved past; refuse it with
  ``STALE_REQUEST`` (it changes nothing, and no one waits for it);
* an unknown client with ``seq`` above 1: its session expired (or never existed); refuse
  with ``SESSION_EXPIRED`` rather than risk running an old command again;
* otherwise execute, and :meth:`Sessions.record` the result.

A client must issue its sequence numbers in increasing order, starting at 1, with at most
one command outstanding per client id, and must start a new client id once it gives up on a
command.  ``client_id`` 0 means "no session": such commands are executed every time.

Expiry is deterministic because it depends only on the log: at most ``max_sessions``
sessions are kept, and the least recently used one (by the order commands of each client
were applied) is forgotten first.  The table is part of the snapshot, in that order.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

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

__all__ = ["MAX_SESSIONS", "Sessions", "pack_result", "unpack_result"]

MAX_SESSIONS = 16384  # same on every replica: it decides which session expires


class Sessions:
    """The per-client table of last sequence number and result; see the module docstring."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self._table: OrderedDict[int, tuple[int, Result]] = OrderedDict()
        self.hits = 0  # duplicates answered from the table (a local counter, not state)

    def __len__(self) -> int:
        return len(self._table)

    def last(self, client_id: int) -> tuple[int, Result] | None:
        """``(seq, result)`` remembered for ``client_id``, or None."""
        return self._table.get(client_id)

    def lookup(self, client_id: int, seq: int) -> Result | None:
        """The answer to a command already decided, or None: execute it, then record."""
        entry = self._table.get(client_id)
        if entry is None:
            return None if seq == 1 else KVError(ErrorCode.SESSION_EXPIRED,
                                                 f"client {client_id:x} seq {seq}")
        last_seq, result = entry
        if seq == last_seq:
            self._table.move_to_end(client_id)
            self.hits += 1
            return result
        if seq < last_seq:
            return KVError(ErrorCode.STALE_REQUEST, f"seq {seq} < {last_seq}")
        return None

    def record(self, client_id: int, seq: int, result: Result) -> None:
        """Remember ``result`` as the answer to ``(client_id, seq)``; expire the least
        recently used sessions beyond ``max_sessions``."""
        self._table[client_id] = (seq, result)
        self._table.move_to_end(client_id)
        while len(self._table) > self.max_sessions:
            self._table.popitem(last=False)

    # --- snapshots ----------------------------------------------------------------------
    def dump(self) -> list[Any]:
        """Plain msgpack-able rows ``[client_id, seq, packed result]``, oldest use first."""
        return [[c, seq, pack_result(r)] for c, (seq, r) in self._table.items()]

    @classmethod
    def load(cls, rows: Any, max_sessions: int = MAX_SESSIONS) -> Sessions:
        """Invert :meth:`dump`; raises ValueError on malformed rows."""
        s = cls(max_sessions)
        for row in rows:
            client_id, seq, packed = row
            if type(client_id) is not int or type(seq) is not int or client_id in s._table:
                raise ValueError("malformed session row")
            s._table[client_id] = (seq, unpack_result(packed))
        return s


# --- results as plain data (for the snapshot) ---------------------------------------------

def _pack_kv(kv: KeyValue) -> list[Any]:
    return [kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.value, kv.lease]


def _unpack_kv(raw: Any) -> KeyValue:
    key, create, mod, version, value, lease = raw
    return KeyValue(key, create, mod, version, value, lease)


def pack_result(r: Result) -> list[Any]:
    """A result as nested lists of ints, bools and bytes; :func:`unpack_result` inverts it."""
    if isinstance(r, RangeResult):
        return [0, r.revision, [_pack_kv(kv) for kv in r.kvs], r.more, r.count]
    if isinstance(r, PutResult):
        return [1, r.revision, None if r.prev_kv is None else _pack_kv(r.prev_kv)]
    if isinstance(r, DeleteRangeResult):
        return [2, r.revision, r.deleted, [_pack_kv(kv) for kv in r.prev_kvs]]
    if isinstance(r, TxnResult):
        return [3, r.revision, r.succeeded, [pack_result(x) for x in r.responses]]
    if isinstance(r, CompactResult):
        return [4, r.revision]
    return [5, r.code.name, r.detail]


def unpack_result(raw: Any) -> Result:
    """Invert :func:`pack_result` (lists or tuples); raises ValueError on anything else."""
    try:
        tag = raw[0]
        if tag == 0:
            return RangeResult(raw[1], tuple(_unpack_kv(k) for k in raw[2]), raw[3], raw[4])
        if tag == 1:
            return PutResult(raw[1], None if raw[2] is None else _unpack_kv(raw[2]))
        if tag == 2:
            return DeleteRangeResult(raw[1], raw[2], tuple(_unpack_kv(k) for k in raw[3]))
        if tag == 3:
            subs = tuple(unpack_result(x) for x in raw[3])
            return TxnResult(raw[1], raw[2], subs)  # type: ignore[arg-type]
        if tag == 4:
            return CompactResult(raw[1])
        if tag == 5:
            return KVError(ErrorCode[raw[1]], raw[2])
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"malformed result: {exc}") from None
    raise ValueError(f"unknown result tag {tag!r}")
