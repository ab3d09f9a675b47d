"""Reading a data directory back: the durable hard state, snapshot and log.

:func:`recover` only reads.  It replays every segment's records in order and returns what
they add up to, plus where a torn tail starts, so the caller (``DiskStorage.open``) can cut
it off.  The rules:

* A damaged record that is the last thing in the **last** segment, or is followed by
  nothing but zeros there (a partial record, a full-length final record with a bad
  checksum, a zero-filled tail, a last batch that reads back partly or wholly as zeros
  because the file's new size reached the disk before its data) is a write torn by a
  crash: it was never fsynced, so nothing depends on it, and it is cut off, as etcd's
  WAL repairs a torn tail.
* Any other damage (in an earlier segment, or followed by more data, or a record with a good
  checksum that does not decode, or a gap in segment numbers or entry indexes) is
  corruption: :class:`CorruptionError` names the file and byte offset and the node refuses
  to start, since running on a silently shortened log could lose acknowledged writes.
  A bad record followed by an intact one is always corruption: a torn write leaves
  nothing intact behind it.  (etcd refuses likewise; its operator then removes the
  member and adds a fresh one, which catches up from the leader.)
* ENTRIES replace any suffix they overlap (Raft's conflict truncation, Figure 2, "If an
  existing entry conflicts with a new one ... delete the existing entry and all that follow
  it"); a SNAPSHOT marker drops the entries it covers (all of them for an installed one).
* The snapshot is the newest one a durable marker points at; its file must exist and verify.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from quorum.impl.gcpause import gc_paused
from quorum.impl.mutants import Mutant
from quorum.impl.raft.types import Entry, HardState, Snapshot
from quorum.impl.storage.disk import Disk
from quorum.impl.storage.errors import CorruptionError, StorageError
from quorum.impl.storage.records import (
    Damage,
    Kind,
    decode_entries,
    decode_hard_state,
    decode_metadata,
    decode_snapshot_marker,
    resync,
    scan,
)
from quorum.impl.storage.snapfile import read_snapshot, snapshot_name

__all__ = [
    "LogReplay",
    "Recovered",
    "Segment",
    "parse_segment_name",
    "recover",
    "segment_name",
]

_SUFFIX = ".wal"


def segment_name(seq: int, first_index: int) -> str:
    return f"{seq:016x}-{first_index:016x}{_SUFFIX}"


def parse_segment_name(name: str) -> tuple[int, int] | None:
    if not name.endswith(_SUFFIX):
        return None
    try:
        seq, first = (int(x, 16) for x in name[: -len(_SUFFIX)].split("-"))
    except ValueError:
        return None
    return seq, first


@dataclass(frozen=True, slots=True)
class Segment:
    seq: int
    first_index: int
    name: str
    size: int  # bytes of intact records (the torn tail excluded)
    max_index: int  # highest entry index written in it (0: none)


@dataclass(frozen=True, slots=True)
class Recovered:
    hard_state: HardState
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]  # consecutive, starting right after the snapshot (or at 1)
    cluster_id: int
    node_id: int
    segments: tuple[Segment, ...]  # oldest first
    snapshot_marker: tuple[int, int]  # (index, term) of the newest durable marker; (0, 0)
    torn: Damage | None  # a torn tail in the last segment, to be cut off
    headless: bool  # the last segment has no intact METADATA record (crash while creating)


class LogReplay:
    """The log as the records so far describe it (also used by ``DiskStorage`` to follow
    what its fsyncs have made durable)."""

    def __init__(self) -> None:
        self.hs = HardState()
        self.marker = (0, 0)
        self.ents: list[Entry] = []
        self.next_index: int | None = None  # the index the next batch must not skip past
        self.meta: tuple[int, int] | None = None
        self.gap: tuple[tuple[str, int], str] | None = None  # first unexplained hole

    def entries(self, batch: list[Entry], where: tuple[str, int]) -> None:
        batch = [e for e in batch if e.index > self.marker[0]]
        if not batch:
            return
        first = batch[0].index
        if self.next_index is not None and first > self.next_index:
            # Entries are missing: fine if a later snapshot marker covers them (the segments
            # holding them were released after that snapshot), corruption otherwise.
            self.gap = (where, f"entry {first} follows entry {self.next_index - 1}")
            self.ents = []
        if self.ents and first >= self.ents[0].index:
            del self.ents[first - self.ents[0].index:]
        else:
            self.ents = []
        self.ents.extend(batch)
        self.next_index = batch[-1].index + 1

    def snapshot(self, index: int, term: int, replace_log: bool) -> None:
        if index < self.marker[0]:
            return  # an older marker repeated at a segment start
        self.marker = (index, term)
        if self.gap is not None and (not self.ents or self.ents[0].index <= index + 1):
            self.gap = None
        if replace_log or (self.ents and self.ents[-1].index <= index):
            self.ents = []
        else:
            self.ents = [e for e in self.ents if e.index > index]
        if not self.ents:
            self.next_index = index + 1

    def record(self, kind: Kind, p: Any, where: tuple[str, int]) -> None:
        if kind is Kind.ENTRIES:
            self.entries(decode_entries(p), where)
        elif kind is Kind.HARD_STATE:
            self.hs = decode_hard_state(p)
        elif kind is Kind.SNAPSHOT:
            self.snapshot(*decode_snapshot_marker(p))
        else:
            raise CorruptionError(*where, "metadata record inside a segment")


def _segment_files(disk: Disk, wal_dir: str) -> list[tuple[int, int, str]]:
    named = []
    for name in disk.listdir(wal_dir):
        parsed = parse_segment_name(name)
        if parsed is not None:
            named.append((*parsed, name))
    named.sort()
    for (a, _, an), (b, _, bn) in zip(named, named[1:], strict=False):
        if b != a + 1:
            raise CorruptionError(posixpath.join(wal_dir, bn), 0,
                                  f"segment follows {an}, segments in between are missing")
    return named


def _replay_segment(disk: Disk, wal_dir: str, seq: int, first: int, name: str,
                    last: bool, r: LogReplay, mutants: frozenset[Mutant]
                    ) -> tuple[Segment, Damage | None, bool]:
    path = posixpath.join(wal_dir, name)
    buf = disk.read_file(path)
    records, damage = scan(buf)
    while damage is not None and not (last and damage.at_end):
        at = resync(buf, damage.offset + 1)
        if Mutant.WAL_SKIPS_BAD_RECORD not in mutants or at is None:
            raise CorruptionError(path, damage.offset, damage.reason)
        more, damage = scan(buf, at)  # the bug: step over the bad record, read on
        records += more
    if not records:
        if not last:
            raise CorruptionError(path, 0, "segment without a metadata record")
        return Segment(seq, first, name, 0, 0), damage, True
    max_index = 0
    for i, rec in enumerate(records):
        where = (path, rec.offset)
        try:
            if i == 0:
                _check_meta(rec.kind, rec.payload, seq, r, where)
            else:
                r.record(rec.kind, rec.payload, where)
                if rec.kind is Kind.ENTRIES:
                    max_index = max(max_index, rec.payload[-1][1])
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise CorruptionError(*where, f"malformed {rec.kind.name} record: {exc}") from None
    return Segment(seq, first, name, records[-1].end, max_index), damage, False


def _check_meta(kind: Kind, p: Any, seq: int, r: LogReplay, where: tuple[str, int]) -> None:
    if kind is not Kind.METADATA:
        raise CorruptionError(*where, "segment does not start with a metadata record")
    cluster_id, node_id, meta_seq, _ = decode_metadata(p)
    if meta_seq != seq:
        raise CorruptionError(*where, f"metadata says segment {meta_seq}, name says {seq}")
    if r.meta is not None and r.meta != (cluster_id, node_id):
        raise CorruptionError(*where, "segment belongs to another node or cluster")
    r.meta = (cluster_id, node_id)


def recover(disk: Disk, wal_dir: str, snap_dir: str,
            mutants: frozenset[Mutant] = frozenset()) -> Recovered | None:
    """Replay the WAL in ``wal_dir``; None if it holds no segment (a fresh directory).
    ``mutants``: ``DiskStorage.open``'s storage mutants (tests only)."""
    with gc_paused():
        return _recover(disk, wal_dir, snap_dir, mutants)


