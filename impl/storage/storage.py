"""``DiskStorage``: the durable half of a Raft node (hard state, log, snapshots).

Layout of a data directory::

    <dir>/wal/<seq:016x>-<first_index:016x>.wal   segments of the write-ahead log
    <dir>/snap/<term:016x>-<index:016x>.snap       snapshot files

What is fsynced when (the promise behind every acknowledgement):

* :meth:`DiskStorage.save` is one group commit: it appends the records of a whole batch
  (snapshot marker, entries, hard state) with one write and then fsyncs **once**, if the
  batch holds entries, a snapshot, or a new term or vote (etcd's MustSync rule; a change
  of commit index alone is written but not fsynced: commit is volatile in Raft and is
  recomputed after a restart).  Messages that depend on the batch may be sent only after
  ``save`` returns.
* A snapshot is written to a temp file, fsynced, renamed, and its directory fsynced
  *before* the WAL marker that refers to it is written and fsynced.
* A new segment is created when the current one exceeds ``segment_bytes``: the old one is
  fsynced, the new one gets a header (metadata, the newest snapshot marker, the hard state)
  and is fsynced, and so is the directory, so every segment is self-describing.
* :meth:`release_to` deletes segments holding only entries covered by a durable snapshot,
  and older snapshot files, then fsyncs the directories.

Recovery (:meth:`DiskStorage.open`) is described in :mod:`quorum.impl.storage.recovery`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from typing import Any

from quorum.impl.mutants import Layer, Mutant, foreign, names
from quorum.impl.raft.types import Entry, HardState, Snapshot
from quorum.impl.storage.disk import Disk, DiskFile
from quorum.impl.storage.errors import StorageError
from quorum.impl.storage.records import (
    encode_entries,
    encode_hard_state,
    encode_metadata,
    encode_snapshot_marker,
)
from quorum.impl.storage.recovery import (
    LogReplay,
    Recovered,
    Segment,
    parse_segment_name,
    recover,
    segment_name,
)
from quorum.impl.storage.snapfile import list_snapshots, write_snapshot

__all__ = ["SEGMENT_BYTES", "DiskStorage", "State"]

SEGMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class State:
    """What a node finds on disk when it starts."""

    hard_state: HardState
    snapshot: Snapshot | None
    entries: tuple[Entry, ...]


_Op = tuple[str, Any]  # ("entries", [Entry]) | ("hs", HardState) | ("snap", (Snapshot, bool))


def _runs(entries: tuple[Entry, ...] | list[Entry]) -> list[list[Entry]]:
    """Split a batch where an index does not follow its predecessor (a later Ready of the
    batch overwrote a suffix of an earlier one): each run becomes one ENTRIES record."""
    runs: list[list[Entry]] = []
    for e in entries:
        if runs and e.index == runs[-1][-1].index + 1:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs


class DiskStorage:
    """A node's WAL and snapshots over a :class:`~quorum.impl.storage.disk.Disk`.  Open with
    :meth:`open`; one owner at a time; every method may raise ``OSError`` from the disk.

    ``hard_state``, ``last_index`` and ``snapshot_marker`` describe what has been
    *written*, which may be ahead of what is durable (a commit-only hard state, or a vote
    under the ``Mutant.NO_FSYNC_VOTE`` mutant); :meth:`durable` and :attr:`durable_hard_state`
    describe what a crash now would leave."""

    def __init__(self, disk: Disk, directory: str, *, cluster_id: int, node_id: int,
                 segment_bytes: int, mutants: frozenset[Mutant]) -> None:
        self.disk, self.dir = disk, directory
        self.wal_dir, self.snap_dir = posixpath.join(directory, "wal"), posixpath.join(
            directory, "snap")
        self.cluster_id, self.node_id = cluster_id, node_id
        self.segment_bytes, self.mutants = segment_bytes, mutants
        self.hard_state = HardState()
        self.snapshot_marker = (0, 0)  # (index, term) of the newest durable snapshot
        self.last_index = 0
        self.segments: list[Segment] = []
        self._file: DiskFile | None = None
        self._size = 0  # bytes in the current (last) segment
        # What a crash would keep right now: replayed from the records each fsync covered.
        self._durable = LogReplay()
        self._durable_snapshot: Snapshot | None = None
        self._pending: list[_Op] = []  # records written since the last fsync

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, disk: Disk, directory: str, *, cluster_id: int, node_id: int,
             segment_bytes: int = SEGMENT_BYTES,
             mutants: frozenset[Mutant] = frozenset()) -> tuple[DiskStorage, State]:
        """Open (creating if needed) the data directory and recover its state.  Raises
        :class:`CorruptionError` on damage that is not a torn tail, :class:`StorageError`
        if the directory belongs to another node or cluster.  ``mutants``: storage members
        of :class:`~quorum.impl.mutants.Mutant`, for the mutant tests only."""
        unknown = foreign(mutants, Layer.STORAGE)
        if unknown:
            raise StorageError(f"unknown storage mutants {', '.join(unknown)}; known: "
                               f"{', '.join(names(Layer.STORAGE))}")
        s = cls(disk, directory, cluster_id=cluster_id, node_id=node_id,
                segment_bytes=segment_bytes, mutants=frozenset(mutants))
        created = not disk.exists(s.wal_dir)
        disk.makedirs(s.wal_dir)
        disk.makedirs(s.snap_dir)
        if created:  # make the new directories' own names durable too
            disk.sync_dir(directory)
            parent = posixpath.dirname(posixpath.normpath(directory))
            if parent and disk.exists(parent):
                disk.sync_dir(parent)
        rec = recover(disk, s.wal_dir, s.snap_dir, s.mutants)
        if rec is None:  # fresh, or a crash while creating the very first segment
            for name in disk.listdir(s.wal_dir):
                if parse_segment_name(name) is not None:
                    disk.remove(posixpath.join(s.wal_dir, name))
            s._create_segment(0, 1)
            return s, State(HardState(), None, ())
        if (rec.cluster_id, rec.node_id) != (cluster_id, node_id):
            raise StorageError(
                f"{directory} holds node {rec.node_id:x} of cluster {rec.cluster_id:x}, not "
                f"node {node_id:x} of cluster {cluster_id:x}; refusing to start")
        s._resume(rec)
        return s, State(rec.hard_state, rec.snapshot, rec.entries)

    def _resume(self, rec: Recovered) -> None:
        self.hard_state, self.snapshot_marker = rec.hard_state, rec.snapshot_marker
        d = self._durable
        d.hs, d.marker, d.ents = rec.hard_state, rec.snapshot_marker, list(rec.entries)
        if rec.entries or rec.snapshot_marker[0]:
            d.next_index = (rec.entries[-1].index if rec.entries else d.marker[0]) + 1
        self._durable_snapshot = rec.snapshot
        self.last_index = rec.entries[-1].index if rec.entries else rec.snapshot_marker[0]
        self.segments = list(rec.segments)
        last = self.segments[-1]
        path = posixpath.join(self.wal_dir, last.name)
        if rec.torn is not None or rec.headless:
            self.disk.truncate(path, last.size)
        self._file, self._size = self.disk.open_append(path), last.size
        if rec.headless:  # crashed while creating this segment: write its header again
            self.segments.pop()
            self._file.close()
            self._create_segment(last.seq, last.first_index, path_exists=True)
        else:  # what we recovered may sit in the page cache only (a process crash)
            self._sync()
        for name in self.disk.listdir(self.snap_dir):
            if name.endswith(".tmp"):  # a snapshot whose write a crash interrupted
                self.disk.remove(posixpath.join(self.snap_dir, name))

    # --- segments ---------------------------------------------------------------------------
    def _header(self, seq: int, first_index: int) -> bytes:
        parts = [encode_metadata(self.cluster_id, self.node_id, seq, first_index)]
        if self.snapshot_marker[0]:
            parts.append(encode_snapshot_marker(*self.snapshot_marker, replace_log=False))
        parts.append(encode_hard_state(self.hard_state))
        return b"".join(parts)

    def _create_segment(self, seq: int, first_index: int, path_exists: bool = False) -> None:
        name = segment_name(seq, first_index)
        path = posixpath.join(self.wal_dir, name)
        self._file, self._size = self.disk.open_append(path), 0
        self._write(self._header(seq, first_index), [("hs", self.hard_state)])
        self._sync()
        if not path_exists:
            self.disk.sync_dir(self.wal_dir)
        self.segments.append(Segment(seq, first_index, name, self._size, 0))

    def _current(self) -> DiskFile:
        """The segment being written; StorageError once the storage is closed."""
        if self._file is None:
            raise StorageError("storage is closed")
        return self._file

    def _rotate(self) -> None:
        self._sync()
        self._current().close()
        self._create_segment(self.segments[-1].seq + 1, self.last_index + 1)

    def _write(self, data: bytes, ops: list[_Op]) -> None:
        self._current().write(data)
        self._size += len(data)
        self._pending.extend(ops)

    def _sync(self) -> None:
        """fsync the current segment; everything written so far is now durable."""
        self._current().sync()
        d, where = self._durable, ("<durable state>", 0)
        for kind, arg in self._pending:
            if kind == "entries":
                d.entries(arg, where)
            elif kind == "hs":
                d.hs = arg
            else:
                snap, replace_log = arg
                d.snapshot(snap.meta.index, snap.meta.term, replace_log)
                self._durable_snapshot = snap
        self._pending.clear()

    @property
    def durable_hard_state(self) -> HardState:
        """Term, vote and commit as a crash now would leave them (O(1))."""
        return self._durable.hs

    def durable(self) -> State:
        """The state a crash now would leave (what :meth:`open` would then return): the
        records covered by an fsync.  For the simulator's refinement mapping, which must
        see a node's term, vote and log as they are on disk, not as the node believes."""
        d = self._durable
        return State(d.hs, self._durable_snapshot, tuple(d.ents))

    # --- writing ----------------------------------------------------------------------------
    def save(self, hard_state: HardState | None, entries: tuple[Entry, ...] | list[Entry] = (),
             snapshot: Snapshot | None = None) -> bool:
        """Make one batch durable (see the module docstring); returns whether it fsynced.
        ``entries`` may overwrite a suffix of the log, and may hold several runs (the
        entries of several Readies in order).  ``snapshot`` is one installed from a leader:
        it replaces the log up to its index."""
        runs = _runs(entries)
        self._check_runs(runs, snapshot)
        if self._size >= self.segment_bytes:
            self._rotate()
        records: list[bytes] = []
        ops: list[_Op] = []
        if snapshot is not None and not snapshot.empty:
            write_snapshot(self.disk, self.snap_dir, snapshot)
            self.snapshot_marker = (snapshot.meta.index, snapshot.meta.term)
            self.last_index = snapshot.meta.index
            records.append(encode_snapshot_marker(*self.snapshot_marker, replace_log=True))
            ops.append(("snap", (snapshot, True)))
        max_index = 0
        for run in runs:
            records.append(encode_entries(run))
            ops.append(("entries", run))
            self.last_index = run[-1].index
            max_index = max(max_index, self.last_index)
        must_sync = bool(records)
        vote_record, vote = b"", []
        if hard_state is not None and hard_state != self.hard_state:
            old, self.hard_state = self.hard_state, hard_state
            must_sync |= (old.term, old.vote) != (hard_state.term, hard_state.vote)
            vote_record, vote = encode_hard_state(hard_state), [("hs", hard_state)]
        if max_index:
            self.segments[-1] = replace(self.segments[-1], max_index=max(
                self.segments[-1].max_index, max_index))
        if Mutant.NO_FSYNC_VOTE in self.mutants and vote:  # the vote goes after the fsync
            self._commit(records, ops, bool(records))
            self._write(vote_record, vote)
            return bool(records)
        if vote:
            records.append(vote_record)
        return self._commit(records, ops + vote, must_sync)

    def _check_runs(self, runs: list[list[Entry]], snapshot: Snapshot | None) -> None:
        """Refuse (before writing anything) entries that would leave a hole in the log or
        rewrite what a snapshot covers: recovery would have to refuse to start."""
        floor, last = self.snapshot_marker[0], self.last_index
        if snapshot is not None and not snapshot.empty:
            floor = last = snapshot.meta.index
        for run in runs:
            if not floor < run[0].index <= last + 1:
                raise StorageError(
                    f"entries from {run[0].index} would leave a hole or rewrite the snapshot: "
                    f"the log holds {floor + 1}..{last}")
            last = run[-1].index

    def _commit(self, records: list[bytes], ops: list[_Op], sync: bool) -> bool:
        if records:
            self._write(b"".join(records), ops)
        if sync:
            self._sync()
        return sync

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Durably record a snapshot this node took of its own state machine (log
        compaction): file first, then a fsynced WAL marker.  The log is unchanged; call
        :meth:`release_to` to reclaim space.  A Multi-Paxos replica also records with it a
        snapshot installed from a peer, which keeps the votes above it: the log then goes
        on from the snapshot's index if it ended below it."""
        if snapshot.meta.index <= self.snapshot_marker[0]:
            return  # not newer than what we have
        write_snapshot(self.disk, self.snap_dir, snapshot)
        self.snapshot_marker = (snapshot.meta.index, snapshot.meta.term)
        self.last_index = max(self.last_index, snapshot.meta.index)
        self._commit([encode_snapshot_marker(*self.snapshot_marker, replace_log=False)],
                     [("snap", (snapshot, False))], True)

    def release_to(self, index: int) -> int:
        """Delete segments whose entries are all <= ``index`` (never the last one) and
        snapshot files older than the newest; ``index`` must be covered by a durable
        snapshot.  Returns the number of segments deleted."""
        if index > self.snapshot_marker[0]:
            raise StorageError(f"release_to({index}) beyond the durable snapshot "
                               f"{self.snapshot_marker[0]}")
        n = 0
        while len(self.segments) > 1 and self.segments[0].max_index <= index:
            self.disk.remove(posixpath.join(self.wal_dir, self.segments.pop(0).name))
            n += 1
        if n:
            self.disk.sync_dir(self.wal_dir)
        old = [name for i, _, name in list_snapshots(self.disk, self.snap_dir)
               if i < self.snapshot_marker[0]]
        for name in old:
            self.disk.remove(posixpath.join(self.snap_dir, name))
        if old:
            self.disk.sync_dir(self.snap_dir)
        return n

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
