"""Simulation: seeded random walks for bounds too large to exhaust, and trace shrinking.

Each run starts from an initial state and takes up to ``depth`` steps.  At each step
it picks an enabled action uniformly by name (as TLC's simulator picks a disjunct of
Next), then one of that action's successors uniformly; so an action with many
parameter choices (say, receiving any of ten messages) is not chosen ten times as
often as a lone one.  Successors outside the state constraint are not walked into,
and stutters (a successor equal to its state) are not taken: they cannot lead
anywhere new.  Odd-numbered runs are *swarm* runs (Groce et al., "Swarm Testing",
2012): each action name is kept with probability 1/2 for the whole run, and only
kept actions are chosen while any of them is enabled; leaving out, say, crashes for
a whole run lets the long cooperative sequences that deep bugs need happen.
Every state and step visited is checked against the selected invariants and action
properties.  Run ``r`` draws from its own generator seeded by ``(seed, r)``, so a
violation found in run ``r`` is replayed by the same seed with at least ``r + 1``
runs, whatever else happened before it, in any process.

A violation's trace is shrunk before it is returned (:func:`shrink`: delta debugging
over the sequence of action labels, replayed from the same initial state, every step
still enabled and the violation still present).

A simulation that finds nothing proves nothing: the result says ``mode ==
"simulation"`` and its ``complete`` flag is False.  Reachability properties are not
reported as violated (a walk may simply not have gone there); the ones that were
reached are listed in ``result.extra["reached"]``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.replay import identity_function
from quorum.model_checker.model import Label, Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import ActionCoverage, Result, Step, Violation, shown_steps

__all__ = ["run_rng", "shrink", "simulate"]


def run_rng(seed: int, run: int) -> random.Random:
    """The generator of run ``run`` under ``seed`` (string seeds hash with SHA-512,
    so this is the same in every process)."""
    return random.Random(f"quorum-simulate:{seed}:{run}")


class Walker:
    """Random walks over one model with one set of properties."""

    def __init__(self, model: Model, props: Properties, progress: ProgressFn | None) -> None:
        self.model, self.props, self.progress = model, props, progress
        self.initial = list(model.initial_states())
        self.ident = identity_function(model) or (lambda s: s)
        self.seen: set[Hashable] = set()
        self.generated = 0
        self.longest = 0
        self.coverage: dict[str, ActionCoverage] = {}
        self.reached: set[str] = set()

    def visit(self, state: Any) -> None:
        key = self.ident(state)
        if key not in self.seen:
            self.seen.add(key)
            for name, holds in self.props.reachability:
                if name not in self.reached and holds(state):
                    self.reached.add(name)

    def _choose(self, rng: random.Random, state: Any, swarm: dict[str, bool] | None
                ) -> tuple[Label, Any] | None:
        """An action uniformly by name (among the run's swarm, if any of those is
        enabled), then one of its successors that moves and stays within bounds."""
        by_action: dict[str, list[tuple[Label, Any]]] = {}
        for label, t in self.model.successors(state):
            self.generated += 1
            if t == state:  # a stutter cannot lead anywhere new
                continue
            by_action.setdefault(label[0], []).append((label, t))
        names = list(by_action)
        if swarm is not None:
            kept = [n for n in names if swarm.setdefault(n, rng.random() < 0.5)]
            names = kept or names
        while names:
            name = names[rng.randrange(len(names))]
            steps = by_action[name]
            step = steps.pop(rng.randrange(len(steps)))
            if self.model.within_bounds(step[1]):
                return step
            if not steps:
                names.remove(name)
        return None

    def walk(self, rng: random.Random, depth: int, swarm: bool = False
             ) -> tuple[list[Step], str, str] | None:
        """One run; on a violation, the trace, the violation's kind and property."""
        kept: dict[str, bool] | None = {} if swarm else None
        state = self.initial[rng.randrange(len(self.initial))]
        trace = [Step(None, state)]
        bad = self.props.violated_invariant(state)
        if bad is not None:
            return trace, "invariant", bad
        self.visit(state)
        for _ in range(depth - 1):
            step = self._choose(rng, state, kept)
            if step is None:
                break
            label, t = step
            trace.append(Step(label, t))
            violation = self.take(state, label, t)
            if violation is not None:
                return trace, *violation
            state = t
        self.longest = max(self.longest, len(trace))
        return None

    def take(self, s: Any, label: Label, t: Any) -> tuple[str, str] | None:
        """Check the step s -label-> t and count it (coverage, distinct states); the
        violation's kind and property, if any (t is then not visited)."""
        cov = self.coverage.setdefault(label[0], ActionCoverage())
        cov.generated += 1
        bad = self.props.violated_action_property(s, label, t)
        if bad is not None:
            return "action-property", bad
        bad = self.props.violated_invariant(t)
        if bad is not None:
            return "invariant", bad
        before = len(self.seen)
        self.visit(t)
        cov.distinct += len(self.seen) - before
        return None


