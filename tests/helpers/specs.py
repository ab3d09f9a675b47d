"""Building a spec's model as the ``quorum check`` command does, and walking its states."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from quorum.spec.common import SpecInfo

__all__ = ["build", "reachable", "replays"]


def build(spec: SpecInfo, mutant: str | None = None, symmetry: bool = False,
          **overrides: object) -> Any:
    """``spec``'s model with its defaults (the mutant's, if any) and ``overrides``."""
    values = spec.defaults(mutant)
    values.update(overrides)
    return spec.build(values, mutant, symmetry)


def reachable(model: Any, bounded: bool = False) -> set[Hashable]:
    """Every reachable state, by a plain BFS independent of the model checker; with
    ``bounded``, only states within the model's bounds (TLC's CONSTRAINT) are expanded."""
    init = list(model.initial_states())
    seen, queue = set(init), deque(init)
    while queue:
        for _, t in model.successors(queue.popleft()):
            if t not in seen and (not bounded or model.within_bounds(t)):
                seen.add(t)
                queue.append(t)
    return seen


def replays(model: Any, trace: Any) -> bool:
    """Whether every step of ``trace`` is a step of ``model``, matched by its label."""
    state = trace[0].state
    if state not in list(model.initial_states()):
        return False
    for step in trace[1:]:
        if (step.label, step.state) not in list(model.successors(state)):
            return False
        state = step.state
    return True
