"""Multi-Paxos messages to and from msgpack bytes, validating everything that comes in.

:func:`decode_message` turns a peer's untrusted bytes into a :class:`Message` or raises
:class:`~quorum.impl.raft.errors.CodecError` (and nothing else): wrong shapes or types,
negative or oversized numbers, unknown message types, and messages the core could not
handle safely (a ballot of 0, entries where none belong, an ACCEPT whose entries are not
consecutive slots at the message's ballot, a PROMISE reporting a ballot above its own or
slots out of order, an ACCEPTED whose range is reversed, a SNAPSHOT of no slot, snapshot
bytes on a message that carries none).

Wire shape: ``[type, to, frm, ballot, slot, last, entries, commit, context]``, and a tenth
field ``snapshot`` when it is not empty; each entry as the Raft codec's ``[term, index,
type, data]`` (term = ballot, index = slot).
"""

from __future__ import annotations

from typing import Any

import msgpack

from quorum.impl.raft.codec import entry_from_wire, entry_to_wire
from quorum.impl.raft.errors import CodecError
from quorum.impl.raft.types import EntryType

from .types import Message, MessageType

__all__ = ["decode_message", "encode_message", "message_from_wire", "message_to_wire"]

MAX_UINT = (1 << 63) - 1
MT = MessageType


def _uint(x: Any, what: str) -> int:
    if type(x) is not int or not 0 <= x <= MAX_UINT:
        raise CodecError(f"{what}: expected an integer in [0, 2**63), got {type(x).__name__}")
    return x


def message_to_wire(m: Message) -> list[Any]:
    x = [int(m.type), m.to, m.frm, m.ballot, m.slot, m.last,
         [entry_to_wire(e) for e in m.entries], m.commit, m.context]
    if m.snapshot:
        x.append(m.snapshot)
    return x


def message_from_wire(x: Any) -> Message:
    """Rebuild and validate a peer's message (see the module docstring)."""
    if not isinstance(x, list | tuple) or len(x) not in (9, 10):
        raise CodecError("message: expected a list of 9 fields (10 with a snapshot)")
    typ, to, frm, ballot, slot, last, ents, commit, ctx = x[:9]
    snap = x[9] if len(x) == 10 else b""
    if type(snap) is not bytes:
        raise CodecError("snapshot: expected bytes")
    try:
        mtype = MT(_uint(typ, "message type"))
    except ValueError:
        raise CodecError(f"message type: unknown value {typ}") from None
    if not isinstance(ents, list | tuple):
        raise CodecError("entries: expected a list")
    if type(ctx) is not bytes:
        raise CodecError("context: expected bytes")
    m = Message(type=mtype, to=_uint(to, "to"), frm=_uint(frm, "from"),
                ballot=_uint(ballot, "ballot"), slot=_uint(slot, "slot"),
                last=_uint(last, "last"), entries=tuple(entry_from_wire(e) for e in ents),
                commit=_uint(commit, "commit"), context=ctx, snapshot=snap)
    _check(m)
    return m


def _check(m: Message) -> None:
    if m.to == 0 or m.frm == 0:
        raise CodecError("message sender and receiver must be positive node ids")
    if any(e.type is not EntryType.NORMAL for e in m.entries):
        raise CodecError("multipaxos entries carry commands only (no configuration changes)")
    if m.type is MT.PROPOSE:
        if not m.entries:
            raise CodecError("PROPOSE carries at least one value")
        return
    if m.ballot == 0:
        raise CodecError(f"{m.type.name}: ballot must be positive")
    if m.entries and m.type not in (MT.PROMISE, MT.ACCEPT):
        raise CodecError(f"{m.type.name} carries no entries")
    if m.type is MT.PREPARE and m.slot == 0:
        raise CodecError("PREPARE: the first slot asked about must be positive")
    if m.type is MT.ACCEPT:
        for k, e in enumerate(m.entries):
            if e.term != m.ballot or e.index != m.entries[0].index + k or e.index == 0:
                raise CodecError("ACCEPT: entries must be consecutive positive slots at the "
                                 "message's ballot")
    if m.snapshot and m.type not in (MT.PROMISE, MT.SNAPSHOT):
        raise CodecError(f"{m.type.name} carries no snapshot")
    if m.type is MT.SNAPSHOT and m.last == 0:
        raise CodecError("SNAPSHOT: the last slot it covers must be positive")
    if m.type is MT.PROMISE:
        prev = max(m.slot - 1, m.last)
        for e in m.entries:
            if not (e.index > prev and 0 < e.term <= m.ballot):
                raise CodecError("PROMISE: reported slots must increase from the first slot "
                                 "asked about, their ballots positive and below the promise")
            prev = e.index
    if m.type is MT.ACCEPTED and (m.last < m.slot or (m.slot == 0) != (m.last == 0)):
        raise CodecError("ACCEPTED: slot range must be 0..0 or first <= last, both positive")


def encode_message(m: Message) -> bytes:
    """One message as msgpack bytes (a transport frames it)."""
    return msgpack.packb(message_to_wire(m), use_bin_type=True)  # type: ignore[no-any-return]


def decode_message(b: bytes) -> Message:
    """A peer's bytes back into a message; raises only :class:`CodecError`."""
    if type(b) is not bytes:
        raise CodecError(f"expected bytes, got {type(b).__name__}")
    try:
        x = msgpack.unpackb(b, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises many types on garbage; all are the peer's fault
        raise CodecError(f"undecodable msgpack: {type(exc).__name__}") from None
    return message_from_wire(x)
