"""Breadth-first search over batches of states, with array operations (``--engine vector``).

The other searches take one state at a time: Python computes its successors, hashes
each and looks it up.  This one takes a whole slice of a BFS level at once.  A model
that offers a *batch encoding* (``model.batch_encoding()``, see :class:`Batch`) keeps
its states as rows of small integers; its successor function maps an array of rows to,
per *slot* (one action with its parameters), the rows the slot is enabled in and the
successor rows it builds; its properties map arrays of rows to boolean masks.  The
search itself is generic: it knows slots, positions and fingerprints, not a protocol.

It is :mod:`~quorum.model_checker.explicit.parallel`'s search with one worker, computed
differently:

* a step's position is ``rank * K + index``, its index counting the slots enabled before
  it in the same state (the order of the model's ``successors``), so the least-position
  rule keeps, per fingerprint, the same state as the other searches do;
* the frontier is taken ``ROUND`` states at a time, as there, so ``--max-states`` stops
  at the same place; within a round the successors are decided together (least
  position first), then the round's new states are checked;
* a slot enabled without a successor is counted as a step (TLC's "generated") and
  never stored: the encoding vouches for it (a step out of the bounds that violates
  nothing, or a self-loop, which the encoding's action properties accept);
* the first violation in BFS order is reported, with the counts the sequential search
  has at that point; its trace is rebuilt from the fingerprints of its path by
  replaying the model's own ``successors`` (:func:`~quorum.model_checker.explicit.replay.rebuild`).

So the distinct and generated counts, the coverage, the depth and the counterexample are
those of the other engines (``tests/model_checker/test_vector.py`` and
``tests/spec/raft/test_batch.py`` hold them equal); only the fingerprints differ, being
the encoding's hash of a row, not Python's hash of a state.

**On disk** (``directory``; ``quorum check --disk DIR`` when the model has a batch
encoding).  In memory, two levels of rows are held at once, and a row is a few hundred
bytes: on large models the frontier, not the fingerprints, is what runs out of memory.
With a directory, each level's rows and fingerprints are appended, round by round, to two
flat files (``level-N.rows``, ``level-N.fps``) and read back ``ROUND`` rows at a time,
and the fingerprints with their parent links go to
:class:`~quorum.model_checker.explicit.disk.DiskStore` (a bounded buffer, then sorted runs
on disk).  Memory is then bounded by one round, its successors and the store's buffer,
whatever the number of states; the search, its counts and its traces are unchanged.  No
checkpoints: ``--checkpoint`` is the objects engine's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from quorum.model_checker import gcpause
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.disk import DEFAULT_BUFFER, CheckpointError, DiskStore
from quorum.model_checker.explicit.fpset import FingerprintSet
from quorum.model_checker.explicit.parallel import ROUND, K, _result
from quorum.model_checker.explicit.replay import rebuild
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import Result, Violation

__all__ = ["Batch", "check_vector", "encoding_of"]

Event = tuple[int, int, str, str, int, int]  # position, kind order, kind, name, parent fp, fp


class Batch(Protocol):
    """What a model's ``batch_encoding()`` returns."""

    #: the action name of each slot, in the order of one state's steps
    slots: Sequence[str]
    #: the actions whose successors may lie outside the bounds (the others' never do)
    may_leave_bounds: frozenset[str]
    #: name -> mask of the rows that satisfy it (the model's properties, by the same names)
    invariants: dict[str, Callable[[np.ndarray], np.ndarray]]
    reachability: dict[str, Callable[[np.ndarray], np.ndarray]]
    #: name -> mask of the steps that satisfy it, given the round's rows, each step's
    #: parent (an index into them) and its successor rows
    action_properties: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]

    def encode(self, state: Any) -> np.ndarray: ...

    def expand(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Per slot: ``(slot, enabled mask, parent indexes ascending, successor rows)``."""
        ...

    def within(self, rows: np.ndarray) -> np.ndarray: ...

    def fingerprints(self, rows: np.ndarray) -> np.ndarray:
        """uint64, never 0; under symmetry, the same for every state of an orbit."""
        ...

    def fingerprint(self, state: Any) -> int: ...


def encoding_of(model: Any) -> Batch | None:
    """The model's batch encoding, or None when it has none for its configuration or
    lacks one of the model's properties (a model extended with a property of its own)."""
    make = getattr(model, "batch_encoding", None)
    batch = make() if make is not None else None
    if batch is None:
        return None
    for mine, theirs in ((model.invariants, batch.invariants),
                         (model.action_properties, batch.action_properties),
                         (model.reachability, batch.reachability)):
        if not set(mine) <= set(theirs):
            return None
    return batch


@dataclass
class _Search:
    """Counts and the stores of one search (what :func:`parallel._result` reads)."""

    batch: Batch
    props: Properties
    check_deadlock: bool
    store: FingerprintSet | DiskStore = field(default_factory=FingerprintSet)
    distinct: int = 0
    generated: int = 0
    depth: int = 0
    complete: bool = True
    event: Event | None = None
    cov_gen: dict[str, int] = field(default_factory=dict)
    cov_new: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        b = self.batch
        self.invariants = [(name, b.invariants[name]) for name, _ in self.props.invariants]
        self.aprops = [(name, b.action_properties[name]) for name, _ in self.props.action_properties]
        self.reach = {name: b.reachability[name] for name, _ in self.props.reachability}
        self.pending = list(self.reach)
        self.slot_names = np.array(list(b.slots), dtype=object)
        self.leaves = np.array([name in b.may_leave_bounds for name in b.slots])

    # -- one round: the successors of frontier rows [lo, hi) ----------------------------
    def round(self, rows: np.ndarray, fps: np.ndarray, lo: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expand, decide and check; returns the new rows, their fingerprints and positions
        (ascending).  Sets ``event`` (and recounts) when a violation is met."""
        b, n_rows = self.batch, len(rows)
        enabled = np.zeros((n_rows, len(b.slots)), dtype=bool)
        parts = []
        for slot, on, parents, children in b.expand(rows):
            enabled[:, slot] = on
            if len(parents):
                parts.append((slot, parents, children))
        index = np.cumsum(enabled, axis=1) - 1
        events: list[Event] = []
        if self.check_deadlock:
            stuck = np.flatnonzero(~enabled.any(axis=1))
            if len(stuck):
                r = int(stuck[0])
                events.append(((lo + r) * K, 0, "deadlock", "Deadlock", int(fps[r]), int(fps[r])))
        if parts:
            slots = np.concatenate([np.full(len(p), s) for s, p, _ in parts])
            parent = np.concatenate([p for _, p, _ in parts])
            child = np.concatenate([c for _, _, c in parts])
        else:
            slots = parent = np.zeros(0, dtype=np.int64)
            child = np.zeros((0, rows.shape[1]), dtype=rows.dtype)
        pos = (lo + parent) * K + index[parent, slots]
        pfp = fps[parent]
        for name, holds in self.aprops:
            bad = np.flatnonzero(~holds(rows, parent, child))
            if len(bad):
                k = int(bad[np.argmin(pos[bad])])
                events.append((int(pos[k]), 0, "action-property", name, int(pfp[k]),
                               int(b.fingerprints(child[k:k + 1])[0])))
        new_rows, new_fps, new_pos, new_slot = self._settle(child, pos, pfp, slots,
                                                            self.leaves[slots], events)
        self._count(enabled, new_pos, new_slot, events, lo)
        return new_rows, new_fps, new_pos

    def initial(self, states: Iterable[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first level: the initial states, children of a virtual root."""
        rows = np.array([self.batch.encode(s) for s in states])
        k = len(rows)
        events: list[Event] = []
        pos = np.arange(k, dtype=np.int64)
        out = self._settle(rows, pos, np.zeros(k, dtype=np.uint64), np.full(k, -1),
                           np.ones(k, dtype=bool), events)
        self.generated += k
        new_pos = out[2]
        if events:
            self.event = min(events, key=lambda e: (e[0], e[1]))
            self.generated = min(k, self.event[0] + 1)
            new_pos = new_pos[new_pos < self.event[0]]
        self.distinct += len(new_pos)
        return out[0], out[1], out[2]

    def _settle(self, child: np.ndarray, pos: np.ndarray, pfp: np.ndarray, slot: np.ndarray,
                check: np.ndarray, events: list[Event]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The bounds (of the rows ``check`` marks), the fingerprints, the least-position
        rule and the invariants."""
        b = self.batch
        inside = np.ones(len(child), dtype=bool)
        if check.any():
            at = np.flatnonzero(check)
            inside[at] = b.within(child[at])
        out = np.flatnonzero(~inside)
        if len(out):  # outside the constraint: checked, never stored (TLC)
            self._invariant_event(child[out], pos[out], pfp[out], events)
        fp = b.fingerprints(child) if len(child) else np.zeros(0, dtype=np.uint64)
        if len(out):  # the rows inside, by fingerprint, then position
            keep = np.flatnonzero(inside)
            order = keep[np.lexsort((pos[keep], fp[keep]))]
        else:
            order = np.lexsort((pos, fp))
        by_fp = fp[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = by_fp[1:] != by_fp[:-1]
        least = order[first]  # each fingerprint at its least position, ascending
        # stored ones are not new (the parents among them: every parent is stored)
        winners = least[self.store.unseen(fp[least])]
        self.store.add(fp[winners], pfp[winners])  # sorted by fingerprint, as stores take them
        winners = winners[np.argsort(pos[winners])]  # the level's order: by position
        child, fp, pos, pfp, slot = (child[winners], fp[winners], pos[winners], pfp[winners],
                                     slot[winners])
        bad = self._invariant_event(child, pos, pfp, events, fp)
        if len(bad):
            good = np.ones(len(child), dtype=bool)
            good[bad] = False
            child, fp, pos, slot = child[good], fp[good], pos[good], slot[good]
        for name in list(self.pending):
            if self.reach[name](child).any() if len(child) else False:
                self.pending.remove(name)
        return child, fp, pos, slot

    def _invariant_event(self, rows: np.ndarray, pos: np.ndarray, pfp: np.ndarray,
                         events: list[Event], fps: np.ndarray | None = None) -> np.ndarray:
        """Adds the first violation of an invariant among these rows; returns every row
        that violates one."""
        if not len(rows) or not self.invariants:
            return np.zeros(0, dtype=np.int64)
        masks = [holds(rows) for _, holds in self.invariants]
        bad = np.flatnonzero(~np.logical_and.reduce(masks))
        if len(bad):
            k = int(bad[np.argmin(pos[bad])])
            name = next(n for (n, _), m in zip(self.invariants, masks, strict=True) if not m[k])
            fp = int(fps[k]) if fps is not None else int(self.batch.fingerprints(rows[k:k + 1])[0])
            events.append((int(pos[k]), 1, "invariant", name, int(pfp[k]), fp))
        return bad

    def _count(self, enabled: np.ndarray, new_pos: np.ndarray, new_slot: np.ndarray,
               events: list[Event], lo: int) -> None:
        """Generated steps, coverage and new states of the round, up to its first violation."""
        if events:
            self.event = min(events, key=lambda e: (e[0], e[1]))
            limit = self.event[0]
            rank, idx = divmod(limit, K)
            enabled = enabled.copy()
            r = rank - lo
            enabled[r + 1:] = False
            enabled[r] &= np.cumsum(enabled[r]) <= idx + 1
            keep = new_pos < limit
            new_pos, new_slot = new_pos[keep], new_slot[keep]
        per_slot = enabled.sum(axis=0)
        self.generated += int(per_slot.sum())
        for name, count in zip(self.batch.slots, per_slot.tolist(), strict=True):
            if count:
                self.cov_gen[name] = self.cov_gen.get(name, 0) + count
        self.distinct += len(new_pos)
        if len(new_slot):
            names, counts = np.unique(self.slot_names[new_slot], return_counts=True)
            for name, count in zip(names.tolist(), counts.tolist(), strict=True):
                self.cov_new[name] = self.cov_new.get(name, 0) + count

    def stats(self) -> dict[str, Any]:
        st = {"cov_gen": self.cov_gen, "cov_new": self.cov_new, "distinct": self.distinct,
              "generated": self.generated}
        if isinstance(self.store, DiskStore):
            return st | {"gap": self.store.min_gap(),
                         "nbytes": self.store.disk_bytes() + 16 * self.store.mem_n}
        self.store.end_level()
        return st | {"fps": self.store.fps, "nbytes": self.store.nbytes}


class _Level:
    """One BFS level's rows and fingerprints, in memory."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.n = 0
        self.rows: np.ndarray | None = None
        self.fps: np.ndarray | None = None

    def append(self, rows: np.ndarray, fps: np.ndarray) -> None:
        self.parts.append((rows, fps))
        self.n += len(rows)

    def close(self) -> None:
        self.rows = np.concatenate([r for r, _ in self.parts]) if self.parts else None
        self.fps = np.concatenate([f for _, f in self.parts]) if self.parts else None
        self.parts = []

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.rows is not None and self.fps is not None
        return self.rows[lo:hi], self.fps[lo:hi]

    def remove(self) -> None:
        self.rows = self.fps = None


class _LevelFiles:
    """One BFS level's rows and fingerprints in two flat files, appended round by round
    and read back a round at a time (the interface of :class:`_Level`)."""

    def __init__(self, directory: Path, level: int) -> None:
        self.n = 0
        self.paths = (directory / f"level-{level:06d}.rows", directory / f"level-{level:06d}.fps")
        self.files = [open(path, "wb") for path in self.paths]  # noqa: SIM115 (closed in close)
        self.width, self.dtype = 0, np.dtype(np.int32)

    def append(self, rows: np.ndarray, fps: np.ndarray) -> None:
        if not len(rows):
            return
        self.width, self.dtype = rows.shape[1], rows.dtype
        np.ascontiguousarray(rows).tofile(self.files[0])
        np.ascontiguousarray(fps, dtype=np.uint64).tofile(self.files[1])
        self.n += len(rows)

    def close(self) -> None:
        for f in self.files:
            f.close()

    def read(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        row_bytes = self.width * self.dtype.itemsize
        rows = np.fromfile(self.paths[0], dtype=self.dtype, count=(hi - lo) * self.width,
                           offset=lo * row_bytes).reshape(hi - lo, self.width)
        fps = np.fromfile(self.paths[1], dtype=np.uint64, count=hi - lo, offset=lo * 8)
        return rows, fps

    def remove(self) -> None:
        self.close()
        for path in self.paths:
            path.unlink(missing_ok=True)


def check_vector(model: Any, *, properties: Iterable[str] | None = None,
                 check_deadlock: bool = False, max_states: int | None = None,
                 progress: ProgressFn | None = None, batch: Batch | None = None,
                 directory: Path | None = None, buffer: int = DEFAULT_BUFFER) -> Result:
    """Exhaustive BFS over the model's batch encoding (``batch``, if the caller already
    has it from :func:`encoding_of`), 64-bit fingerprints (16 bytes per distinct state);
    the same verdicts, counts and traces as
    :func:`~quorum.model_checker.explicit.parallel.check_fingerprints`.

    With ``directory`` (empty or new), the frontier and the fingerprints live there, in
    memory bounded by a round and ``buffer`` fingerprints; its files go when the search
    ends."""
    batch = batch or encoding_of(model)
    if batch is None:
        raise ValueError(f"{model.name} has no batch encoding for this configuration")
    props = Properties(model, properties)
    search = _Search(batch, props, check_deadlock)
    disk: _Disk | None = None
    if directory is not None:
        disk = _Disk(directory, buffer)
        search.store = disk.store
    start = time.perf_counter()
    try:
        with gcpause.paused():
            _run(model, search, max_states, progress, disk)
        violation = None if search.event is None else _violation(model, props, search)
        if violation is None and search.complete and search.pending:
            violation = Violation("unreached", search.pending[0])
        stats = search.stats()
    finally:
        if disk is not None:
            disk.cleanup()
    seconds = time.perf_counter() - start
    result = _result(model, props, search, [stats], violation, seconds, 1)
    result.extra["engine"] = "vector"
    if disk is not None:
        result.extra["store"] = "64-bit fingerprints on disk"
        result.extra["disk_peak_bytes"] = disk.peak
    return result


class _Disk:
    """The directory of an on-disk vector search: the store's runs and the level files."""

    def __init__(self, directory: Path, buffer: int) -> None:
        if buffer < 1:
            raise CheckpointError(f"the fingerprint buffer must hold at least 1 entry, got "
                                  f"{buffer}")
        # not disk.py's fixed mmap threshold: a round's arrays are tens of MiB, and mapping
        # them afresh every round cost a third more CPU in page faults (3 M orbits of
        # Raft: 33.9 CPU s against 23.1, for 166 against 209 MiB peak RSS)
        directory.mkdir(parents=True, exist_ok=True)
        if any(directory.iterdir()):
            raise CheckpointError(f"{directory} is not empty; the disk search needs an empty "
                                  f"directory")
        self.dir = directory
        self.store = DiskStore(directory, buffer, lambda path: path.unlink())
        self.levels = 0
        self.peak = 0

    def level(self) -> _LevelFiles:
        self.levels += 1
        return _LevelFiles(self.dir, self.levels)

    def measure(self) -> None:
        self.peak = max(self.peak, sum(p.stat().st_size for p in self.dir.iterdir()))

    def cleanup(self) -> None:
        self.store.close()
        for p in self.dir.iterdir():
            if p.suffix in (".fp", ".par", ".rows", ".fps", ".tmp"):
                p.unlink()


def _run(model: Any, search: _Search, max_states: int | None, progress: ProgressFn | None,
         disk: _Disk | None) -> None:
    def new_level() -> _Level | _LevelFiles:
        return disk.level() if disk is not None else _Level()

    rows, fps, _ = search.initial(model.initial_states())
    level = new_level()
    level.append(rows, fps)
    level.close()
    search.depth = 1 if level.n else 0
    while level.n and search.event is None:
        if isinstance(search.store, FingerprintSet):
            search.store.end_level()
        nxt = new_level()
        try:
            for lo in range(0, level.n, ROUND):
                hi = min(lo + ROUND, level.n)
                new_rows, new_fps, _ = search.round(*level.read(lo, hi), lo)
                nxt.append(new_rows, new_fps)
                if disk is not None:
                    disk.measure()
                if progress:
                    progress(search.distinct, search.generated, search.depth, level.n - hi)
                if search.event is not None:
                    return
                if max_states is not None and search.distinct >= max_states:
                    search.complete = False
                    return
        finally:
            nxt.close()
            level.remove()
        level = nxt
        search.depth += 1 if level.n else 0
    level.remove()


def _violation(model: Any, props: Properties, search: _Search) -> Violation:
    assert search.event is not None
    _, _, kind, name, parent_fp, last_fp = search.event
    path: list[int] = []
    fp = parent_fp
    while fp:
        path.append(fp)
        parent = search.store.parent(fp)
        assert parent is not None, "a stored state has no parent link"
        fp = parent
    path.reverse()
    ident = search.batch.fingerprint
    if kind == "deadlock":
        return Violation(kind, name, rebuild(model, path, None, ident))
    path.append(last_fp)
    if kind == "invariant":
        holds = dict(props.invariants)[name]
        return Violation(kind, name, rebuild(model, path, lambda _s, _l, t: not holds(t), ident))
    step_ok = dict(props.action_properties)[name]
    return Violation(kind, name, rebuild(model, path, lambda p, lab, q: not step_ok(p, lab, q), ident))
