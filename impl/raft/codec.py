"""Raft values to and from msgpack-friendly plain data, validating everything that comes in.

``*_to_wire`` turn a value into nested lists of ints and bytes (msgpack packs them as
arrays, ints and bin); ``*_from_wire`` turn such data back into a value, raising
:class:`~quorum.impl.raft.errors.CodecError` — and nothing else — on any malformed input: wrong
shapes or types, negative or oversized numbers, unknown enum values, and messages the
core could not handle safely (AppendEntries whose entries are not contiguous after
``index``, entries where no entries belong, a SNAPSHOT without a snapshot).  The
transport feeds :func:`decode_message` a peer's untrusted bytes.

Wire shapes (lists, in this order):

* Entry: ``[term, index, type, data]``
* ConfState: ``[voters, learners, voters_outgoing]``
* Snapshot: ``[index, term, conf_state, data]``
* Message: ``[type, to, frm, term, log_term, index, entries, commit, reject,
  reject_hint, snapshot or None, context]``
* HardState: ``[term, vote, commit]``; ConfChange: ``[type, node_id, context]``
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar

import msgpack

from .errors import CodecError
from .types import (
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

__all__ = [
    "conf_change_from_bytes", "conf_change_from_wire", "conf_change_to_bytes",
    "conf_change_to_wire", "decode_message", "encode_message", "entry_from_wire",
    "entry_to_wire", "hard_state_from_wire", "hard_state_to_wire", "message_from_wire",
    "message_to_wire", "snapshot_from_wire", "snapshot_to_wire",
]

MAX_UINT = (1 << 63) - 1
E = TypeVar("E", bound=IntEnum)


# -- primitive checks ----------------------------------------------------------------------
def _uint(x: Any, what: str) -> int:
    if type(x) is not int or not 0 <= x <= MAX_UINT:
        raise CodecError(f"{what}: expected an integer in [0, 2**63), got {type(x).__name__}")
    return x


def _bytes(x: Any, what: str) -> bytes:
    if type(x) is not bytes:
        raise CodecError(f"{what}: expected bytes, got {type(x).__name__}")
    return x


def _bool(x: Any, what: str) -> bool:
    if type(x) is not bool:
        raise CodecError(f"{what}: expected a boolean, got {type(x).__name__}")
    return x


def _seq(x: Any, what: str, n: int | None = None) -> list[Any] | tuple[Any, ...]:
    if not isinstance(x, list | tuple):
        raise CodecError(f"{what}: expected a list, got {type(x).__name__}")
    if n is not None and len(x) != n:
        raise CodecError(f"{what}: expected {n} fields, got {len(x)}")
    return x


def _enum(cls: type[E], x: Any, what: str) -> E:
    try:
        return cls(_uint(x, what))
    except ValueError:
        raise CodecError(f"{what}: unknown value {x}") from None


def _ids(x: Any, what: str) -> tuple[int, ...]:
    ids = tuple(_uint(i, what) for i in _seq(x, what))
    if any(i == 0 for i in ids) or len(set(ids)) != len(ids):
        raise CodecError(f"{what}: node ids must be positive and distinct")
    return ids


# -- values --------------------------------------------------------------------------------
def entry_to_wire(e: Entry) -> list[Any]:
    return [e.term, e.index, int(e.type), e.data]


_ENTRY_TYPES = {int(t): t for t in EntryType}  # a dict lookup is ~10x faster than EntryType(x)


def entry_from_wire(x: Any) -> Entry:
    """One entry of a peer's AppendEntries: the follower's hot path, so the common case
    (a well-formed NORMAL entry) is checked inline; anything else takes the general
    checks, which raise the same errors as before."""
    if type(x) is list and len(x) == 4:
        term, index, typ, data = x
        if (type(term) is int and type(index) is int and type(typ) is int
                and type(data) is bytes and 0 <= term <= MAX_UINT and 0 <= index <= MAX_UINT):
            kind = _ENTRY_TYPES.get(typ)
            if kind is EntryType.NORMAL:
                return Entry(term, index, kind, data)
    term, index, typ, data = _seq(x, "entry", 4)
    e = Entry(term=_uint(term, "entry term"), index=_uint(index, "entry index"),
              type=_enum(EntryType, typ, "entry type"), data=_bytes(data, "entry data"))
    if e.type is EntryType.CONF_CHANGE:
        conf_change_from_bytes(e.data)  # a leader's conf change must be applicable
    return e


def conf_state_to_wire(cs: ConfState) -> list[Any]:
    return [list(cs.voters), list(cs.learners), list(cs.voters_outgoing)]


def conf_state_from_wire(x: Any) -> ConfState:
    v, lrn, out = _seq(x, "conf state", 3)
    return ConfState(voters=_ids(v, "voters"), learners=_ids(lrn, "learners"),
                     voters_outgoing=_ids(out, "outgoing voters"))


def snapshot_to_wire(s: Snapshot) -> list[Any]:
    return [s.meta.index, s.meta.term, conf_state_to_wire(s.meta.conf_state), s.data]


def snapshot_from_wire(x: Any) -> Snapshot:
    index, term, cs, data = _seq(x, "snapshot", 4)
    meta = SnapshotMeta(index=_uint(index, "snapshot index"), term=_uint(term, "snapshot term"),
                        conf_state=conf_state_from_wire(cs))
    return Snapshot(meta=meta, data=_bytes(data, "snapshot data"))


def hard_state_to_wire(hs: HardState) -> list[int]:
    return [hs.term, hs.vote, hs.commit]


def hard_state_from_wire(x: Any) -> HardState:
    term, vote, commit = _seq(x, "hard state", 3)
    return HardState(term=_uint(term, "term"), vote=_uint(vote, "vote"),
                     commit=_uint(commit, "commit"))


def conf_change_to_wire(cc: ConfChange) -> list[Any]:
    return [int(cc.type), cc.node_id, cc.context]


def conf_change_from_wire(x: Any) -> ConfChange:
    typ, node, ctx = _seq(x, "conf change", 3)
    cc = ConfChange(type=_enum(ConfChangeType, typ, "conf change type"),
                    node_id=_uint(node, "conf change node"), context=_bytes(ctx, "context"))
    if cc.node_id == 0:
        raise CodecError("conf change node id must be positive")
    return cc


def conf_change_to_bytes(cc: ConfChange) -> bytes:
    """The data of a CONF_CHANGE log entry."""
    return _pack(conf_change_to_wire(cc))


def conf_change_from_bytes(b: bytes) -> ConfChange:
    return conf_change_from_wire(_unpack(b))


# -- messages ------------------------------------------------------------------------------
def message_to_wire(m: Message) -> list[Any]:
    snap = snapshot_to_wire(m.snapshot) if m.snapshot is not None else None
    return [int(m.type), m.to, m.frm, m.term, m.log_term, m.index,
            [entry_to_wire(e) for e in m.entries], m.commit, m.reject, m.reject_hint,
            snap, m.context]


def message_from_wire(x: Any) -> Message:
    """Rebuild and validate a peer's message (see the module docstring)."""
    (typ, to, frm, term, log_term, index, ents, commit, reject, hint, snap,
     ctx) = _seq(x, "message", 12)
    m = Message(
        type=_enum(MessageType, typ, "message type"), to=_uint(to, "to"),
        frm=_uint(frm, "from"), term=_uint(term, "term"), log_term=_uint(log_term, "log term"),
        index=_uint(index, "index"),
        entries=tuple(entry_from_wire(e) for e in _seq(ents, "entries")),
        commit=_uint(commit, "commit"), reject=_bool(reject, "reject"),
        reject_hint=_uint(hint, "reject hint"),
        snapshot=None if snap is None else snapshot_from_wire(snap),
        context=_bytes(ctx, "context"),
    )
    for check in _CHECKS:
        check(m)
    return m


