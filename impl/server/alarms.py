"""Cluster alarms (etcd's ``AlarmType``): NOSPACE and CORRUPT, replicated through Raft.

An alarm is a pair (member id, alarm type): "this member raised this alarm".  As in etcd,
raising or clearing one is a **proposal**: the request becomes a log entry, and every member
applies it to its copy of the alarm table (:class:`Alarms`, part of the replicated state
machine and of its snapshots), so every member sees the same alarms and refuses the same
requests while they are active:

* ``NOSPACE``: the key-value store passed ``--quota-backend-bytes``.  While it is active,
  requests that add data (a Put, a Txn holding a Put) are refused with etcd's
  ``etcdserver: mvcc: database space exceeded``; reads, deletes and Compact still work, so an
  operator can free space and then clear the alarm (``etcdctl alarm disarm``).
* ``CORRUPT``: members disagree on the store's content.  While it is active, every
  key-value request is refused with etcd's ``etcdserver: corrupt cluster``.

The API, small on purpose:

* :class:`AlarmType`, :class:`AlarmAction`: etcd's enum numbers (``rpc.proto``).
* :func:`encode_alarm` / :func:`decode_alarm`: the log entry of one alarm request (data
  starting with :data:`ALARM_PREFIX`).
* :class:`Alarms`: the replicated table; :meth:`Alarms.apply` applies a decoded entry.
* To raise an alarm from server code, e.g. CORRUPT for member ``m`` from a hash check::

      await requests.alarm(AlarmAction.ACTIVATE, m, AlarmType.CORRUPT)

  (:meth:`quorum.impl.server.requests.Requests.alarm`: proposes the entry and returns the
  alarm table once it is applied on this member.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import msgpack

__all__ = [
    "ALARM_PREFIX",
    "AlarmAction",
    "AlarmRequest",
    "AlarmType",
    "Alarms",
    "decode_alarm",
    "encode_alarm",
]

ALARM_PREFIX = b"QA"  # never the first byte of a KV command (a msgpack array)


class AlarmType(IntEnum):
    NONE = 0
    NOSPACE = 1
    CORRUPT = 2


class AlarmAction(IntEnum):
    GET = 0
    ACTIVATE = 1
    DEACTIVATE = 2


@dataclass(frozen=True, slots=True)
class AlarmRequest:
    """One decoded alarm entry: who proposed it (``request_id``) and what it does."""

    action: AlarmAction
    member_id: int
    alarm: AlarmType
    request_id: int = 0


def encode_alarm(action: AlarmAction, member_id: int, alarm: AlarmType,
                 request_id: int = 0) -> bytes:
    """The log entry data of an ACTIVATE or DEACTIVATE request."""
    return ALARM_PREFIX + msgpack.packb([request_id, int(action), member_id, int(alarm)])


def decode_alarm(data: bytes) -> AlarmRequest | None:
    """Invert :func:`encode_alarm`; None for anything else (applying ignores such an entry,
    so every member ignores it alike)."""
    if not data.startswith(ALARM_PREFIX):
        return None
    try:
        raw = msgpack.unpackb(data[len(ALARM_PREFIX):])
        request_id, action, member_id, alarm = raw
        if not all(type(x) is int for x in raw) or not 0 <= member_id < 2**64:
            return None
        return AlarmRequest(AlarmAction(action), member_id, AlarmType(alarm), request_id)
    except Exception:  # msgpack raises several unrelated types on bad input
        return None


class Alarms:
    """The replicated alarm table: a set of (member id, type), NONE never in it."""

    def __init__(self) -> None:
        self._active: set[tuple[int, AlarmType]] = set()

    def has(self, alarm: AlarmType) -> bool:
        """Is ``alarm`` active on any member?"""
        return any(t is alarm for _, t in self._active)

    def active(self, member_id: int = 0, alarm: AlarmType = AlarmType.NONE
             ) -> list[tuple[int, AlarmType]]:
        """The active alarms, sorted; 0 / NONE match every member / type (etcd's GET)."""
        return sorted((m, t) for m, t in self._active
                      if member_id in (0, m) and alarm in (AlarmType.NONE, t))

    def apply(self, req: AlarmRequest) -> list[tuple[int, AlarmType]]:
        """Apply an ACTIVATE or DEACTIVATE (NONE or GET change nothing); return the
        alarms the request concerns, as etcd's AlarmResponse lists them."""
        if req.alarm is AlarmType.NONE or req.action is AlarmAction.GET:
            return self.active(req.member_id, req.alarm)
        pair = (req.member_id, req.alarm)
        if req.action is AlarmAction.ACTIVATE:
            self._active.add(pair)
            return [pair]
        if pair in self._active:
            self._active.discard(pair)
            return [pair]
        return []

    def dump(self) -> list[Any]:
        return [[m, int(t)] for m, t in self.active()]

    def load(self, raw: Any) -> None:
        """Replace the table by :meth:`dump`'s output (raises ValueError when malformed)."""
        try:
            active = {(int(m), AlarmType(t)) for m, t in raw}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed alarm table in snapshot: {exc}") from None
        active.discard((0, AlarmType.NONE))
        self._active = {p for p in active if p[1] is not AlarmType.NONE}
