"""What a check returns: plain data, printable and JSON-serialisable.

A :class:`Result` is ``ok`` or carries one :class:`Violation`.  Statistics follow
TLC's vocabulary: *generated* states are all states computed (initial ones and
every successor, self-loops included); *distinct* states are those within the
state constraint, counted once per identity (per orbit under symmetry); *depth* is
the number of BFS levels, the initial states being level 1.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from quorum.model_checker.model import Label, format_label, shown_label

__all__ = ["KINDS", "ActionCoverage", "Result", "Step", "Violation", "shown_steps"]

#: kinds of violation
KINDS = ("invariant", "action-property", "deadlock", "unreached", "liveness")


@dataclass(frozen=True)
class Step:
    """One state of a trace and the action that led to it (``None`` for an initial state).

    ``label`` is the model's own label (a trace replays from them); ``shown`` is the same
    label as the model prints it (its ``render_label``), filled in by :func:`shown_steps`
    when a search reports a trace, and left out of comparisons."""

    label: Label | None
    state: Any
    shown: Label | None = field(default=None, compare=False, repr=False)

    @property
    def printed_label(self) -> Label | None:
        """The label as printed: ``shown`` if filled in, else ``label``."""
        return self.label if self.shown is None else self.shown

    @property
    def action(self) -> str:
        label = self.printed_label
        return "Init" if label is None else format_label(label)


def shown_steps(model: object, trace: Iterable[Step]) -> tuple[Step, ...]:
    """The trace with every label as ``model`` prints it (``Step.shown``): what a search
    puts in a :class:`Violation`, so that ``Step.action`` reads as the model's own."""
    if getattr(model, "render_label", None) is None:
        return tuple(trace)
    return tuple(Step(s.label, s.state, None if s.label is None else shown_label(s.label, model))
                 for s in trace)


@dataclass(frozen=True)
class Violation:
    kind: str  # one of KINDS
    property: str
    trace: tuple[Step, ...] = ()  # empty for an unreached reachability property
    #: how the trace was found, e.g. the simulation seed that replays it
    provenance: dict[str, Any] = field(default_factory=dict)

    @builtins.property  # the field `property` shadows the builtin in this class body
    def length(self) -> int:
        return len(self.trace)


@dataclass
class ActionCoverage:
    """Per action name: successors it produced, and new distinct states among them."""

    generated: int = 0
    distinct: int = 0


@dataclass
class Result:
    model: str
    mode: str  # "exhaustive" or "simulation"
    violation: Violation | None
    distinct_states: int
    generated_states: int
    depth: int
    seconds: float
    coverage: dict[str, ActionCoverage] = field(default_factory=dict)
    properties_checked: tuple[str, ...] = ()
    symmetry: bool = False
    complete: bool = True  # False when a state or time limit cut the search short
    extra: dict[str, Any] = field(default_factory=dict)  # mode-specific figures

    @property
    def ok(self) -> bool:
        return self.violation is None

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0
