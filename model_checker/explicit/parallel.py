"""Breadth-first search over fingerprints, on one core or many (``--workers N``).

Theory of operation.  The search is level-synchronous: level d+1 is computed from
level d in *rounds*, each covering a range of level d's states in their sequential BFS
order (their *rank*).  Every state of a level has a *position* ``rank * K + k``: the
rank of its parent and its index k among the parent's successors.  Positions order
the successors exactly as a sequential BFS generates them, so:

* a fingerprint generated several times is kept at its least position, that is, with
  the parent through which the sequential search first reached it (parent links, hence
  traces, are the same as sequentially: shortest, and the same on every run);
* the next level, sorted by position, is the sequential search's next level, in order;
* of the violations found in a round, the one of least position is the one the
  sequential search reports (at equal position an action property comes first, as the
  step is checked before its target state).

Each of the N workers owns the fingerprints ``fp % N == w`` (its partition of the
store, :class:`~quorum.model_checker.explicit.fpset.FingerprintSet`) and holds the frontier states it
accepted.  A round has three steps: every worker *expands* its frontier states of the
round's rank range and sends, to each owner, the fingerprints, positions and parent
fingerprints of the successors (only numbers travel, never states); every owner
*decides* which are new (not stored, least position among equal fingerprints); every
worker *accepts* its new successors: checks invariants, the constraint and
reachability properties, and keeps them for the next level.  The search starts as one
worker in this process; when a level first reaches ``fork_at`` states it forks the N
workers, each a copy of the search so far that keeps its own partition, and from then
on the coordinator routes arrays between them through pipes.  Small models never pay
for processes.  Partitioning by fingerprint is what the cluster version does too
(distributed.py: the same coordinator over Ray actors).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Hashable, Iterable
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np

from quorum.model_checker import gcpause
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.fpset import (
    MASK64,
    FingerprintSet,
    collision_probability,
    fingerprint,
)
from quorum.model_checker.explicit.replay import identity_function, rebuild
from quorum.model_checker.model import Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import ActionCoverage, Result, Violation

__all__ = ["check_fingerprints", "default_workers"]

K = 1 << 20  # positions: rank * K + successor index (at most K successors per state)
ROUND = 8192  # frontier states per round
FORK_AT = 4096  # the search forks its workers when a level is this large
OUTSIDE_MEMO = 1 << 18  # hashes of checked states outside the constraint kept, at most
RAW_MEMO = 1 << 19  # under symmetry: raw states whose canonical fingerprint is kept, at most
ROOT = object()  # the virtual parent of the initial states

#: fingerprints (uint64), positions (int64), parent fingerprints (uint64)
Batch = tuple[np.ndarray, np.ndarray, np.ndarray]
#: (position, 0 for a step / 1 for a state, kind, property, parent fp, state fp)
Event = tuple[int, int, str, str, int, int]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


class _Worker:
    """One partition: expands the frontier states it holds, owns ``fp % n == wid``."""

    def __init__(self, model: Model, props: Properties, wid: int, n: int,
                 check_deadlock: bool) -> None:
        self.model, self.props, self.wid, self.n = model, props, wid, n
        self.check_deadlock = check_deadlock
        self.ident = identity_function(model)
        self.store = FingerprintSet()
        # frontier: (rank, state, fp), in rank order; next level: (pos, state, fp)
        self.held: list[tuple[int, Any, int]] = [(0, ROOT, 0)] if wid == 0 else []
        self.cursor = 0
        self.next_held: list[tuple[int, Any, int]] = []
        self.candidates: list[tuple[list[int], list[int], list[int], list[Any]]] = []
        self.snapshot: tuple[int, int, dict[str, int], int, dict[str, int]] = (0, 0, {}, 0, {})
        self.round_new: list[tuple[int, str | None]] = []
        self.outside_checked: set[int] = set()  # hashes of outside states already checked
        # under symmetry: hash of a raw state -> fingerprint of its canonical form, kept
        # across rounds (a raw successor recurs from many parents, over several rounds);
        # keyed by the 64-bit hash, as the fingerprints are, so it holds no state alive
        self.raw: dict[int, int] = {}
        self.generated = 0
        self.distinct = 0
        self.cov_gen: dict[str, int] = {}
        self.cov_new: dict[str, int] = {}

    # -- expand: successors of the held states of ranks [lo, hi) -------------------------
    def expand(self, lo: int, hi: int
               ) -> tuple[list[Batch], Event | None, int]:
        n, model, ident = self.n, self.model, self.ident
        aprops, invariants = self.props.action_properties, self.props.invariants
        fps: list[list[int]] = [[] for _ in range(n)]
        poss: list[list[int]] = [[] for _ in range(n)]
        pars: list[list[int]] = [[] for _ in range(n)]
        items: list[list[tuple[Any, Any]]] = [[] for _ in range(n)]
        event: Event | None = None
        held, cov = self.held, self.cov_gen
        generated = 0
        local: set[int] = set()  # fingerprints generated earlier in this round, here
        raw = self.raw  # under symmetry: hash of a state -> fingerprint of its identity
        if len(raw) > RAW_MEMO:
            raw.clear()
        within = None if getattr(model, "bounded_by_actions", False) else model.within_bounds
        vouching = getattr(model, "successors_within", None)
        successors = vouching or model.successors
        # the actions whose successors may leave the bounds (None: any action's may)
        leave = None if vouching is None else getattr(model, "may_leave_bounds", None)
        outside = self.outside_checked
        if len(outside) > OUTSIDE_MEMO:
            outside.clear()
        self.snapshot = (self.cursor, self.generated, dict(cov), self.distinct,
                         dict(self.cov_new))
        self.round_new = []
        while self.cursor < len(held) and held[self.cursor][0] < hi:
            rank, s, sfp = held[self.cursor]
            self.cursor += 1
            pos = rank * K
            if s is ROOT:
                steps: Iterable[tuple[Any, Any]] = [(None, t) for t in model.initial_states()]
            else:
                steps = successors(s)
            first = pos
            for label, t in steps:
                if label is not None:
                    name = label[0]
                    cov[name] = cov.get(name, 0) + 1
                    if t is None:  # outside the bounds, violating nothing: the model vouches
                        pos += 1
                        continue
                    if aprops and event is None:
                        for _, holds in aprops:  # inline: one call per step less
                            if not holds(s, label, t):
                                event = self._step_event(s, label, t, pos, sfp)
                                break
                    if t is s:  # a self-loop: counted, never new
                        pos += 1
                        continue
                # outside the constraint: checked, never stored (TLC)
                if within is not None and (leave is None or label is None
                                           or label[0] in leave) and not within(t):
                    if event is None:
                        h = hash(t)
                        if h not in outside:
                            outside.add(h)  # checked once, not per occurrence (bounded memo)
                            for _, holds in invariants:
                                if not holds(t):
                                    event = self._outside_event(t, pos, sfp)
                                    break
                    pos += 1
                    continue
                if ident is None:
                    fp = (hash(t) & MASK64) or 1
                else:  # canonical forms are costly: once per raw state (bounded memo)
                    h = hash(t)
                    fp = raw.get(h, 0)
                    if not fp:
                        fp = raw[h] = (hash(ident(t)) & MASK64) or 1
                if fp == sfp or fp in local:  # the parent itself, or generated earlier here
                    pos += 1
                    continue
                local.add(fp)
                o = fp % n
                fps[o].append(fp)
                poss[o].append(pos)
                pars[o].append(sfp)
                items[o].append((label, t))
                pos += 1
            generated += pos - first
            if pos == first and self.check_deadlock and s is not ROOT and event is None:
                event = (first, 0, "deadlock", "Deadlock", sfp, sfp)
        self.generated += generated
        self.candidates = [(fps[o], poss[o], pars[o], items[o]) for o in range(n)]
        batches: list[Batch] = [(np.array(fps[o], dtype=np.uint64), np.array(poss[o], dtype=np.int64),
                    np.array(pars[o], dtype=np.uint64)) for o in range(n)]
        return batches, event, generated

    def _outside_event(self, t: Any, pos: int, sfp: int) -> Event | None:
        for name, holds in self.props.invariants:
            if not holds(t):
                tfp = (hash(self.ident(t) if self.ident else t) & MASK64) or 1
                return (pos, 1, "invariant", name, sfp, tfp)
        return None

    def _step_event(self, s: Any, label: Any, t: Any, pos: int, sfp: int) -> Event | None:
        for pname, holds in self.props.action_properties:
            if not holds(s, label, t):
                tfp = (hash(self.ident(t) if self.ident else t) & MASK64) or 1
                return (pos, 0, "action-property", pname, sfp, tfp)
        return None

    # -- decide: which of the fingerprints this worker owns are new -----------------------
    def decide(self, batches: list[Batch]) -> list[np.ndarray]:
        fps = np.concatenate([b[0] for b in batches])
        pos = np.concatenate([b[1] for b in batches])
        parents = np.concatenate([b[2] for b in batches])
        accepted = np.zeros(len(fps), dtype=bool)
        if len(fps):
            unseen = self.store.unseen(fps)
            order = np.lexsort((pos, fps))
            f_sorted = fps[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = f_sorted[1:] != f_sorted[:-1]
            winners = order[first & unseen[order]]
            accepted[winners] = True
            self.store.add(fps[winners], parents[winners])
        out, start = [], 0
        for b in batches:
            out.append(accepted[start:start + len(b[0])])
            start += len(b[0])
        return out

    # -- accept: check and keep the new states ------------------------------------------
    def accept(self, masks: list[np.ndarray], pending: list[str]
               ) -> tuple[Event | None, int, list[str]]:
        """Check the successors the owners accepted (all within the constraint: expand
        checks the others on the spot and never routes them, so that, as in TLC, they
        are not stored).  Returns the first violation, the count of new states and the
        reachability properties now reached."""
        violated = self.props.violated_invariant
        reach = [(name, f) for name, f in self.props.reachability if name in pending]
        reached: list[str] = []
        event = None
        new = 0
        for (fps, poss, pars, items), mask in zip(self.candidates, masks, strict=True):
            for i in np.flatnonzero(mask).tolist():
                fp, pos, pfp = fps[i], poss[i], pars[i]
                label, t = items[i]
                name = violated(t)
                if name is not None:
                    if event is None or pos < event[0]:
                        event = (pos, 1, "invariant", name, pfp, fp)
                else:
                    new += 1
                    self.round_new.append((pos, None if label is None else label[0]))
                    if label is not None:
                        self.cov_new[label[0]] = self.cov_new.get(label[0], 0) + 1
                    for name, holds in reach:
                        if name not in reached and holds(t):
                            reached.append(name)
                    self.next_held.append((pos, t, fp))
        self.candidates = []
        self.distinct += new
        return event, new, reached

    # -- truncate: count this round only up to the reported violation ---------------------
    def truncate(self, limit: int) -> None:
        """Recount this round as the sequential search counts before stopping at the
        violation of position ``limit``: the steps up to it, the new states before it."""
        cursor, self.generated, cov_gen, self.distinct, cov_new = self.snapshot
        self.cov_gen, self.cov_new = cov_gen, cov_new
        for rank, s, _ in self.held[cursor:self.cursor]:
            if rank * K > limit:
                break
            steps = ([(None, t) for t in self.model.initial_states()] if s is ROOT
                     else self.model.successors(s))
            for k, (label, _t) in enumerate(steps):
                if rank * K + k > limit:
                    break
                self.generated += 1
                if label is not None:
                    cov_gen[label[0]] = cov_gen.get(label[0], 0) + 1
        for pos, name in self.round_new:
            if pos < limit:
                self.distinct += 1
                if name is not None:
                    cov_new[name] = cov_new.get(name, 0) + 1

    # -- level boundaries -----------------------------------------------------------------
    def end_level(self) -> np.ndarray:
        self.store.end_level()
        self.next_held.sort(key=lambda x: x[0])
        return np.fromiter((x[0] for x in self.next_held), np.int64, len(self.next_held))

    def start_level(self, all_positions: np.ndarray) -> None:
        mine = np.fromiter((x[0] for x in self.next_held), np.int64, len(self.next_held))
        ranks = np.searchsorted(all_positions, mine).tolist()
        self.held = [(r, s, fp) for r, (_, s, fp) in zip(ranks, self.next_held, strict=True)]
        self.next_held, self.cursor = [], 0

    def repartition(self, wid: int, n: int) -> None:
        """Keep partition ``wid`` of ``n``: the fingerprints ``fp % n == wid`` and every
        n-th frontier state (at a level boundary; counters stay with worker 0)."""
        self.store.keep(lambda fps: fps % np.uint64(n) == wid)
        self.held = [h for h in self.held if h[0] % n == wid]
        self.wid, self.n = wid, n
        if wid != 0:
            self.generated = self.distinct = 0
            self.cov_gen, self.cov_new = {}, {}

    def parent(self, fp: int) -> int | None:
        return self.store.parent(fp)

    def stats(self) -> dict[str, Any]:
        self.store.end_level()
        return {"generated": self.generated, "distinct": self.distinct,
                "cov_gen": self.cov_gen, "cov_new": self.cov_new,
                "nbytes": self.store.nbytes, "fps": self.store.fps}


def _serve(worker: _Worker, conn: Connection, wid: int, n: int) -> None:
    """A worker process: take partition ``wid`` of ``n``, then run the coordinator's
    calls until it says stop."""
    worker.repartition(wid, n)
    while True:
        method, args = conn.recv()
        if method == "stop":
            conn.close()
            return
        conn.send(getattr(worker, method)(*args))


class Pool(Protocol):
    """The workers as the coordinator sees them: ``call_all(method, args)`` calls
    ``method`` on worker w with ``args[w]`` (all of them, one round trip) and returns the
    answers in worker order.  :class:`_Local`, :class:`_Forked` and the Ray pool of
    :mod:`~quorum.model_checker.explicit.distributed` keep this contract."""

    def call_all(self, method: str, args: list[tuple]) -> list[Any]: ...

    def close(self) -> None: ...


class _Local:
    """Workers called directly (N = 1)."""

    def __init__(self, workers: list[_Worker]) -> None:
        self.workers = workers

    def call_all(self, method: str, args: list[tuple]) -> list[Any]:
        return [getattr(w, method)(*a) for w, a in zip(self.workers, args, strict=True)]

    def close(self) -> None:
        pass


class _Forked:
    """Workers in forked processes, one pipe each; each child starts as a copy of
    ``worker`` (the whole search so far) and keeps its own partition of it."""

    def __init__(self, worker: _Worker, n: int) -> None:
        ctx = mp.get_context("fork")
        self.conns, self.procs = [], []
        for wid in range(n):
            here, there = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(worker, there, wid, n), daemon=True)
            p.start()
            there.close()
            self.conns.append(here)
            self.procs.append(p)

    def call_all(self, method: str, args: list[tuple]) -> list[Any]:
        for c, a in zip(self.conns, args, strict=True):
            c.send((method, a))
        return [c.recv() for c in self.conns]

    def close(self) -> None:
        for c in self.conns:
            c.send(("stop", ()))
        for p in self.procs:
            p.join(timeout=10)


class _Coordinator:
    """Drives the rounds and levels; collects counts, events and reachability."""

    def __init__(self, pool: Pool, target: int, props: Properties,
                 max_states: int | None, progress: ProgressFn | None, fork_at: int,
                 started: int = 1) -> None:
        """``pool`` holds ``started`` workers (one, until the search forks ``target``)."""
        self.pool, self.n, self.target, self.props = pool, started, target, props
        self.fork_at = fork_at
        self.max_states, self.progress = max_states, progress
        self.pending = [name for name, _ in props.reachability]
        self.distinct = self.generated = self.depth = 0
        self.event: Event | None = None
        self.complete = True

    def run(self) -> None:
        level_size = 1  # the virtual root, whose successors are the initial states
        while level_size:
            for lo in range(0, level_size, ROUND):
                self._round(lo, lo + ROUND, level_size)
                if self.event is not None:
                    return
                if self.max_states is not None and self.distinct >= self.max_states:
                    self.complete = False
                    return
            positions = self.pool.call_all("end_level", [()] * self.n)
            everything = np.sort(np.concatenate(positions))
            self.pool.call_all("start_level", [(everything,)] * self.n)
            level_size = len(everything)
            self.depth += 1 if level_size else 0
            if self.n < self.target and level_size >= self.fork_at:
                assert isinstance(self.pool, _Local)
                self.pool = _Forked(self.pool.workers[0], self.target)
                self.n = self.target

    def _round(self, lo: int, hi: int, level_size: int) -> None:
        n = self.n
        expanded = self.pool.call_all("expand", [(lo, hi)] * n)
        events = [e for _, e, _ in expanded if e is not None]
        masks = self.pool.call_all(
            "decide", [([expanded[w][0][o] for w in range(n)],) for o in range(n)])
        accepted = self.pool.call_all(
            "accept", [([masks[o][w] for o in range(n)], self.pending) for w in range(n)])
        for event, new, reached in accepted:
            if event is not None:
                events.append(event)
            self.distinct += new
            self.pending = [p for p in self.pending if p not in reached]
        self.generated += sum(g for _, _, g in expanded)
        if events:
            self.event = min(events, key=lambda e: (e[0], e[1]))
            self.pool.call_all("truncate", [(self.event[0],)] * n)
        if self.progress:
            self.progress(self.distinct, self.generated, self.depth, max(level_size - hi, 0))


def _path(pool: Pool, n: int, fp: int) -> list[int]:
    """Fingerprints from an initial state to the stored state ``fp``, by parent links."""
    path = []
    while fp:
        path.append(fp)
        parent = pool.call_all("parent", [(fp,) if w == fp % n else (0,) for w in range(n)])
        fp = parent[fp % n]
        assert fp is not None, "a stored state has no parent link"
    return path[::-1]


def _violation(model: Model, props: Properties, pool: Pool, n: int,
               event: Event) -> Violation:
    _, _, kind, name, parent_fp, last_fp = event
    ident = identity_function(model)
    fp_of: Callable[[Any], Hashable] = (lambda s: fingerprint(ident(s))) if ident else fingerprint
    if kind == "deadlock":
        return Violation(kind, name, rebuild(model, _path(pool, n, parent_fp), None, fp_of))
    path = _path(pool, n, parent_fp) + [last_fp]
    if kind == "invariant":
        holds = dict(props.invariants)[name]
        return Violation(kind, name, rebuild(model, path, lambda _s, _l, t: not holds(t), fp_of))
    step_ok = dict(props.action_properties)[name]
    return Violation(kind, name, rebuild(model, path, lambda p, lab, q: not step_ok(p, lab, q),
                                         fp_of))


def check_fingerprints(model: Model, *, properties: Iterable[str] | None = None,
                       check_deadlock: bool = False, max_states: int | None = None,
                       progress: ProgressFn | None = None, workers: int = 1,
                       fork_at: int = FORK_AT) -> Result:
    """Exhaustive BFS storing 64-bit fingerprints (16 bytes per distinct state), on
    ``workers`` processes; same verdicts, counts and traces as :func:`bfs.check`.

    Differences from the exact search: a fingerprint collision can hide a state (the
    estimated probability is in ``extra``; under symmetry a raw state's fingerprint is
    remembered by the raw state's own 64-bit hash, a second chance of the same kind, as
    without symmetry, where the fingerprint is that hash); ``max_states`` is checked once per round,
    so the search may stop a little after the limit.  The workers are forked when a level
    first holds ``fork_at`` states (never, if no level is that large).
    """
    props = Properties(model, properties)
    start = time.perf_counter()
    coord = _Coordinator(_Local([_Worker(model, props, 0, 1, check_deadlock)]),
                         max(1, workers), props, max_states, progress, fork_at)
    try:
        with gcpause.paused():
            coord.run()
        violation = None if coord.event is None else _violation(model, props, coord.pool,
                                                                coord.n, coord.event)
        stats = coord.pool.call_all("stats", [()] * coord.n)
    finally:
        coord.pool.close()
    seconds = time.perf_counter() - start
    if violation is None and coord.complete and coord.pending:
        violation = Violation("unreached", coord.pending[0])
    return _result(model, props, coord, stats, violation, seconds, coord.n)


class Searched(Protocol):
    """What :func:`_result` reads of a finished search besides its workers' stats."""

    depth: int
    complete: bool


