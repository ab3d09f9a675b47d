"""Exhaustive breadth-first search with TLC's semantics and shortest counterexamples.

Semantics (TLC's, so that distinct-state counts can be compared):

* every generated state, initial states included, is checked against the
  invariants the first time its identity is seen;
* a state outside the state constraint (``within_bounds`` false) is checked too, but
  is neither counted as a distinct state nor expanded;
* action properties are checked on every generated step;
* the depth is the number of BFS levels, the initial states being level 1;
* reachability ("sometimes") properties must hold in some distinct state; they are
  reported as violated only after a complete search found no such state.

The first violation in sequential BFS order is reported, so its trace is a shortest
one and the same on every run.  The search keeps, per distinct state, its identity
and the index of its parent; the trace is rebuilt by :mod:`quorum.model_checker.explicit.replay`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from quorum.model_checker import gcpause
from quorum.model_checker.errors import UnknownProperty
from quorum.model_checker.explicit.replay import identity_function, rebuild
from quorum.model_checker.model import Label, Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import ActionCoverage, Result, Violation

__all__ = ["Properties", "check", "select_properties"]


class Properties:
    """The properties one run checks, selected by name from a model."""

    def __init__(self, model: Model, names: Iterable[str] | None = None) -> None:
        wanted = None if names is None else list(names)
        known = {**model.invariants, **model.action_properties, **model.reachability}
        for name in wanted or ():
            if name not in known:
                raise UnknownProperty(
                    f"{model.name} has no property {name!r} (it has: {', '.join(known)})"
                )

        def pick(table: Any) -> list[tuple[str, Any]]:
            return [(n, f) for n, f in table.items() if wanted is None or n in wanted]

        self.invariants = pick(model.invariants)
        self.action_properties = pick(model.action_properties)
        self.reachability = pick(model.reachability)
        hook = getattr(model, "violated_invariant", None)
        #: the first invariant checked that a state violates, or None: the model's
        #: ``violated_invariant`` hook when every invariant is checked (one call per state)
        self.violated_invariant: Callable[[Any], str | None] = (
            hook if hook is not None and len(self.invariants) == len(model.invariants)
            else self._each_invariant)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.invariants + self.action_properties + self.reachability)

    def _each_invariant(self, state: Any) -> str | None:
        for name, holds in self.invariants:
            if not holds(state):
                return name
        return None

    def violated_action_property(self, s: Any, label: Label, t: Any) -> str | None:
        for name, holds in self.action_properties:
            if not holds(s, label, t):
                return name
        return None


def select_properties(model: Model, names: Iterable[str] | None) -> Properties:
    return Properties(model, names)


class _Search:
    """State of one BFS run; ``run`` returns the Result."""

    def __init__(self, model: Model, props: Properties, check_deadlock: bool,
                 max_states: int | None, progress: ProgressFn | None) -> None:
        self.model, self.props = model, props
        self.check_deadlock, self.max_states, self.progress = check_deadlock, max_states, progress
        self.ident = identity_function(model)
        self.index: dict[Hashable, int] = {}  # identity -> position in `keys`
        self.keys: list[Hashable] = []
        self.parent: list[int] = []
        self.outside: set[Hashable] = set()  # identities seen outside the constraint
        self.generated = 0
        self.report_at = 0  # the next progress report when this many states are generated
        self.depth = 0
        self.coverage: dict[str, ActionCoverage] = {}
        self.pending_reach = dict(props.reachability)
        self.violation: Violation | None = None
        self.complete = True

    # -- bookkeeping ------------------------------------------------------------------
    def _path(self, idx: int) -> list[Hashable]:
        path = []
        while idx >= 0:
            path.append(self.keys[idx])
            idx = self.parent[idx]
        return path[::-1]

    def _violation(self, kind: str, name: str, path: list[Hashable],
                   accept: Callable[[Any, Label | None, Any], bool] | None) -> Violation:
        return Violation(kind, name, rebuild(self.model, path, accept))

    def _add(self, key: Hashable, parent: int) -> int:
        idx = len(self.keys)
        self.index[key] = idx
        self.keys.append(key)
        self.parent.append(parent)
        return idx

    def _reach(self, state: Any) -> None:
        for name, holds in list(self.pending_reach.items()):
            if holds(state):
                del self.pending_reach[name]

    def _new_state(self, state: Any, key: Hashable, parent: int) -> int | None:
        """Check a state whose identity is new; return its index, or None if not kept."""
        bad = self.props.violated_invariant(state)
        if bad is not None:
            path = (self._path(parent) if parent >= 0 else []) + [key]
            holds = dict(self.props.invariants)[bad]
            self.violation = self._violation("invariant", bad, path,
                                             lambda _s, _l, t: not holds(t))
            return None
        if not self.model.within_bounds(state):
            self.outside.add(key)
            return None
        if self.pending_reach:
            self._reach(state)
        return self._add(key, parent)

    # -- the search -------------------------------------------------------------------
    def run(self) -> list[tuple[Any, int]]:
        frontier: list[tuple[Any, int]] = []
        for s in self.model.initial_states():
            self.generated += 1
            key = self.ident(s) if self.ident else s
            if key in self.index or key in self.outside:
                continue
            idx = self._new_state(s, key, -1)
            if self.violation:
                return []
            if idx is not None:
                frontier.append((s, idx))
        while frontier:
            self.depth += 1
            frontier = self._expand_level(frontier)
            if self.violation or not self.complete:
                break
            if self.progress:  # at every level's end too, for the growth per level
                self.progress(len(self.keys), self.generated, self.depth, len(frontier))
        return frontier

    def _expand_level(self, frontier: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
        nxt: list[tuple[Any, int]] = []
        model, ident, index, outside = self.model, self.ident, self.index, self.outside
        cov = self.coverage
        has_aprops = bool(self.props.action_properties)
        successors = getattr(model, "successors_within", None) or model.successors
        for s, idx in frontier:
            enabled = False
            for label, t in successors(s):
                enabled = True
                self.generated += 1
                c = cov.get(label[0])
                if c is None:
                    c = cov[label[0]] = ActionCoverage()
                c.generated += 1
                if t is None:  # outside the bounds, violating nothing: the model vouches
                    continue
                if has_aprops and self._step_violates(s, label, t, idx):
                    return []
                if t is s:  # a self-loop: counted, never new
                    continue
                key = ident(t) if ident else t
                if key in index or key in outside:
                    continue
                new = self._new_state(t, key, idx)
                if self.violation:
                    return []
                if new is not None:
                    c.distinct += 1
                    nxt.append((t, new))
            if not enabled and self.check_deadlock:
                self.violation = self._violation("deadlock", "Deadlock", self._path(idx), None)
                return []
            if self.progress and self.generated >= self.report_at:
                self.report_at = self.generated + 0x4000
                self.progress(len(self.keys), self.generated, self.depth, len(nxt))
            if self.max_states is not None and len(self.keys) >= self.max_states:
                self.complete = False
                return nxt
        return nxt

    def _step_violates(self, s: Any, label: Label, t: Any, idx: int) -> bool:
        bad = self.props.violated_action_property(s, label, t)
        if bad is None:
            return False
        holds = dict(self.props.action_properties)[bad]
        key = self.ident(t) if self.ident else t
        path = self._path(idx) + [key]
        self.violation = self._violation("action-property", bad, path,
                                         lambda p, lab, q: not holds(p, lab, q))
        return True


def check(model: Model, *, properties: Iterable[str] | None = None, check_deadlock: bool = False,
          max_states: int | None = None, progress: ProgressFn | None = None) -> Result:
    """Explore every reachable state of ``model`` breadth-first; see the module docstring.

    ``properties`` restricts the check to the named invariants, action properties and
    reachability properties (all of them by default).  ``max_states`` stops the search
    early (the result is then marked incomplete and no reachability verdict is given).
    """
    props = Properties(model, properties)
    search = _Search(model, props, check_deadlock, max_states, progress)
    start = time.perf_counter()
    with gcpause.paused():
        search.run()
    seconds = time.perf_counter() - start
    violation = search.violation
    if violation is None and search.complete and search.pending_reach:
        violation = Violation("unreached", next(iter(search.pending_reach)))
    depth = max(search.depth, violation.length if violation else 0)  # level of the bad state
    return Result(
        model=model.name, mode="exhaustive", violation=violation,
        distinct_states=len(search.keys), generated_states=search.generated,
        depth=depth, seconds=seconds, coverage=search.coverage,
        properties_checked=props.names, symmetry=model.canonicalize is not None,
        complete=search.complete,
    )