def _check_ids(m: Message) -> None:
    if m.to == 0 or m.frm == 0:
        raise CodecError("message sender and receiver must be positive node ids")


def _check_entries(m: Message) -> None:
    if m.entries and m.type not in (MessageType.APPEND, MessageType.PROPOSE):
        raise CodecError(f"{m.type.name} carries no entries")
    if m.type is not MessageType.APPEND:
        return
    if m.log_term > m.term or m.index + len(m.entries) > MAX_UINT:
        raise CodecError("append: previous entry term or index out of range")
    prev_term = m.log_term
    for k, e in enumerate(m.entries):
        if e.index != m.index + 1 + k or not prev_term <= e.term <= m.term:
            raise CodecError("append: entries must be contiguous after index, terms "
                             "non-decreasing and at most the message term")
        prev_term = e.term


def _check_snapshot(m: Message) -> None:
    if (m.type is MessageType.SNAPSHOT) != (m.snapshot is not None):
        raise CodecError("a snapshot belongs to SNAPSHOT messages, and they need one")
    if m.snapshot is not None and (m.snapshot.meta.index == 0 or m.snapshot.meta.term > m.term):
        raise CodecError("snapshot index must be positive and its term at most the message's")


_CHECKS: tuple[Callable[[Message], None], ...] = (_check_ids, _check_entries, _check_snapshot)


def _pack(x: Any) -> bytes:
    return msgpack.packb(x, use_bin_type=True)


def _unpack(b: Any) -> Any:
    if type(b) is not bytes:
        raise CodecError(f"expected bytes, got {type(b).__name__}")
    try:
        return msgpack.unpackb(b, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types on garbage; all are the peer's fault
        raise CodecError(f"undecodable msgpack: {type(exc).__name__}") from None


def encode_message(m: Message, runs: dict[tuple[int, int, int], bytes] | None = None) -> bytes:
    """One message as msgpack bytes (the transport frames it).

    ``runs``, when given, caches packed entry runs for the other messages of the same
    batch (a leader's AppendEntries of one Ready to its followers): a run is known by its
    first index, last index and last term, which identify it within one log (the Log
    Matching property), so callers share a cache only among messages taken from one log at
    one moment.  The bytes are the same as without the cache: msgpack's array of the
    message's fields with the cached run spliced in as its seventh element."""
    if runs is None or not m.entries:
        return _pack(message_to_wire(m))
    first, last = m.entries[0], m.entries[-1]
    key = (first.index, last.index, last.term)
    packed = runs.get(key)
    if packed is None:
        packed = runs[key] = _pack([entry_to_wire(e) for e in m.entries])
    pack = _PACKER.pack
    head = pack([int(m.type), m.to, m.frm, m.term, m.log_term, m.index])
    snap = snapshot_to_wire(m.snapshot) if m.snapshot is not None else None
    tail = pack([m.commit, m.reject, m.reject_hint, snap, m.context])
    # fixarray headers: 0x96 (6 fields) and 0x95 (5) dropped, 0x9c (12) for the whole
    return b"".join((_FIXARRAY_12, memoryview(head)[1:], packed, memoryview(tail)[1:]))


_FIXARRAY_12 = b"\x9c"
# one packer for the small head and tail (msgpack.packb builds a Packer per call); packing
# plain lists runs in C without calling back into Python, so no call can interleave
_PACKER = msgpack.Packer(use_bin_type=True)


def decode_message(b: bytes) -> Message:
    """A peer's bytes back into a message; raises only :class:`CodecError`."""
    return message_from_wire(_unpack(b))
