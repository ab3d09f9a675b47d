"""Inductive invariants on z3: initiation, consecution, safety, non-vacuity.

Theory of operation.  An invariant ``Inv = C1 /\\ ... /\\ Ck`` proves a safety
property ``P`` of a transition system for every size of its sorts when

* initiation:   ``Axioms /\\ Init => Ci``                for every conjunct i;
* consecution:  ``Axioms /\\ Inv /\\ A => Ci'``           for every conjunct i and action A;
* safety:       ``Axioms /\\ Inv => P``.

Each obligation is one solver query (its negation must be unsatisfiable), so
the report says which conjunct fails under which action (Padon et al., "Paxos
Made EPR", OOPSLA 2017, section 3; mypyvy's ``updr``/``verify`` report per
(conjunct, transition) the same way).  A satisfying assignment of a failed
consecution query is a *counterexample to induction* (CTI): a pre-state that
satisfies ``Inv``, the action's arguments and a post-state that breaks ``Ci``;
it comes back as data (:class:`quorum.model_checker.symbolic.cti.CTI`).

Non-vacuity is checked too (premises satisfiable): the axioms, ``Init``, and
``Inv /\\ A`` for each action, so that no proof holds because its premises
contradict each other.  A solver that gives up (timeout, incompleteness of
quantifier reasoning) yields ``"unknown"``, never ``"proved"``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import z3

from quorum.model_checker.symbolic.cti import CTI, extract_cti
from quorum.model_checker.symbolic.system import InductionError, TransitionSystem

__all__ = ["Check", "InductionError", "Proof", "bound_sorts", "check_formula", "prove", "scope"]

PROVED, REFUTED, UNKNOWN = "proved", "refuted", "unknown"
#: after an "unknown", search for finite counterexamples with every sort up to this size
BOUNDED_SEARCH = 3
#: seconds of the first, unbounded attempt at an obligation; after an "unknown" there
#: and in the finite search, the unbounded query gets the whole timeout
FIRST_TRY = 5.0


@dataclass(frozen=True)
class Check:
    """One solver query: its kind, the conjunct and action it is about, result, time."""

    kind: str  # "nonvacuity" | "initiation" | "consecution" | "safety"
    conjunct: str | None
    action: str | None
    result: str  # proved | refuted | unknown
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "conjunct": self.conjunct, "action": self.action,
                "result": self.result, "seconds": round(self.seconds, 4)}


@dataclass(frozen=True)
class Proof:
    """The outcome of :func:`prove`: every check, and the first CTI if one was found."""

    system: str
    safety: tuple[str, ...]
    conjuncts: tuple[str, ...]
    dropped: tuple[str, ...]
    checks: tuple[Check, ...]
    cti: CTI | None

    @property
    def result(self) -> str:
        """``refuted`` if any check failed, else ``unknown`` if any gave up, else ``proved``."""
        results = {c.result for c in self.checks}
        return REFUTED if REFUTED in results else UNKNOWN if UNKNOWN in results else PROVED

    @property
    def ok(self) -> bool:
        return self.result == PROVED

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "safety": list(self.safety), "ok": self.ok,
                "result": self.result, "conjuncts": list(self.conjuncts),
                "dropped": list(self.dropped), "seconds": round(self.seconds, 3),
                "checks": [c.to_json() for c in self.checks],
                "cti": self.cti.to_json() if self.cti else None}


@contextmanager
def scope(solver: z3.Solver) -> Iterator[z3.Solver]:
    """A solver scope: assertions added inside are retracted on exit."""
    solver.push()
    try:
        yield solver
    finally:
        solver.pop()


def check_formula(solver: z3.Solver, timeout: float) -> tuple[z3.CheckSatResult, float]:
    """``solver.check()`` with a timeout in seconds; returns the answer and its time."""
    solver.set("timeout", max(1, int(timeout * 1000)))
    start = time.perf_counter()
    answer = solver.check()
    return answer, time.perf_counter() - start


def prove(system: TransitionSystem | Mapping[str, Any], *, drop: Iterable[str] = (),
          timeout: float = 30.0, stop_at_first: bool = False, minimize: bool = True) -> Proof:
    """Check that the invariant (minus ``drop``) is inductive and implies the safety property.

    ``timeout`` is per solver query, in seconds.  With ``stop_at_first`` the run ends at
    the first refuted obligation (still with its CTI).  Raises :class:`InductionError`
    for a malformed system or an unknown conjunct name.
    """
    if not isinstance(system, TransitionSystem):
        system = TransitionSystem.from_data(system)
    dropped = tuple(drop)
    ts = system.without(dropped)
    run = _Run(ts, timeout, stop_at_first, minimize)
    run.all_checks()
    return Proof(system=ts.name, safety=tuple(ts.safety), conjuncts=tuple(ts.invariant),
                 dropped=dropped, checks=tuple(run.checks), cti=run.cti)


class _Run:
    """One proof attempt: a solver holding the axioms, and the checks made so far."""

    def __init__(self, ts: TransitionSystem, timeout: float, stop: bool, minimize: bool):
        self.ts, self.timeout, self.stop, self.minimize = ts, timeout, stop, minimize
        self.solver = z3.Solver()
        self.solver.add(*ts.axioms.values())
        self.checks: list[Check] = []
        self.cti: CTI | None = None

    @property
    def done(self) -> bool:
        return self.stop and any(c.result == REFUTED for c in self.checks)

    def all_checks(self) -> None:
        ts = self.ts
        inv = list(ts.invariant.values())
        self.nonvacuity("axioms", None, [])
        self.nonvacuity("init", None, [ts.init])
        for name, conjunct in ts.invariant.items():
            self.obligation("initiation", name, None, [ts.init], conjunct)
        for name, prop in ts.safety.items():
            self.obligation("safety", name, None, inv, prop)
        for action in ts.actions.values():
            self.nonvacuity("invariant", action.name, [*inv, action.formula])
            for name, conjunct in ts.invariant.items():
                self.obligation("consecution", name, action.name,
                                [*inv, action.formula], ts.prime(conjunct))

    def nonvacuity(self, what: str, action: str | None, premises: list[z3.BoolRef]) -> None:
        if self.done:
            return
        with scope(self.solver) as s:
            s.add(*premises)
            answer, seconds = check_formula(s, self.timeout)
        result = PROVED if answer == z3.sat else REFUTED if answer == z3.unsat else UNKNOWN
        self.checks.append(Check("nonvacuity", what, action, result, seconds))

    def obligation(self, kind: str, conjunct: str, action: str | None,
                   premises: list[z3.BoolRef], goal: z3.BoolRef) -> None:
        if self.done:
            return
        with scope(self.solver) as s:
            s.add(*premises)
            s.add(z3.Not(goal))
            answer, seconds = check_formula(s, min(self.timeout, FIRST_TRY))
            if answer == z3.unknown:
                answer, more = self.bounded(s)
                seconds += more
            if answer == z3.unknown and self.timeout > FIRST_TRY:
                answer, more = check_formula(s, self.timeout)
                seconds += more
            if answer == z3.sat and self.cti is None:
                self.cti = extract_cti(self.ts, s, kind, conjunct, action,
                                       self.timeout if self.minimize else 0.0)
        result = PROVED if answer == z3.unsat else REFUTED if answer == z3.sat else UNKNOWN
        self.checks.append(Check(kind, conjunct, action, result, seconds))

    def bounded(self, s: z3.Solver) -> tuple[z3.CheckSatResult, float]:
        """After an ``unknown``: look for a finite counterexample, every sort <= k elements.

        A finite model is a genuine counterexample, so ``sat`` here refutes the
        obligation; ``unsat`` only rules out small ones, so it stays ``unknown``.
        On ``sat`` the bound stays pushed (the caller's scope pops it).
        """
        spent = 0.0
        for k in range(1, BOUNDED_SEARCH + 1):
            s.push()
            s.add(*bound_sorts(self.ts.sorts, k))
            answer, seconds = check_formula(s, min(self.timeout, FIRST_TRY))
            spent += seconds
            if answer == z3.sat:
                return answer, spent
            s.pop()
        return z3.unknown, spent


def bound_sorts(sorts: Iterable[z3.SortRef], k: int) -> list[z3.BoolRef]:
    """Each sort has at most ``k`` elements."""
    out = []
    for sort in sorts:
        x = z3.Const(f"{sort.name()}!x", sort)
        elems = [z3.Const(f"{sort.name()}!e{i}", sort) for i in range(k)]
        out.append(z3.ForAll([x], z3.Or([x == e for e in elems])))
    return out
