"""The Raft log as the core sees it: stable storage plus an unstable tail.

Theory of operation (etcd-raft's ``raftLog``).  Entries the core has accepted but the
driver has not yet persisted live in :class:`Unstable` (and so does a snapshot received
from the leader); everything persisted lives in the driver's
:class:`~quorum.impl.raft.storage.MemoryStorage`.  ``ready()`` hands the unstable part to the
driver; ``advance()`` calls :meth:`RaftLog.stable_to` once it is durable.

Indexes: ``committed`` is the highest index known to be committed (Raft paper, section
5.3); ``applied`` the highest index handed to the application.  Always
``applied <= committed <= last_index()``, and committed entries are never rewritten: a
step that would break either raises :class:`~quorum.impl.raft.errors.PanicError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import CompactedError, PanicError, StorageError, UnavailableError
from .storage import MemoryStorage, limit_size
from .types import Entry, Snapshot

__all__ = ["RaftLog", "Unstable"]


class Unstable:
    """Entries (from ``offset``) and maybe a snapshot not yet handed to stable storage."""

    def __init__(self, offset: int) -> None:
        self.snapshot: Snapshot | None = None
        self.entries: list[Entry] = []
        self.offset = offset

    def first_index(self) -> int | None:
        return self.snapshot.meta.index + 1 if self.snapshot is not None else None

    def last_index(self) -> int | None:
        if self.entries:
            return self.offset + len(self.entries) - 1
        return self.snapshot.meta.index if self.snapshot is not None else None

    def term(self, i: int) -> int | None:
        if i < self.offset:
            if self.snapshot is not None and self.snapshot.meta.index == i:
                return self.snapshot.meta.term
            return None
        last = self.last_index()
        if last is None or i > last:
            return None
        return self.entries[i - self.offset].term

    def stable_to(self, i: int, t: int) -> None:
        """Entries up to ``i`` (of term ``t``) are persisted; forget them if still ours."""
        if self.term(i) == t and i >= self.offset:
            self.entries = self.entries[i + 1 - self.offset :]
            self.offset = i + 1

    def stable_snap_to(self, i: int) -> None:
        if self.snapshot is not None and self.snapshot.meta.index == i:
            self.snapshot = None

    def restore(self, snap: Snapshot) -> None:
        self.offset = snap.meta.index + 1
        self.entries = []
        self.snapshot = snap

    def truncate_and_append(self, ents: Sequence[Entry]) -> None:
        after = ents[0].index
        if after == self.offset + len(self.entries):
            self.entries.extend(ents)  # the common case: a plain append
        elif after <= self.offset:
            self.offset = after  # replace the whole unstable tail
            self.entries = list(ents)
        else:  # keep [offset, after), then the new entries
            self.entries = self.entries[: after - self.offset] + list(ents)

    def slice(self, lo: int, hi: int) -> list[Entry]:
        return self.entries[lo - self.offset : hi - self.offset]


class RaftLog:
    """Stable storage + unstable tail, with the commit and apply indexes."""

    def __init__(self, storage: MemoryStorage, max_apply_bytes: int | None = None) -> None:
        self.storage = storage
        self.unstable = Unstable(storage.last_index() + 1)
        self.committed = storage.first_index() - 1
        self.applied = storage.first_index() - 1
        self.max_apply_bytes = max_apply_bytes

    # -- indexes and terms -----------------------------------------------------------------
    def first_index(self) -> int:
        i = self.unstable.first_index()
        return i if i is not None else self.storage.first_index()

    def last_index(self) -> int:
        i = self.unstable.last_index()
        return i if i is not None else self.storage.last_index()

    def term(self, i: int) -> int:
        """Term of entry ``i`` (of the snapshot at ``first_index() - 1`` too).

        Raises :class:`CompactedError` below that and :class:`UnavailableError` above
        ``last_index()``.
        """
        if i < self.first_index() - 1:
            raise CompactedError(f"index {i} is compacted")
        if i > self.last_index():
            raise UnavailableError(f"index {i} is beyond the last index")
        t = self.unstable.term(i)
        return t if t is not None else self.storage.term(i)

    def zero_term_on_error(self, i: int) -> int:
        try:
            return self.term(i)
        except StorageError:
            return 0

    def last_term(self) -> int:
        return self.term(self.last_index())

    def match_term(self, i: int, t: int) -> bool:
        try:
            return self.term(i) == t
        except StorageError:
            return False

    def is_up_to_date(self, last_index: int, term: int, index_first: bool = False) -> bool:
        """Is a candidate's log at least as up-to-date as ours (Raft paper, section 5.4.1)?

        ``index_first``: the ``up-to-date-index-first`` mutant (lengths before terms)."""
        mine = self.last_term()
        if index_first:
            return last_index > self.last_index() or (
                last_index == self.last_index() and term >= mine)
        return term > mine or (term == mine and last_index >= self.last_index())

    # -- appending -------------------------------------------------------------------------
    def append(self, ents: Sequence[Entry]) -> int:
        """Append (truncating any conflicting unstable suffix); returns the last index."""
        if ents:
            if ents[0].index <= self.committed:
                raise PanicError(f"appending at index {ents[0].index} would overwrite "
                                 f"committed entries (committed {self.committed})")
            self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: Sequence[Entry], no_truncate: bool = False) -> int:
        """Index of the first entry of ``ents`` that is new or conflicts (0: none).

        With ``no_truncate`` (the test mutant ``Mutant.NO_TRUNCATE``) a term mismatch is
        not a conflict, so a divergent suffix survives (the bug the simulator must catch).
        """
        last = self.last_index()
        for e in ents:
            if e.index > last:
                return e.index
            if not no_truncate and not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """Largest ``(i, term(i))`` with ``i <= index`` and ``term(i) <= term``.

        Used to skip a whole term of divergent entries per round trip (Raft paper, end of
        section 5.3; etcd's fast log backtracking).
        """
        i = min(index, self.last_index())
        while i > 0:
            try:
                t = self.term(i)
            except StorageError:
                return i, 0
            if t <= term:
                return i, t
            i -= 1
        return 0, 0

    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: Sequence[Entry],
        no_truncate: bool = False,
    ) -> int | None:
        """AppendEntries receiver rules 2-5 (Raft paper, Figure 2).

        Returns the index of the last new entry, or ``None`` when the entry at ``index``
        does not have ``log_term`` (the consistency check fails).
        """
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(ents)
        conflict = self.find_conflict(ents, no_truncate)
        if conflict:
            if conflict <= self.committed:
                # A committed entry is final (Log Matching, State Machine Safety): a leader
                # sending a different one means the logs diverged (a forged or corrupted
                # entry here or there).  Stop, as etcd-raft panics, rather than refuse the
                # leader's repair forever in silence.
                theirs = ents[conflict - ents[0].index].term
                raise PanicError(
                    f"the leader's entry {conflict} (term {theirs}) conflicts with committed "
                    f"entry {conflict} (term {self.zero_term_on_error(conflict)}; committed "
                    f"{self.committed}): this member's log diverged from the leader's")
            self.append(ents[conflict - ents[0].index :])
        self.commit_to(min(committed, last_new))
        return last_new

    # -- commit and apply ------------------------------------------------------------------
    def commit_to(self, index: int) -> None:
        """Raise the commit index to ``index`` (never lowers it)."""
        if index > self.committed:
            if index > self.last_index():
                raise PanicError(f"commit {index} is beyond the last index "
                                 f"{self.last_index()}: was the log corrupted, truncated or lost?")
            self.committed = index

    def maybe_commit(self, index: int, term: int, any_term: bool = False) -> bool:
        """Commit ``index`` if it is newer and of the leader's ``term`` (section 5.4.2).

        ``any_term`` is the test mutant ``Mutant.COMMIT_OLD_TERM`` (Figure 8's bug).
        """
        if index > self.committed and (any_term or self.zero_term_on_error(index) == term):
            self.commit_to(index)
            return True
        return False

    def applied_to(self, index: int) -> None:
        if not self.applied <= index <= self.committed:
            raise PanicError(f"applied index {index} is out of range "
                             f"[{self.applied}, {self.committed}] (applied, committed)")
        self.applied = index

    def has_next_committed(self) -> bool:
        return self.committed > max(self.applied, self.first_index() - 1)

    def next_committed(self) -> list[Entry]:
        """Committed entries not yet applied, cut to ``max_apply_bytes``."""
        lo = max(self.applied + 1, self.first_index())
        if self.committed < lo:
            return []
        return self.slice(lo, self.committed + 1, self.max_apply_bytes)

    # -- reading ranges --------------------------------------------------------------------
    def slice(self, lo: int, hi: int, max_bytes: int | None = None) -> list[Entry]:
        """Entries ``[lo, hi)`` from storage and unstable tail, cut to ``max_bytes``."""
        if lo >= hi:
            return []
        if lo < self.first_index():
            raise CompactedError(f"index {lo} is compacted")
        if hi > self.last_index() + 1:
            raise UnavailableError(f"slice to {hi} beyond last index {self.last_index()}")
        ents: list[Entry] = []
        off = self.unstable.offset
        if lo < off:
            ents = self.storage.entries(lo, min(hi, off), max_bytes)
            if len(ents) < min(hi, off) - lo:
                return ents  # cut by size already
        if hi > off:
            ents += self.unstable.slice(max(lo, off), hi)
        return limit_size(ents, max_bytes)

    def entries_from(self, i: int, max_bytes: int | None, max_count: int) -> list[Entry]:
        """Up to ``max_count`` entries from ``i`` fitting in ``max_bytes`` (at least one)."""
        if i > self.last_index():
            return []
        return self.slice(i, min(self.last_index() + 1, i + max_count), max_bytes)

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def unstable_entries(self) -> list[Entry]:
        return list(self.unstable.entries)

    # -- persistence feedback and snapshots -------------------------------------------------
    def stable_to(self, i: int, t: int) -> None:
        self.unstable.stable_to(i, t)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)

    def restore(self, snap: Snapshot) -> None:
        """Replace the log by a leader's snapshot (Raft paper, section 7)."""
        self.committed = snap.meta.index
        self.unstable.restore(snap)
