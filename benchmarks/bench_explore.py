"""How guided simulation finds the Raft paper's Figure 8, and what each part contributes.

Usage: python benchmarks/bench_explore.py [--seeds N] [--budget SECONDS] [--only NAME]

The ``commit-old-term`` mutant (3 servers, 1 value, terms up to 5, one entry per log,
one message in flight) has no counterexample shorter than 52 states.  For seeds
0..N-1 this runs each search until it finds a violation or has spent its CPU budget,
and prints per seed the runs made and the CPU seconds, then how many seeds were found:

* ``walk``: uniform random walks, depth 150 (TLC's simulator's way of choosing);
* ``walk+weights``: the same walks choosing action names by the model's
  ``action_weights``;
* ``explore``: the mutant's default (Go-Explore over ``explore_cell``, cheapest state
  per cell by ``explore_cost``, action names by ``action_weights``);
* ``explore-no-weights``: every action name equally likely;
* ``explore-no-cost``: a cell keeps the state reached in the fewest steps;
* ``explore-states``: no cells, the archive holds states (identities).

CPU seconds, not wall seconds: the machines are shared.  There is no published anchor
for this figure; the comparison is between the strategies.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.simulation.explore import explore, weighted_step
from quorum.model_checker.simulation.simulate import Walker
from quorum.spec.raft import SPEC

ROOT = Path(__file__).resolve().parent.parent

MUTANT = "commit-old-term"


class Variant:
    """The mutant's model with some of the guidance taken away."""

    def __init__(self, model: Any, **replace: Any) -> None:
        self._model, self._replace = model, replace

    def __getattr__(self, name: str) -> Any:
        if name in self._replace:
            value = self._replace[name]
            if value is None:
                raise AttributeError(name)
            return value
        return getattr(self._model, name)


def model(**replace: Any) -> Any:
    base = SPEC.build(SPEC.defaults(MUTANT), MUTANT, False)
    return Variant(base, **replace) if replace else base


def weighted_walks(m: Any, seed: int, budget: float) -> tuple[bool, int]:
    """Walks of up to 150 states choosing action names by the model's weights."""
    walker = Walker(m, Properties(m, None), None)
    weights = m.action_weights
    start, run = time.process_time(), 0
    while time.process_time() - start < budget:
        rng = random.Random(f"bench-walk:{seed}:{run}")
        state = walker.initial[0]
        for _ in range(149):
            step = weighted_step(m, walker, weights, rng, state)  # explore's own weighted choice
            if step is None:
                break
            state = step[1]
            if walker.props.violated_invariant(state) is not None:
                return True, run + 1
        run += 1
    return False, run


class _OutOfBudget(Exception):
    pass


def budgeted(search: Callable[..., Any], m: Any) -> Callable[[int, float], tuple[bool, int]]:
    """Run a seeded search for up to a million runs, stopped when the CPU budget is spent
    (the progress callback, called after every run, raises)."""
    def run(seed: int, budget: float) -> tuple[bool, int]:
        start, runs = time.process_time(), 0

        def progress(*_: int) -> None:
            nonlocal runs
            runs += 1
            if time.process_time() - start >= budget:
                raise _OutOfBudget

        try:
            result = search(m, depth=150, runs=1_000_000, seed=seed, progress=progress)
        except _OutOfBudget:
            return False, runs
        assert result.violation is not None
        return True, result.violation.provenance["run"] + 1
    return run


def main() -> None:
    from quorum.model_checker.simulation.simulate import simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=60.0, help="CPU seconds per seed")
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    variants: dict[str, Callable[[int, float], tuple[bool, int]]] = {
        "walk": budgeted(simulate, model()),
        "walk+weights": lambda seed, budget: weighted_walks(model(), seed, budget),
        "explore": budgeted(explore, model()),
        "explore-no-weights": budgeted(explore, model(action_weights=None)),
        "explore-no-cost": budgeted(explore, model(explore_cost=None)),
        "explore-states": budgeted(explore, model(explore_cell=None)),
    }
    for name, search in variants.items():
        if args.only and name != args.only:
            continue
        found, cpu = 0, 0.0
        cells = []
        for seed in range(args.seeds):
            start = time.process_time()
            ok, runs = search(seed, args.budget)
            spent = time.process_time() - start
            found += ok
            cpu += spent
            cells.append(f"{seed}:{'found' if ok else 'no'}@{runs}/{spent:.0f}s")
        print(f"{name:<20} found {found}/{args.seeds} seeds, {cpu:7.0f} CPU s   "
              + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
