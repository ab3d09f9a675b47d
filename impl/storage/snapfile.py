"""Snapshot files: ``snap/<term:016x>-<index:016x>.snap``, written atomically.

Format: ``b"QSNAP001" | u32 crc32(payload) | payload``, payload = msgpack
``[index, term, voters, learners, voters_outgoing, data]``.  Writing goes to a ``.tmp`` file
that is fsynced, renamed over the final name, and then the directory is fsynced: a crash
leaves either no snapshot or a complete one, never a partial file under the final name.
"""

from __future__ import annotations

import posixpath
import struct
import zlib

import msgpack

from quorum.impl.raft.types import ConfState, Snapshot, SnapshotMeta
from quorum.impl.storage.disk import Disk
from quorum.impl.storage.errors import CorruptionError

__all__ = ["list_snapshots", "read_snapshot", "snapshot_name", "write_snapshot"]

_MAGIC = b"QSNAP001"
_CRC = struct.Struct("<I")
_SUFFIX = ".snap"


def snapshot_name(term: int, index: int) -> str:
    return f"{term:016x}-{index:016x}{_SUFFIX}"


def list_snapshots(disk: Disk, snap_dir: str) -> list[tuple[int, int, str]]:
    """``(index, term, name)`` of every snapshot file, oldest first (temp files skipped)."""
    out = []
    for name in disk.listdir(snap_dir):
        if not name.endswith(_SUFFIX):
            continue
        try:
            term, index = (int(x, 16) for x in name[: -len(_SUFFIX)].split("-"))
        except ValueError:
            continue
        out.append((index, term, name))
    return sorted(out)


def write_snapshot(disk: Disk, snap_dir: str, snap: Snapshot) -> str:
    """Durably write ``snap``; returns its file name."""
    m = snap.meta
    c = m.conf_state
    payload = msgpack.packb([m.index, m.term, list(c.voters), list(c.learners),
                             list(c.voters_outgoing), snap.data], use_bin_type=True)
    name = snapshot_name(m.term, m.index)
    final, tmp = posixpath.join(snap_dir, name), posixpath.join(snap_dir, name + ".tmp")
    if disk.exists(tmp):
        disk.remove(tmp)
    f = disk.open_append(tmp)
    try:
        f.write(_MAGIC + _CRC.pack(zlib.crc32(payload)) + payload)
        f.sync()
    finally:
        f.close()
    disk.rename(tmp, final)
    disk.sync_dir(snap_dir)
    return name


def read_snapshot(disk: Disk, path: str) -> Snapshot:
    """Read and verify a snapshot file; :class:`CorruptionError` if it is damaged."""
    raw = disk.read_file(path)
    head = len(_MAGIC) + _CRC.size
    if len(raw) < head or raw[: len(_MAGIC)] != _MAGIC:
        raise CorruptionError(path, 0, "not a snapshot file")
    (crc,) = _CRC.unpack_from(raw, len(_MAGIC))
    payload = raw[head:]
    if zlib.crc32(payload) != crc:
        raise CorruptionError(path, head, "snapshot checksum mismatch")
    try:
        index, term, voters, learners, outgoing, data = msgpack.unpackb(payload, raw=False)
        conf = ConfState(tuple(voters), tuple(learners), tuple(outgoing))
        return Snapshot(SnapshotMeta(int(index), int(term), conf), bytes(data))
    except Exception as exc:
        raise CorruptionError(path, head, f"undecodable snapshot: {exc}") from None
