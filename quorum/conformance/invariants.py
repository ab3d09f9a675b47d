"""The ``invariants`` check: the spec's own invariants on the abstract image of every event.

After every event the cluster is mapped onto ``quorum.spec.raft``'s ``State`` by
:func:`quorum.conformance.abstraction.abstract`; the spec's invariant functions (the same
Python functions the model checker evaluates: Election Safety, Log Matching, Leader
Completeness, State Machine Safety) run on that state, and its action properties
(Leader Append-Only) on the step from the previous abstract state.
"""

from __future__ import annotations

from typing import Any

from quorum.conformance.abstraction import Values, abstract, learn_committed
from quorum.conformance.failure import Check, Failure
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

    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        learn_committed(sim.nodes, self.committed, self.values)
        s = abstract(sim.nodes, self.committed, self.values)
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
