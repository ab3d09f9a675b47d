"""Guided simulation: Go-Explore over a coarse abstraction of the state space.

Uniform random walks (:mod:`quorum.model_checker.simulation.simulate`) find bugs whose traces are
short or forgiving.  Some are neither: a behaviour that must win many races in one
order, in a bounded model whose budget (say, a bound on a counter that many actions
increment) a random walk spends long before the behaviour is complete.  This module
searches the way Go-Explore does (Ecoffet, Huizinga, Lehman, Stanley and Clune,
"First return, then explore", Nature 590, 2021):

* an *archive* maps each *cell* (a coarse abstraction of a state, given by the
  model's optional ``explore_cell``) to the best state seen in it: the one with the
  lowest ``explore_cost`` (the model's measure of how much of its bounds a state has
  used up, say the terms spent), then the one reached in the fewest steps;
* each run *returns* to a cell, chosen with weight ``1/sqrt(1 + times chosen)`` so that
  rarely tried cells are preferred (the table of weights is rebuilt every 100 runs, so
  a new cell becomes a candidate at the next rebuild), and *explores* from its state for up to ``segment``
  steps, choosing an action name with probability proportional to the model's optional
  ``action_weights`` (default 1; a model may say, for instance, that timeouts and
  crashes are rarer than message deliveries, as they are in a real deployment), then
  one of that action's successors uniformly;
* every new cell enters the archive, and a cheaper state replaces its cell's.

Every step taken is checked against the selected invariants and action properties,
as in a walk; the first violation ends the search and its trace (rebuilt from parent
links) is shrunk.  The search draws from one generator seeded by the seed, and its
archive is ordered by insertion, so a seed and a number of runs replay a find
exactly.  It proves nothing: the result says ``mode == "simulation"``, not complete.

A model without ``explore_cell`` is explored over its states' identities (return to
any visited state); without ``explore_cost`` every state costs the same.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from itertools import accumulate
from typing import Any

from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.gcpause import paused
from quorum.model_checker.model import Label, Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import Result, Step, Violation
from quorum.model_checker.simulation.simulate import Walker, shrink

__all__ = ["SEGMENT", "explore", "weighted_step"]

#: steps walked from a returned-to state, per run
SEGMENT = 20

#: how many runs share one table of cell weights (recomputing it is linear in cells)
_REWEIGHT = 100


class _Node:
    """One state in the archive's tree of paths: the step that reached it, its parent."""

    __slots__ = ("label", "length", "parent", "state")

    def __init__(self, label: Label | None, state: Any, parent: _Node | None) -> None:
        self.label, self.state, self.parent = label, state, parent
        self.length: int = 1 if parent is None else parent.length + 1

    def trace(self) -> list[Step]:
        steps = []
        node: _Node | None = self
        while node is not None:
            steps.append(Step(node.label, node.state))
            node = node.parent
        return steps[::-1]


class _Cell:
    __slots__ = ("chosen", "cost", "node")

    def __init__(self, node: _Node, cost: Any) -> None:
        self.node, self.cost, self.chosen = node, cost, 0


def _weights(model: Model) -> Mapping[str, float]:
    weights = dict(getattr(model, "action_weights", None) or {})
    bad = {name: w for name, w in weights.items()
           if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0)}
    if bad:
        raise CheckError(f"{model.name}: action weights must be finite numbers >= 0 "
                         f"(got {bad})")
    return weights


