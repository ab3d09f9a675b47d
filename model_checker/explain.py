"""Explained traces: what a model says about a counterexample, collected and printed.

Generic over the model's optional hooks (see :mod:`quorum.model_checker.model`), each read
with ``getattr`` so that a model without them explains nothing:

* ``explain_step(state, label, next_state) -> list[str]``: for a known-bug variant, why
  the correct protocol refuses this step (empty for a step the protocol has too);
* ``explain_violation(state, property) -> list[str]``: the witness of the violation;
* ``milestones(steps) -> list[(state number, text)]``: elections, proposals, log changes,
  commits, given ``[(label, state), ...]`` (the first label ``None``);
* ``describe_step(state, label, next_state) -> str | None``: a short reading of a step
  (Raft's ``Receive`` names its handler), used for charts' rows.

A long trace (more than :data:`SUMMARY_FROM` states) is summarised by its milestones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from quorum.model_checker.result import Step, Violation

__all__ = ["SUMMARY_FROM", "Explanation", "explain", "format_explanation", "step_notes"]

#: traces of more states than this get a milestone summary in the printed explanation
SUMMARY_FROM = 12


@dataclass(frozen=True)
class Explanation:
    """``steps``: state number (1-based) -> the lines that mark it; ``witness``: why the
    last state violates the property; ``milestones``: (state number, text)."""

    steps: dict[int, list[str]] = field(default_factory=dict)
    witness: list[str] = field(default_factory=list)
    milestones: list[tuple[int, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.steps or self.witness or self.milestones)


def step_notes(model: Any, trace: Sequence[Step]) -> dict[int, list[str]]:
    hook = getattr(model, "explain_step", None)
    notes: dict[int, list[str]] = {}
    if hook is None:
        return notes
    for k in range(1, len(trace)):
        lines = hook(trace[k - 1].state, trace[k].label, trace[k].state)
        if lines:
            notes[k + 1] = list(lines)
    return notes


def explain(model: Any, violation: Violation) -> Explanation:
    trace = violation.trace
    if not trace:
        return Explanation()
    witness_hook = getattr(model, "explain_violation", None)
    witness = []
    if witness_hook is not None and violation.kind in ("invariant", "action-property"):
        witness = list(witness_hook(trace[-1].state, violation.property))
    milestones_hook = getattr(model, "milestones", None)
    milestones = []
    if milestones_hook is not None:
        milestones = list(milestones_hook([(s.label, s.state) for s in trace]))
    return Explanation(step_notes(model, trace), witness, milestones)


def format_explanation(e: Explanation, length: int) -> str:
    """The explanation as printed after a trace (empty when there is nothing to say)."""
    out: list[str] = []
    for k, lines in sorted(e.steps.items()):
        out += [f"  step {k}: {line}" for line in lines]
    if e.steps:
        out.insert(0, "Where the bug acts (steps the correct protocol does not take):")
    if e.witness:
        out.append("Why the last state violates it:")
        out += [f"  {line}" for line in e.witness]
    if e.milestones and length > SUMMARY_FROM:
        out.append("Milestones:")
        out += [f"  state {k}: {text}" for k, text in e.milestones]
    return "\n".join(out)
