"""WAL record framing and payloads.

A record is ``u32 length | u32 crc | body`` (little-endian), ``body = kind byte | payload``,
``length = len(body)`` and ``crc = zlib.crc32(body)`` (CRC-32/ISO-HDLC, the IEEE polynomial,
as in zlib and gzip).  Payloads are msgpack arrays:

==============  ==  ==============================================================
kind            id  payload
==============  ==  ==============================================================
METADATA        1   ``[FORMAT, cluster_id, node_id, seq, first_index]``: opens a segment
ENTRIES         2   ``[[term, index, type, data], ...]``, consecutive indexes; the first
                    index may be <= the last one logged: the entries replace that suffix
HARD_STATE      3   ``[term, vote, commit]``
SNAPSHOT        4   ``[index, term, replace_log]``: a snapshot file at (index, term) is
                    durable; entries <= index are covered by it (``replace_log``: an
                    installed snapshot, which discards the whole log)
==============  ==  ==============================================================

:func:`scan` reads records until the first damaged one and reports where and why it
stopped; deciding whether that is a torn tail or corruption is the reader's job.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import msgpack

from quorum.impl.raft.types import Entry, EntryType, HardState

__all__ = [
    "FORMAT",
    "HEADER",
    "MAX_RECORD",
    "Damage",
    "Kind",
    "Record",
    "decode_entries",
    "decode_hard_state",
    "decode_metadata",
    "decode_snapshot_marker",
    "encode_entries",
    "encode_hard_state",
    "encode_metadata",
    "encode_snapshot_marker",
    "frame",
    "resync",
    "scan",
]

FORMAT = 1
HEADER = struct.Struct("<II")
MAX_RECORD = 1 << 30  # a length above this is damage, not a record


class Kind(IntEnum):
    METADATA = 1
    ENTRIES = 2
    HARD_STATE = 3
    SNAPSHOT = 4


@dataclass(frozen=True, slots=True)
class Record:
    offset: int
    end: int  # offset just past the record
    kind: Kind
    payload: Any  # the decoded msgpack value


@dataclass(frozen=True, slots=True)
class Damage:
    """Where scanning stopped and why.  ``at_end``: the damaged record is the last thing in
    the file, or only zeros follow it (a partial record, a bad checksum on the final
    record, a zero-filled tail, or a last batch whose records read back partly or wholly
    as zeros because the file's size reached the disk before its data): the signature of
    a write torn by a crash."""

    offset: int
    reason: str
    at_end: bool


def frame(kind: Kind, payload: Any) -> bytes:
    body = bytes([kind]) + msgpack.packb(payload, use_bin_type=True)
    return HEADER.pack(len(body), zlib.crc32(body)) + body


def scan(buf: bytes, start: int = 0) -> tuple[list[Record], Damage | None]:
    """The intact records of ``buf`` from ``start`` on, in order, and the damage that
    stopped the scan.  Damage counts as ``at_end`` only if no intact record can be found
    anywhere after it (a flipped length byte must not pass for a torn tail and hide the
    records behind it)."""
    records: list[Record] = []
    end, off = len(buf), start
    while off < end:
        rec, reason, at_end = _read_one(buf, off)
        if rec is None:
            if at_end and resync(buf, off + 1) is not None:
                at_end = False
                reason += " (intact records follow it)"
            return records, Damage(off, reason, at_end)
        records.append(rec)
        off = rec.end
    return records, None


def _read_one(buf: bytes, off: int) -> tuple[Record | None, str, bool]:
    """The record at ``off``, or None with the reason and whether it looks torn."""
    end = len(buf)
    if end - off < HEADER.size:
        return None, "partial record header", True
    length, crc = HEADER.unpack_from(buf, off)
    body_end = off + HEADER.size + length
    if length == 0 or length > MAX_RECORD:
        return None, f"invalid record length {length}", not any(buf[off:])
    if body_end > end:
        return None, f"record of {length} bytes cut short at end of file", True
    body = memoryview(buf)[off + HEADER.size:body_end]
    if zlib.crc32(body) != crc:  # torn if nothing but zeros follows it (etcd's rule too)
        return None, "checksum mismatch", body_end == end or not any(buf[body_end:])
    try:
        kind = Kind(body[0])
        payload = msgpack.unpackb(body[1:], raw=False)
    except Exception as exc:
        return None, f"undecodable record with a valid checksum: {exc}", False
    return Record(off, body_end, kind, payload), "", False


def resync(buf: bytes, start: int) -> int | None:
    """The first offset >= start where an intact record begins, if any."""
    end = len(buf)
    for off in range(start, end - HEADER.size):
        length, crc = HEADER.unpack_from(buf, off)
        if 0 < length <= end - off - HEADER.size:
            body = memoryview(buf)[off + HEADER.size:off + HEADER.size + length]
            if zlib.crc32(body) == crc:
                return off
    return None


# --- payloads ---------------------------------------------------------------------------

def encode_metadata(cluster_id: int, node_id: int, seq: int, first_index: int) -> bytes:
    return frame(Kind.METADATA, [FORMAT, cluster_id, node_id, seq, first_index])


def decode_metadata(p: Any) -> tuple[int, int, int, int]:
    fmt, cluster_id, node_id, seq, first_index = p
    if fmt != FORMAT:
        raise ValueError(f"segment format {fmt}, this build reads {FORMAT}")
    return int(cluster_id), int(node_id), int(seq), int(first_index)


def encode_entries(entries: list[Entry] | tuple[Entry, ...]) -> bytes:
    return frame(Kind.ENTRIES, [[e.term, e.index, int(e.type), e.data] for e in entries])


_ENTRY_TYPES = {int(t): t for t in EntryType}  # a dict lookup is ~10x faster than EntryType(x)


def decode_entries(p: Any) -> list[Entry]:
    types = _ENTRY_TYPES
    out = [Entry(t, i, types[ty], d) for t, i, ty, d in p]
    first = out[0].index if out else 0
    if not out or [e.index for e in out] != list(range(first, first + len(out))):
        raise ValueError("entry batch is empty or not consecutive")
    return out


def encode_hard_state(hs: HardState) -> bytes:
    return frame(Kind.HARD_STATE, [hs.term, hs.vote, hs.commit])


def decode_hard_state(p: Any) -> HardState:
    term, vote, commit = p
    return HardState(int(term), int(vote), int(commit))


def encode_snapshot_marker(index: int, term: int, replace_log: bool) -> bytes:
    return frame(Kind.SNAPSHOT, [index, term, replace_log])


def decode_snapshot_marker(p: Any) -> tuple[int, int, bool]:
    index, term, replace_log = p
    return int(index), int(term), bool(replace_log)
