"""The ``invariants`` check: the spec's own invariants on the abstract image of every event.

After every event the cluster is mapped onto ``quorum.spec.raft``'s ``State`` by
:func:`quorum.conformance.abstraction.abstract`; the spec's invariant functions (the same
Python functions the model checker evaluates: Election Safety, Log Matching, Leader
Completeness, State Machine Safety) run on that state, and its action properties
(Leader Append-Only) on the step from the previous abstract state.

One more invariant reads the implementation directly, since the abstraction cannot
tell a member the leader tracks from one it no longer does: **matchIndex is monotonic**
(Raft paper, Figure 2: matchIndex "increases monotonically"): while a node leads one
term, its matchIndex for a member it tracks never decreases.
"""

from __future__ import annotations

from typing import Any

from quorum.conformance.abstraction import Values, abstract, learn_committed
from quorum.conformance.failure import Check, Failure
from quorum.impl.raft.types import Role
from quorum.impl.sim import Event, Simulator
from quorum.spec.raft.tla.properties import ACTION_PROPERTIES, INVARIANTS

__all__ = ["InvariantObserver"]


class InvariantObserver:
    """Observer for :func:`quorum.impl.sim.run_schedule`: the first invariant or action
    property violated, as ``Failure("invariants", ...)`` (see the module docstring)."""

    check: Check = "invariants"

    def __init__(self) -> None:
        self.values = Values()
        self.committed: dict[int, tuple[int, int]] = {}
        self.prev: Any = None
        self.match: dict[int, tuple[int, dict[int, int]]] = {}  # leader -> (term, matches)

    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        why = self._match_monotonic(sim)
        if why is not None:
            return Failure(self.check, why, ev.index)
        learn_committed(sim.raft_nodes, self.committed, self.values)
        s = abstract(sim.raft_nodes, self.committed, self.values)
        for name, inv in INVARIANTS.items():
            if not inv(s):
                return Failure(self.check, f"{name} violated on the abstract state", ev.index)
        if self.prev is not None:
            label = ("ImplementationEvent", (("event", ev.text),))
            for name, prop in ACTION_PROPERTIES.items():
                if not prop(self.prev, label, s):
                    return Failure(self.check, f"{name} violated by the abstract step",
                                   ev.index)
        self.prev = s
        return None

    def _match_monotonic(self, sim: Simulator) -> str | None:
        """MatchIndexMonotonic: a leader's matchIndex of a tracked member never decreases
        within its term."""
        now: dict[int, tuple[int, dict[int, int]]] = {}
        for i, node in sim.raft_nodes.items():
            raw = node.raw
            if raw is None or raw.raft.role is not Role.LEADER:
                continue
            term = raw.raft.term
            match = {j: pr.match for j, pr in raw.raft.tracker.progress.items() if j != i}
            before = self.match.get(i)
            if before is not None and before[0] == term:
                for j, m in match.items():
                    if m < before[1].get(j, 0):
                        return (f"MatchIndexMonotonic violated: leader n{i} of term {term} "
                                f"lowered matchIndex[n{j}] from {before[1][j]} to {m}")
            now[i] = (term, match)
        self.match = now
        return None
