"""The byte format of a key-value snapshot: msgpack ``[MAGIC, VERSION, crc32, payload]``.

``payload`` is the msgpack encoding of the store's state (see ``KVStore.snapshot``):
``[applied_index, revision, compact_revision, keys, sessions]`` (version 1, still read,
had no ``sessions``), and
``crc32`` is ``zlib.crc32(payload)`` (CRC-32/ISO-HDLC, the IEEE polynomial).  The encoding is
deterministic: two stores in the same state produce the same bytes, so replicas can be
compared by hashing their snapshots.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgpack

from quorum.impl.gcpause import gc_paused

__all__ = ["MAGIC", "VERSION", "SnapshotError", "dump_state", "bin_header", "load_state",
           "seal", "seal_parts"]

MAGIC = b"quorum-kv"
VERSION = 2  # 2 added the client session table; 1 is still read (no sessions)


class SnapshotError(ValueError):
    """Bytes that are not a valid key-value snapshot of this version."""


def dump_state(state: list[Any]) -> bytes:
    return seal(msgpack.packb(state, use_bin_type=True))


def seal(payload: bytes) -> bytes:
    """The snapshot of an already packed ``payload``."""
    return msgpack.packb([MAGIC, VERSION, zlib.crc32(payload), payload], use_bin_type=True)


def bin_header(size: int) -> bytes:
    """The msgpack header of a ``size``-byte bin (what ``packb`` writes before bytes)."""
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")


def seal_parts(payload: list[bytes]) -> list[bytes]:
    """:func:`seal` of a payload packed piece by piece, as pieces (joined, the same bytes),
    without copying the payload: the checksum runs over the pieces."""
    crc, size = 0, 0
    for part in payload:
        crc, size = zlib.crc32(part, crc), size + len(part)
    p = msgpack.Packer(use_bin_type=True)
    head = p.pack_array_header(4) + p.pack(MAGIC) + p.pack(VERSION) + p.pack(crc)
    return [head + bin_header(size), *payload]


def load_state(data: bytes) -> tuple[int, int, int, tuple[Any, ...], tuple[Any, ...]]:
    """``(applied_index, revision, compact_revision, keys, sessions)`` of a snapshot, keys
    checked (sessions are checked by their loader); arrays come back as tuples."""
    try:
        outer = msgpack.unpackb(data, raw=False)
    except Exception as exc:
        raise SnapshotError(f"not a snapshot: {exc}") from None
    if not (isinstance(outer, list) and len(outer) == 4 and outer[0] == MAGIC):
        raise SnapshotError("not a quorum key-value snapshot")
    _, version, crc, payload = outer
    if version not in (1, VERSION):
        raise SnapshotError(f"snapshot format {version!r}, this build reads 1 and {VERSION}")
    if not isinstance(payload, bytes) or zlib.crc32(payload) != crc:
        raise SnapshotError("snapshot checksum mismatch")
    try:
        with gc_paused():
            fields = msgpack.unpackb(payload, raw=False, use_list=False)
        if len(fields) != (4 if version == 1 else 5):
            raise SnapshotError("malformed snapshot payload: wrong number of fields")
        applied, rev, compact_rev, keys = fields[:4]
        sessions = fields[4] if version != 1 else ()
        _check_keys(keys)
    except SnapshotError:
        raise
    except Exception as exc:
        raise SnapshotError(f"malformed snapshot payload: {exc}") from None
    if not all(type(x) is int for x in (applied, rev, compact_rev)):
        raise SnapshotError("malformed snapshot header fields")
    return applied, rev, compact_rev, keys, sessions


def _check_keys(keys: Any) -> None:
    if not isinstance(keys, tuple):
        raise SnapshotError("snapshot key table is not a list")
    names = [entry[0] for entry in keys]
    if any(a >= b for a, b in zip(names, names[1:], strict=False)):
        raise SnapshotError("snapshot keys are not sorted and unique")
    for entry in keys:
        key, revs, rows = entry
        if type(key) is not bytes or len(revs) != len(rows) or not revs:
            raise SnapshotError("malformed key history in snapshot")
        for row in rows:
            if row is not None and not (type(row) is tuple and len(row) == 4
                                        and type(row[2]) is bytes):
                raise SnapshotError("malformed key version in snapshot")
