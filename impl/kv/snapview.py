"""A snapshot of the key space taken in pieces while the store keeps changing.

Theory of operation.  :meth:`KVStore.snapshot` packs the whole store at once: with 100,000
keys that holds the event loop for about half a second.  A :class:`SnapshotView` fixes the
state at one moment instead, cheaply, and packs it in pieces between which the store goes on
applying entries:

* at the moment of the view it copies what is small (revision, compact revision, the
  session table) and the sorted key list (one list copy), and keeps a reference to the
  table of histories;
* from then on the store calls :meth:`SnapshotView.keep` before it changes or drops a
  key's history (copy-on-write, per key): the first change to a key saves a copy of its
  versions as they were, later changes of the same key cost nothing more;
* :meth:`SnapshotView.pieces` packs the keys in order, ``per_piece`` at a time, taking a
  key's saved copy when it has one and its live history otherwise (unchanged since the
  view, so the same);
* :meth:`SnapshotView.finish` seals the payload; the bytes are exactly those
  ``KVStore.snapshot()`` returned at the moment of the view (tests pin this).

A restore replaces the store's tables by new objects, so it never changes what a view
reads.  One view at a time; :meth:`SnapshotView.close` detaches it (``finish`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import msgpack

from quorum.impl.kv.snapshot import seal_parts

if TYPE_CHECKING:
    from quorum.impl.kv.store import KVStore, _History

__all__ = ["SnapshotView"]


class SnapshotView:
    """The key space as it was when :meth:`KVStore.snapshot_view` was called."""

    def __init__(self, store: KVStore, hist: dict[bytes, _History], keys: list[bytes],
                 head: list[Any], sessions: list[Any]) -> None:
        self._store: KVStore | None = store
        self._hist = hist
        self._keys = keys
        self._head = head  # [applied index, revision, compact revision]
        self._sessions = sessions
        self._saved: dict[bytes, tuple[list[int], list[Any]]] = {}
        self._parts: list[bytes] = []
        self._done = 0  # keys packed so far

    def __len__(self) -> int:
        """The number of keys in the view."""
        return len(self._keys)

    @property
    def applied_index(self) -> int:
        """The Raft index the view's state is at."""
        return int(self._head[0])

    def keep(self, key: bytes, revs: list[int], rows: list[Any]) -> None:
        """The store is about to change ``key``'s history (the lists given): save it first
        if it still matters to this view (a key not yet packed, not yet saved)."""
        if key not in self._saved:
            self._saved[key] = (revs[:], rows[:])

    def pieces(self, per_piece: int = 2000) -> Iterator[int]:
        """Pack the keys, ``per_piece`` at a time; yields the number packed so far after
        each piece (the caller may let the store change in between)."""
        packer = msgpack.Packer(use_bin_type=True)
        if not self._parts:
            self._parts = [packer.pack_array_header(5), *(packer.pack(x) for x in self._head),
                           packer.pack_array_header(len(self._keys))]
        keys, hist, saved, pack = self._keys, self._hist, self._saved, packer.pack
        while self._done < len(keys):
            chunk = keys[self._done:self._done + per_piece]
            out = []
            for k in chunk:
                got = saved.get(k)
                if got is None:
                    h = hist[k]
                    out.append(pack([k, h.revs, h.rows]))
                else:
                    out.append(pack([k, got[0], got[1]]))
            self._parts.append(b"".join(out))
            self._done += len(chunk)
            yield self._done

    def finish(self) -> bytes:
        """Pack what is left, detach from the store, and return the snapshot bytes."""
        return b"".join(self.finish_parts())

    def finish_parts(self) -> list[bytes]:
        """:meth:`finish`'s bytes as pieces, to be joined (once) by the caller."""
        for _ in self.pieces(len(self._keys) or 1):
            pass
        self.close()
        packer = msgpack.Packer(use_bin_type=True)
        return seal_parts([*self._parts, packer.pack(self._sessions)])

    def close(self) -> None:
        """Stop watching the store (an abandoned view must be closed too)."""
        if self._store is not None and self._store._view is self:
            self._store._view = None
        self._store = None
