"""The in-memory log storage the core reads (etcd-raft's ``MemoryStorage``).

Theory of operation: the core never writes here.  It hands new entries, hard state and
snapshots to the driver in a :class:`~quorum.impl.raft.types.Ready`; the driver makes them
durable (its WAL) and then copies them into this storage with :meth:`append`,
:meth:`set_hard_state` and :meth:`apply_snapshot` before calling ``advance``.  The core
reads everything stable from here, so after a restart the driver rebuilds this storage
from its WAL and the core resumes where it was.

The log is kept as ``entries[0]`` = a dummy entry carrying the index and term of the last
snapshot (or ``0, 0``), followed by the entries after it.  Compaction (:meth:`compact`)
drops a prefix once the application has a snapshot covering it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import CompactedError, SnapshotOutOfDateError, UnavailableError
from .types import ConfState, Entry, HardState, Snapshot, SnapshotMeta

__all__ = ["MemoryStorage", "limit_size"]


def limit_size(entries: Sequence[Entry], max_bytes: int | None) -> list[Entry]:
    """The longest prefix of ``entries`` whose payloads fit in ``max_bytes`` (at least one).

    ``None`` means no limit.  Sizes count ``len(entry.data)`` only.
    """
    if max_bytes is None or not entries:
        return list(entries)
    total = len(entries[0].data)
    n = 1
    while n < len(entries):
        total += len(entries[n].data)
        if total > max_bytes:
            break
        n += 1
    return list(entries[:n])


class MemoryStorage:
    """Stable log, hard state and latest snapshot, held in memory.

    ``MemoryStorage(conf_state=ConfState(voters=(1, 2, 3)))`` starts a node of a static
    cluster whose configuration is known from the start (the simulator's way); a node
    started with an empty storage learns its configuration from its log
    (``RawNode.bootstrap``) or from the leader.
    """

    def __init__(self, conf_state: ConfState | None = None) -> None:
        self.hard_state = HardState()
        self._snapshot = Snapshot(meta=SnapshotMeta(conf_state=conf_state or ConfState()))
        self._ents: list[Entry] = [Entry(term=0, index=0)]

    # -- reads (used by the core) ------------------------------------------------------
    def initial_state(self) -> tuple[HardState, ConfState]:
        """The saved hard state and the configuration of the latest snapshot."""
        return self.hard_state, self._snapshot.meta.conf_state

    def first_index(self) -> int:
        """Index of the first entry still held (snapshot index + 1)."""
        return self._ents[0].index + 1

    def last_index(self) -> int:
        """Index of the last entry held (the snapshot index when there are none)."""
        return self._ents[0].index + len(self._ents) - 1

    def term(self, i: int) -> int:
        """Term of entry ``i``; the snapshot's term for its index; raises out of range."""
        offset = self._ents[0].index
        if i < offset:
            raise CompactedError(f"index {i} is compacted (first index {offset + 1})")
        if i - offset >= len(self._ents):
            raise UnavailableError(f"index {i} is beyond the last index {self.last_index()}")
        return self._ents[i - offset].term

    def entries(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries ``[lo, hi)``, cut to ``max_bytes`` of payload (at least one entry)."""
        offset = self._ents[0].index
        if lo <= offset:
            raise CompactedError(f"index {lo} is compacted (first index {offset + 1})")
        if hi > self.last_index() + 1:
            raise UnavailableError(f"entries up to {hi - 1}, last index {self.last_index()}")
        return limit_size(self._ents[lo - offset : hi - offset], max_bytes)

    def snapshot(self) -> Snapshot:
        """The latest snapshot (``meta.index == 0`` when there is none)."""
        return self._snapshot

    # -- writes (used by the driver after persisting) -------------------------------------
    def set_hard_state(self, hs: HardState) -> None:
        self.hard_state = hs

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Replace the whole log by ``snap`` (a follower installing the leader's snapshot)."""
        if snap.meta.index < self._snapshot.meta.index:
            raise SnapshotOutOfDateError(
                f"snapshot at {snap.meta.index} is older than {self._snapshot.meta.index}"
            )
        self._snapshot = snap
        self._ents = [Entry(term=snap.meta.term, index=snap.meta.index)]

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Record the application's snapshot of its state at ``index`` (``<= last_index``)."""
        if index <= self._snapshot.meta.index:
            raise SnapshotOutOfDateError(
                f"snapshot at {index} is not newer than {self._snapshot.meta.index}"
            )
        if index > self.last_index():
            raise UnavailableError(f"snapshot at {index} beyond last index {self.last_index()}")
        meta = SnapshotMeta(index=index, term=self.term(index), conf_state=conf_state)
        self._snapshot = Snapshot(meta=meta, data=data)
        return self._snapshot

    def compact(self, index: int) -> None:
        """Drop every entry up to and including ``index`` (keep it as the dummy entry)."""
        offset = self._ents[0].index
        if index <= offset:
            raise CompactedError(f"index {index} is already compacted")
        if index > self.last_index():
            raise UnavailableError(f"compact {index} beyond last index {self.last_index()}")
        kept = self._ents[index - offset :]
        self._ents = [Entry(term=kept[0].term, index=kept[0].index), *kept[1:]]

    def append(self, entries: Sequence[Entry]) -> None:
        """Append ``entries``, replacing any held suffix they overlap (etcd's semantics)."""
        if not entries:
            return
        first = self.first_index()
        last = entries[-1].index
        if last < first:
            return  # entirely compacted already
        if first > entries[0].index:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._ents[0].index
        if offset > len(self._ents):
            raise UnavailableError(
                f"missing log entries: last index {self.last_index()}, "
                f"appending at {entries[0].index}"
            )
        if offset < len(self._ents):
            del self._ents[offset:]  # overwrite a suffix
        self._ents.extend(entries)
