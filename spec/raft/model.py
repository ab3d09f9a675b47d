"""The Raft model handed to the checker: bounds, actions, properties, symmetry.

:class:`RaftModel` satisfies ``model_checker.model.Model`` structurally (this
package imports nothing of ours besides ``spec.common``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from spec.raft import actions
from spec.raft.config import Config
from spec.raft.properties import (
    ACTION_PROPERTIES,
    FAIRNESS,
    INVARIANTS,
    LIVENESS,
    REACHABILITY,
)
from spec.raft.render import render_state
from spec.raft.rules import RAFT, Rules
from spec.raft.state import State, initial_state
from spec.raft.symmetry import canonicalize

__all__ = ["RaftModel"]


class RaftModel:
    """raft.tla under a :class:`Config`, with the given :class:`Rules` (a mutant's, or Raft's)."""

    def __init__(self, config: Config, rules: Rules = RAFT, symmetry: bool = False,
                 name: str = "raft") -> None:
        self.name = name
        self.config = config
        self.rules = rules
        self.context = actions.Context(
            n=config.servers,
            values=config.values,
            quorum=rules.quorum_size(config.servers),
            rules=rules,
        )
        self.invariants = dict(INVARIANTS)
        self.action_properties = dict(ACTION_PROPERTIES)
        # A property that the bounds make unreachable is not claimed.
        self.reachability = {
            k: f
            for k, f in REACHABILITY.items()
            if config.max_term >= 2 and (k != "EntryCommitted" or config.max_log >= 1)
        }
        self.liveness = dict(LIVENESS)  # `quorum check raft --liveness`
        self.fairness = list(FAIRNESS)
        self.canonicalize: Callable[[Any], Hashable] | None = canonicalize if symmetry else None
        self.view: Callable[[Any], Hashable] | None = None

    def initial_states(self) -> Iterable[State]:
        return (initial_state(self.config.servers),)

    def successors(self, state: State) -> Iterator[tuple[actions.Label, State]]:
        return actions.successors(state, self.context)

    def within_bounds(self, state: State) -> bool:
        """TLC's CONSTRAINT: terms, log lengths and messages in flight within the bounds."""
        cfg = self.config
        bag = state.messages
        return (
            max(state.current_term) <= cfg.max_term
            and max(map(len, state.log)) <= cfg.max_log
            and sum([c for _, c in bag]) <= cfg.max_msgs
        )

    def render(self, state: State) -> dict[str, Any]:
        return render_state(state)