def explore(model: Model, *, depth: int, runs: int, seed: int,
            properties: Iterable[str] | None = None, segment: int = SEGMENT,
            progress: ProgressFn | None = None) -> Result:
    """``runs`` returns to an archived cell, each followed by up to ``segment`` random
    steps; no trace grows beyond ``depth`` states (see the module docstring)."""
    if depth < 1 or runs < 1 or segment < 1:
        raise CheckError(f"exploration needs depth, runs and segment >= 1 "
                         f"(got {depth}, {runs}, {segment})")
    props = Properties(model, properties)
    walker = Walker(model, props, progress)
    weights = _weights(model)
    ident: Callable[[Any], Hashable] = walker.ident
    cell_of: Callable[[Any], Hashable] = getattr(model, "explore_cell", None) or ident
    cost_of: Callable[[Any], Any] = getattr(model, "explore_cost", None) or (lambda _s: 0)
    rng = random.Random(f"quorum-explore:{seed}")
    start = time.perf_counter()
    with paused():
        found, done, archive = _search(model, props, walker, weights, cell_of, cost_of,
                                       rng, depth, runs, segment)
    violation = None
    if found is not None:
        node, kind, name, run = found
        trace = node.trace()
        violation = Violation(kind, name, tuple(shrink(model, trace, name)), provenance={
            "seed": seed, "run": run, "steps_found": len(trace), "strategy": "explore",
            "replay": f"--simulate --strategy explore --seed {seed} --runs {run + 1} "
                      f"--depth {depth}",
        })
    return Result(
        model=model.name, mode="simulation", violation=violation,
        distinct_states=len(walker.seen), generated_states=walker.generated,
        depth=walker.longest, seconds=time.perf_counter() - start,
        coverage=walker.coverage, properties_checked=props.names,
        symmetry=model.canonicalize is not None, complete=False,
        extra={"strategy": "explore", "runs": done, "seed": seed, "cells": len(archive),
               "reached": ", ".join(sorted(walker.reached)) or "(none)"},
    )


def _search(model: Model, props: Properties, walker: Walker, weights: Mapping[str, float],
            cell_of: Callable[[Any], Hashable], cost_of: Callable[[Any], Any],
            rng: random.Random, depth: int, runs: int, segment: int
            ) -> tuple[tuple[_Node, str, str, int] | None, int, dict[Hashable, _Cell]]:
    archive: dict[Hashable, _Cell] = {}
    if not walker.initial:
        raise CheckError(f"{model.name} has no initial state")
    walker.longest = 1
    for init in walker.initial:
        node = _Node(None, init, None)
        bad = props.violated_invariant(init)
        if bad is not None:
            return (node, "invariant", bad, 0), 1, archive
        walker.visit(init)
        _enter(archive, cell_of(init), node, cost_of(init))
    cells: list[_Cell] = []
    cumulative: list[float] = []
    for run in range(runs):
        if run % _REWEIGHT == 0:
            cells = list(archive.values())
            cumulative = list(accumulate(1.0 / math.sqrt(1 + c.chosen) for c in cells))
        chosen = rng.choices(cells, cum_weights=cumulative)[0]
        chosen.chosen += 1
        node = chosen.node
        for _ in range(segment):
            if node.length >= depth:
                break
            step = weighted_step(model, walker, weights, rng, node.state)
            if step is None:
                break
            label, t = step
            s, node = node.state, _Node(label, t, node)
            walker.longest = max(walker.longest, node.length)
            violation = walker.take(s, label, t)
            if violation is not None:
                if walker.progress is not None:
                    walker.progress(len(walker.seen), walker.generated, walker.longest,
                                    runs - run - 1)
                return (node, *violation, run), run + 1, archive
            _enter(archive, cell_of(t), node, cost_of(t))
        if walker.progress is not None:
            walker.progress(len(walker.seen), walker.generated, walker.longest, runs - run - 1)
    return None, runs, archive


def _enter(archive: dict[Hashable, _Cell], key: Hashable, node: _Node, cost: Any) -> None:
    """A new cell enters the archive; a known one keeps the cheaper state (then the one
    reached in fewer steps; on a tie, the one it had)."""
    cell = archive.get(key)
    if cell is None:
        archive[key] = _Cell(node, cost)
    else:
        try:
            better = (cost, node.length) < (cell.cost, cell.node.length)
        except TypeError:
            raise CheckError(f"explore_cost must return values that compare with < "
                             f"(got {cost!r} and {cell.cost!r})") from None
        if better:
            cell.node, cell.cost = node, cost


def weighted_step(model: Model, walker: Walker, weights: Mapping[str, float],
            rng: random.Random, state: Any) -> tuple[Label, Any] | None:
    """An action name with probability proportional to its weight (among the names
    with a step that moves and stays within bounds), then one of its steps uniformly."""
    by_action: dict[str, list[tuple[Label, Any]]] = {}
    for label, t in model.successors(state):
        walker.generated += 1
        if t != state and model.within_bounds(t):
            by_action.setdefault(label[0], []).append((label, t))
    if not by_action:
        return None
    names = list(by_action)
    shares = [weights.get(n, 1.0) for n in names]
    if not any(shares):  # only zero-weight actions are enabled: take them evenly
        shares = [1.0] * len(names)
    steps = by_action[rng.choices(names, shares)[0]]
    return steps[rng.randrange(len(steps))]
