"""A compact store of 64-bit state fingerprints with parent links (TLC's FPSet, in numpy).

Instead of holding each distinct state's identity in a Python dict (a hundred bytes and
more per state), the search keeps, per distinct state, two 64-bit integers: its
fingerprint and its parent's fingerprint (0 for an initial state), in two numpy arrays
sorted by fingerprint.  That is **16 bytes per distinct state**, with no load factor:
membership is a binary search (``np.searchsorted``) over a whole batch of candidates at
once, and the parent link answers "how was this state first reached", so a shortest
trace is rebuilt by walking parent links back to an initial state and replaying the
spec forwards (:mod:`quorum.model_checker.explicit.replay`).

As in TLC, a state outside the state constraint is not stored (its invariants are
checked again whenever it is generated again); so the store holds exactly the distinct
states.  States are added a breadth-first level at a time.  During a level, new fingerprints
go to the level's *delta*: a few sorted runs whose sizes at least double from the newest
to the oldest (a batch is a new run; two runs merge when the newer one is at least half
the older one's size), so a level of n fingerprints costs O(n log n) however many
batches bring them, and a lookup searches O(log n) runs.  At the end of the level the
delta is merged into the main arrays (``np.insert`` of a sorted run: linear time).

Fingerprints are Python's ``hash`` of the state's identity, reduced to 64 bits, with 0
reserved for "no parent".  Two distinct states with the same fingerprint are taken for
one (a *collision*): the second is never explored.  As TLC does, the search reports an
estimate of the probability that this happened (:func:`collision_probability`).  One
known weakness of ``hash``: it maps the ints -1 and -2 to the same value, so a spec
should not use both as values of one field (Paxos uses -1 only).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np

__all__ = ["MASK64", "FingerprintSet", "collision_probability", "fingerprint"]

MASK64 = (1 << 64) - 1
EMPTY = np.empty(0, dtype=np.uint64)


def fingerprint(identity: Hashable) -> int:
    """A state identity's 64-bit fingerprint, never 0."""
    return (hash(identity) & MASK64) or 1


def _member(sorted_fps: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """Boolean mask: which of ``fps`` occur in ``sorted_fps``."""
    if len(sorted_fps) == 0:
        return np.zeros(len(fps), dtype=bool)
    idx = np.searchsorted(sorted_fps, fps)
    idx[idx == len(sorted_fps)] = 0
    return sorted_fps[idx] == fps


class FingerprintSet:
    """Fingerprints of the states seen so far, each with its parent's fingerprint."""

    def __init__(self) -> None:
        self.fps, self.parents = EMPTY, EMPTY  # merged levels, sorted by fingerprint
        #: the current level: sorted runs of (fingerprints, parents), oldest (largest) first
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.fps) + sum(len(f) for f, _ in self._runs)

    def unseen(self, fps: np.ndarray) -> np.ndarray:
        """Mask of the candidates (uint64 array) that are neither stored nor in the level."""
        seen = _member(self.fps, fps)
        for run, _ in self._runs:
            seen |= _member(run, fps)
        return ~seen

    def add(self, fps: np.ndarray, parents: np.ndarray) -> None:
        """Add new fingerprints (distinct, not yet stored) to the current level."""
        if len(fps) == 0:
            return
        order = np.argsort(fps, kind="stable")
        self._runs.append((fps[order], parents[order]))
        runs = self._runs
        while len(runs) > 1 and 2 * len(runs[-1][0]) >= len(runs[-2][0]):
            self._merge_newest()

    def _merge_newest(self) -> None:
        """Merge the two newest runs into one."""
        (f1, p1), (f2, p2) = self._runs[-2], self._runs.pop()
        f, p = np.concatenate((f1, f2)), np.concatenate((p1, p2))
        order = np.argsort(f, kind="stable")  # two sorted runs: timsort merges them linearly
        self._runs[-1] = (f[order], p[order])

    def _delta(self) -> tuple[np.ndarray, np.ndarray]:
        """The current level as one sorted run."""
        while len(self._runs) > 1:
            self._merge_newest()
        return self._runs[0] if self._runs else (EMPTY, EMPTY)

    def end_level(self) -> None:
        """Merge the current level into the main arrays."""
        delta_fps, delta_parents = self._delta()
        self._runs = []
        if len(delta_fps) == 0:
            return
        at = np.searchsorted(self.fps, delta_fps)
        self.fps = np.insert(self.fps, at, delta_fps)
        self.parents = np.insert(self.parents, at, delta_parents)

    def keep(self, which: Callable[[np.ndarray], np.ndarray]) -> None:
        """Keep only the fingerprints for which ``which`` (vectorised) is true."""
        self.end_level()
        mask = which(self.fps)
        self.fps, self.parents = self.fps[mask], self.parents[mask]

    def parent(self, fp: int) -> int | None:
        """The parent fingerprint of a stored state (0 for an initial state)."""
        for fps, parents in [(self.fps, self.parents), *self._runs]:
            i = int(np.searchsorted(fps, np.uint64(fp)))
            if i < len(fps) and int(fps[i]) == fp:
                return int(parents[i])
        return None

    @property
    def nbytes(self) -> int:
        """Bytes held by the store (fingerprints and parent links)."""
        return self.fps.nbytes + self.parents.nbytes + sum(
            f.nbytes + p.nbytes for f, p in self._runs)

    def min_gap(self) -> int:
        """The least distance between two stored fingerprints (TLC's 'actual' estimate)."""
        self.end_level()
        if len(self.fps) < 2:
            return 1 << 64
        return int(np.diff(self.fps).min())


def collision_probability(distinct: int, generated: int, min_gap: int | None = None
                          ) -> dict[str, float]:
    """TLC's two estimates that a fingerprint collision made the search miss a state.

    *optimistic*: ``distinct * (generated - distinct) / 2**64``, the chance that one of
    the lookups of an already-seen state met another state's fingerprint, fingerprints
    being uniformly random; *actual*: ``1 / min_gap``, from the fingerprints themselves
    (the closer the nearest two, the likelier a third one collided).
    """
    out = {"optimistic": distinct * max(generated - distinct, 0) / 2.0**64}
    if min_gap is not None:
        out["actual"] = 1.0 / max(min_gap, 1)
    return out