def simulate(model: Model, *, depth: int, runs: int, seed: int,
             properties: Iterable[str] | None = None,
             progress: ProgressFn | None = None) -> Result:
    """``runs`` seeded random walks of at most ``depth`` states each (see module docstring).

    The first violation found ends the simulation; its trace is shrunk.  Statistics:
    ``distinct_states`` counts the distinct states visited (identities, as the
    exhaustive search counts them), ``generated_states`` every successor computed,
    ``depth`` the longest walk in states.
    """
    if depth < 1 or runs < 1:
        raise CheckError(f"simulation needs depth >= 1 and runs >= 1 (got {depth}, {runs})")
    props = Properties(model, properties)
    walker = Walker(model, props, progress)
    start = time.perf_counter()
    violation = None
    done = 0
    for run in range(runs):
        found = walker.walk(run_rng(seed, run), depth, swarm=run % 2 == 1)
        done = run + 1
        if progress is not None:
            progress(len(walker.seen), walker.generated, walker.longest, runs - done)
        if found is not None:
            trace, kind, name = found
            walker.longest = max(walker.longest, len(trace))
            shrunk = shrink(model, trace, name)
            violation = Violation(kind, name, tuple(shrunk), provenance={
                "seed": seed, "run": run, "steps_found": len(trace), "strategy": "walk",
                "replay": f"--simulate --strategy walk --seed {seed} --runs {run + 1} "
                          f"--depth {depth}",
            })
            break
    seconds = time.perf_counter() - start
    return Result(
        model=model.name, mode="simulation", violation=violation,
        distinct_states=len(walker.seen), generated_states=walker.generated,
        depth=walker.longest, seconds=seconds, coverage=walker.coverage,
        properties_checked=props.names, symmetry=model.canonicalize is not None,
        complete=False,
        extra={"strategy": "walk", "runs": done, "seed": seed,
               "reached": ", ".join(sorted(walker.reached)) or "(none)"},
    )


# -- shrinking ---------------------------------------------------------------------------
def _checker(model: Model, name: str) -> Callable[[Any, Label | None, Any], bool]:
    """A predicate on a step (prev, label, state) that is true when it violates ``name``."""
    if name in model.invariants:
        holds = model.invariants[name]
        return lambda _s, _label, t: not holds(t)
    if name in model.action_properties:
        step_holds = model.action_properties[name]
        return lambda s, label, t: label is not None and not step_holds(s, label, t)
    raise CheckError(f"{model.name} has no invariant or action property {name!r}")


def _replay(model: Model, init: Any, labels: Sequence[Label],
            violates: Callable[[Any, Label | None, Any], bool]) -> list[Step] | None:
    """Replay labels from init; the trace up to the first violation, or None if a
    step is disabled, leaves the bounds before the end, or no violation occurs."""
    if violates(None, None, init):
        return [Step(None, init)]
    trace, state = [Step(None, init)], init
    for label in labels:
        if not model.within_bounds(state):
            return None
        nxt = next((t for lab, t in model.successors(state) if lab == label), None)
        if nxt is None:
            return None
        trace.append(Step(label, nxt))
        if violates(state, label, nxt):
            return trace
        state = nxt
    return None


def _labels(trace: Sequence[Step]) -> list[Label]:
    labels = [s.label for s in trace[1:]]
    assert all(label is not None for label in labels), "only the first step has no label"
    return labels  # type: ignore[return-value]


def shrink(model: Model, trace: Sequence[Step], violated_property: str) -> list[Step]:
    """A shorter trace from the same initial state that still violates the property.

    Delta debugging (Zeller's ddmin) over the action labels: drop chunks of steps,
    halving the chunk size when nothing can go, and keep a candidate when every
    remaining step is still enabled (matched by its label), every state before the
    last is within bounds, and the property is still violated (the candidate is cut
    at its first violation); then pairs of steps are tried too.  The result is
    1-minimal (and, up to 80 steps, 2-minimal): removing any single step (or pair)
    loses the violation or disables a step.  Deterministic.  The labels come as the
    model prints them too (``Step.shown``).
    """
    violates = _checker(model, violated_property)
    init = trace[0].state
    best = _replay(model, init, _labels(trace), violates)
    if best is None:
        raise CheckError("shrink: the trace given does not violate " + violated_property)
    labels = _labels(best)
    chunks = 2
    while len(labels) >= 1:
        size = max(1, len(labels) // chunks)
        for lo in range(0, len(labels), size):
            candidate = _replay(model, init, labels[:lo] + labels[lo + size:], violates)
            if candidate is not None:
                best, labels = candidate, _labels(candidate)
                chunks = max(chunks - 1, 2)
                break
        else:
            if size == 1:
                break
            chunks = min(chunks * 2, len(labels))
    return list(shown_steps(model, _drop_pairs(model, init, best, violates)))


def _drop_pairs(model: Model, init: Any, best: list[Step],
                violates: Callable[[Any, Label | None, Any], bool]) -> list[Step]:
    """Remove two steps at once where ddmin's single removals cannot (a message sent
    and dropped, say), until no pair can go.  Quadratic, so only for short traces."""
    improved = True
    while improved and len(best) <= 80:
        improved = False
        labels = _labels(best)
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                rest = labels[:i] + labels[i + 1:j] + labels[j + 1:]
                candidate = _replay(model, init, rest, violates)
                if candidate is not None:
                    best, improved = candidate, True
                    break
            if improved:
                break
    return best