def _result(model: Model, props: Properties, coord: Searched, stats: list[dict[str, Any]],
            violation: Violation | None, seconds: float, n: int) -> Result:
    coverage: dict[str, ActionCoverage] = {}
    for st in stats:
        for name, g in st["cov_gen"].items():
            coverage.setdefault(name, ActionCoverage()).generated += g
        for name, d in st["cov_new"].items():
            coverage.setdefault(name, ActionCoverage()).distinct += d
    distinct = sum(st["distinct"] for st in stats)
    generated = sum(st["generated"] for st in stats)
    if len(stats) == 1 and "gap" in stats[0]:  # a store that measured its own (on disk)
        gap = stats[0]["gap"]
    else:
        fps = np.sort(np.concatenate([st["fps"] for st in stats]))
        gap = int(np.diff(fps).min()) if len(fps) > 1 else 1 << 64
    odds = collision_probability(distinct, generated, gap)
    nbytes = sum(st["nbytes"] for st in stats)
    extra = {
        "workers": n,
        "store": "64-bit fingerprints",
        "store_bytes_per_state": round(nbytes / max(distinct, 1), 1),
        "collision_probability_optimistic": float(f"{odds['optimistic']:.2e}"),
        "collision_probability_actual": float(f"{odds['actual']:.2e}"),
    }
    depth = max(coord.depth, violation.length if violation else 0)  # level of the bad state
    return Result(
        model=model.name, mode="exhaustive", violation=violation, distinct_states=distinct,
        generated_states=generated, depth=depth, seconds=seconds,
        coverage=dict(sorted(coverage.items())), properties_checked=props.names,
        symmetry=model.canonicalize is not None, complete=coord.complete, extra=extra,
    )
