"""What a check reports: the check names, the :class:`Failure` value, the observer protocol.

Every check of the store against the spec answers in the same shape: ``None``, or a
:class:`Failure` naming the check that failed (one of :data:`ALL_CHECKS`) and why.  The
per-event checks are :class:`Observer` objects that
:func:`quorum.impl.sim.run_schedule` calls after every simulated event; the
linearizability check judges the whole history at the end of the run
(:mod:`quorum.conformance.runner`).  Callers read ``failure.check`` to learn which check
failed, never a prefix of the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from quorum.impl.sim import Event, Simulator

__all__ = ["ALL_CHECKS", "Check", "Failure", "Observer"]

#: a check's name, as ``quorum sim --checks`` takes it and the verdicts print it
Check = Literal["safety", "invariants", "refinement", "linearizability"]
#: every check, in the order they are reported
ALL_CHECKS: tuple[Check, ...] = get_args(Check)


@dataclass(frozen=True)
class Failure:
    """A failed check: which one, why (one line), where, and any further lines.

    ``str(failure)`` is the report ``quorum sim`` prints after ``FAILED at event N:``:
    ``check: message``, then the details on the lines below.
    """

    check: Check
    message: str
    #: the event it failed at (None: a verdict on the whole run, as linearizability's)
    event: int | None = None
    #: further lines (step refinement: the enabled spec actions, the pre- and post-state)
    details: str = ""

    def __post_init__(self) -> None:
        if self.check not in ALL_CHECKS:
            raise ValueError(f"unknown check {self.check!r}; known: {', '.join(ALL_CHECKS)}")
        if "\n" in self.message:
            raise ValueError("a failure's message is one line (put the rest in details)")

    @property
    def headline(self) -> str:
        """``check: message``, the report's first line."""
        return f"{self.check}: {self.message}"

    def __str__(self) -> str:
        return f"{self.headline}\n{self.details}" if self.details else self.headline


class Observer(Protocol):
    """A check run after every simulated event; its failure stops the run."""

    #: the check it reports (its verdict is "ok" unless it returns a failure)
    check: Check

    def __call__(self, sim: Simulator, ev: Event) -> Failure | None: ...