def _recover(disk: Disk, wal_dir: str, snap_dir: str,
             mutants: frozenset[Mutant]) -> Recovered | None:
    named = _segment_files(disk, wal_dir)
    if not named:
        return None
    r = LogReplay()
    segments, torn, headless = [], None, False
    for i, (seq, first, name) in enumerate(named):
        seg, damage, headless = _replay_segment(disk, wal_dir, seq, first, name,
                                                i == len(named) - 1, r, mutants)
        segments.append(seg)
        torn = damage
    if r.meta is None:  # a lone segment whose header a crash cut off: a fresh directory
        return None
    snap = _load_snapshot(disk, snap_dir, r.marker)
    if r.gap is not None:
        raise CorruptionError(*r.gap[0], r.gap[1] + ": segments are missing")
    if r.ents and r.ents[0].index != r.marker[0] + 1:
        raise CorruptionError(posixpath.join(wal_dir, named[0][2]), 0,
                              f"log starts at entry {r.ents[0].index}, but the snapshot "
                              f"covers only up to {r.marker[0]}: segments are missing")
    return Recovered(r.hs, snap, tuple(r.ents), r.meta[0], r.meta[1], tuple(segments),
                     r.marker, torn, headless)


def _load_snapshot(disk: Disk, snap_dir: str, marker: tuple[int, int]) -> Snapshot | None:
    index, term = marker
    if index == 0:
        return None
    path = posixpath.join(snap_dir, snapshot_name(term, index))
    if not disk.exists(path):
        raise StorageError(f"{path}: the WAL records this snapshot but the file is missing; "
                           "refusing to start")
    return read_snapshot(disk, path)
