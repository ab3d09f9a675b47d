"""Wiring: run a simulated schedule with every check, and shrink a failing one.

This is where the simulator (``quorum.impl.sim``), the observers of this package and the
generic history checker of ``quorum.model_checker`` meet; ``quorum sim``, the soak
benchmark and the tests call :func:`check_schedule`.  The checks, as
:data:`~quorum.conformance.failure.ALL_CHECKS` names them:

* ``safety``: the implementation's own safety through ghost state
  (:class:`~quorum.conformance.ghost.GhostSafety`: election safety, state machine safety,
  committed entries durable on a majority, the commit rule, restarts, stale messages),
  and no node ever panics (the simulator's :attr:`~quorum.impl.sim.RunResult.panic`);
* ``invariants``: the spec's invariant functions on the abstract state after every
  event, and its action properties on every abstract step
  (:class:`~quorum.conformance.invariants.InvariantObserver`);
* ``refinement``: every event is a stutter or a path of at most 3 spec steps
  (:class:`~quorum.conformance.steps.StepRefinementObserver`; tla profiles only); under
  the multipaxos core, a path of MultiPaxos.tla's actions per replica that acted
  (:class:`~quorum.conformance.mpsteps.MPStepRefinement`);
* ``linearizability``: the client history against ``quorum.spec.kv.KVModel``, at the end
  of the run (``unknown`` when the time limit, the memo cap or a ``MemoryError`` cuts the
  search short, never ``ok``); its failure names the operation that cannot be
  linearized, and its details the end of the longest linearizable prefix.

The first failure stops the run and is :attr:`CheckedRun.failure`, a
:class:`~quorum.conformance.failure.Failure`; :attr:`CheckedRun.verdicts` maps each check
that ran to ``ok``, ``FAILED`` or ``unknown`` (the observers first, in the order safety,
refinement, invariants; then linearizability).

:func:`shrink` is delta debugging over the steps (Zeller's ddmin, then lowering
numbers): every list of steps is a valid schedule, so any subsequence can be tried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from quorum.conformance.failure import ALL_CHECKS, Check, Failure, Observer
from quorum.conformance.ghost import GhostSafety
from quorum.conformance.invariants import InvariantObserver
from quorum.conformance.mpsafety import MultiPaxosSafety
from quorum.conformance.mpsteps import MPStepRefinement
from quorum.conformance.steps import StepRefinementObserver, servers
from quorum.impl.sim import RunResult, Schedule, in_tla_vocabulary, run_schedule
from quorum.model_checker.history.linearizability import (
    ILLEGAL,
    OK,
    UNKNOWN,
    LinearizabilityResult,
    check,
    history_from_json,
)
from quorum.spec.kv import KVModel

__all__ = ["ALL_CHECKS", "CHECKS", "MEMBERSHIP_STEPS", "MULTIPAXOS_CHECKS", "TLA_CHECKS", "CheckedRun", "ChecksError", "check_schedule",
           "default_checks", "shrink"]

#: the step kinds that change the membership (step refinement compares them since issue 13)
MEMBERSHIP_STEPS = ("addl", "addv", "promote", "remove")

#: the checks that run by default (step refinement needs the tla profile: see
#: docs/refinement.md; TLA_CHECKS are the defaults under it)
CHECKS: tuple[Check, ...] = ("safety", "invariants", "linearizability")
TLA_CHECKS: tuple[Check, ...] = ("safety", "invariants", "refinement", "linearizability")
#: the checks of a run under the multipaxos core (MultiPaxosSafety: per-slot agreement;
#: MPStepRefinement: step refinement against quorum.spec.multipaxos)
MULTIPAXOS_CHECKS: tuple[Check, ...] = ("safety", "refinement", "linearizability")


class ChecksError(ValueError):
    """The checks asked for cannot run on this schedule (the caller's mistake)."""


@dataclass
class CheckedRun:
    """One schedule run with its checks: what :func:`check_schedule` returns."""

    run: RunResult[Failure]
    verdicts: dict[Check, str] = field(default_factory=dict)  # check -> ok / FAILED / unknown
    failure: Failure | None = None  # the first failure
    seconds: float = 0.0
    #: step refinement's coverage, one line per event kind (None: the check did not run)
    coverage: str | None = None
    validated: tuple[int, int] = (0, 0)  # (events validated, events) by step refinement

    @property
    def ok(self) -> bool:
        return self.failure is None and all(v == "ok" for v in self.verdicts.values())

    @property
    def failed(self) -> bool:
        return self.failure is not None


def default_checks(schedule: Schedule) -> tuple[str, ...]:
    """Every check that applies: step refinement too under the tla profile; safety, step
    refinement against the Multi-Paxos spec and linearizability under the multipaxos core."""
    if schedule.config.protocol == "multipaxos":
        return MULTIPAXOS_CHECKS
    return TLA_CHECKS if in_tla_vocabulary(schedule.config) else CHECKS


def _observers(checks: tuple[str, ...], schedule: Schedule) -> list[Observer]:
    """The per-event checks among ``checks``, in the order their verdicts are reported."""
    obs: list[Observer] = []
    if schedule.config.protocol == "multipaxos":
        other = [c for c in checks if c not in MULTIPAXOS_CHECKS]
        if other:
            raise ChecksError(f"{', '.join(other)} compare the store with raft.tla and need "
                              f"the Raft core; under --protocol multipaxos the checks are "
                              f"{', '.join(MULTIPAXOS_CHECKS)}")
        if "safety" in checks:
            obs.append(MultiPaxosSafety())
        if "refinement" in checks:
            obs.append(MPStepRefinement(schedule.config.nodes))
        return obs
    if "safety" in checks:
        obs.append(GhostSafety())
    if "refinement" in checks:
        if not in_tla_vocabulary(schedule.config):
            raise ChecksError("step refinement needs the tla profile (check-quorum off, one "
                             "entry per AppendEntries): use --profile tla or tla-prevote "
                             "(see docs/refinement.md)")
        obs.append(StepRefinementObserver(servers(schedule)))
    if "invariants" in checks:
        obs.append(InvariantObserver())
    return obs


def check_schedule(schedule: Schedule, checks: tuple[str, ...] = CHECKS,
                   lin_timeout: float = 10.0, keep_log: bool = True) -> CheckedRun:
    """Run ``schedule`` with the given checks; the verdicts and the first failure."""
    t0 = time.perf_counter()
    observers = _observers(checks, schedule)
    run: RunResult[Failure] = run_schedule(schedule, observers, keep_log=keep_log)
    verdicts: dict[Check, str] = {o.check: "ok" for o in observers}
    failure = run.failure
    if run.panic is not None:  # a node's code raised: the implementation is not safe
        failure = Failure("safety", f"a node panicked: {run.panic}", run.failed_at)
    if failure is not None:
        verdicts[failure.check] = "FAILED"
    if "linearizability" in checks:
        lin = check(history_from_json(run.history), KVModel(), timeout=lin_timeout)
        verdicts["linearizability"] = {OK: "ok", UNKNOWN: "unknown"}.get(lin.verdict, "FAILED")
        if lin.verdict == ILLEGAL and failure is None:
            failure = _not_linearizable(lin)
    coverage, validated = None, (0, 0)
    for o in observers:
        if isinstance(o, StepRefinementObserver | MPStepRefinement):
            coverage, validated = o.coverage(), o.totals()
    return CheckedRun(run, verdicts, failure, time.perf_counter() - t0, coverage, validated)


#: the operations of the longest linearizable prefix a failure's details show (its end)
PREFIX_SHOWN = 10


def _not_linearizable(lin: LinearizabilityResult) -> Failure:
    """The failure naming the operation no linearization of its key can take in, after
    the longest linearizable prefix found (the end of which the details list)."""
    op, prefix = lin.unlinearizable, lin.longest_prefix
    assert op is not None
    shown = prefix[-PREFIX_SHOWN:]
    lines = [f"longest linearizable prefix of key {op.input[1]!r}: {len(prefix)} of its "
             f"{len(lin.partition)} operations"
             + (f", the last {len(shown)}:" if len(shown) < len(prefix) else ":")]
    lines += [f"  {n:>4}. {o}" for n, o in enumerate(shown, len(prefix) - len(shown) + 1)]
    lines.append(f"  next: {op}, which no extension of that prefix can linearize")
    return Failure("linearizability", f"the client history is not linearizable: {op} cannot "
                   f"be linearized after the longest linearizable prefix of its key "
                   f"({len(prefix)} operations)", details="\n".join(lines))


#: replays a shrink may spend: the budget is counted, not timed, so a shrink gives the
#: same schedule on every machine (a slow or busy machine takes longer, not a different path)
SHRINK_RUNS = 5000


@dataclass(frozen=True)
class Shrunk:
    schedule: Schedule
    runs: int  # replays spent
    complete: bool  # False: the budget ran out before no smaller candidate failed


def shrink(schedule: Schedule, fails: Callable[[Schedule], bool],
           max_runs: int = SHRINK_RUNS) -> Shrunk:
    """A smaller schedule that still ``fails`` (ddmin over steps, then smaller numbers).

    Deterministic: the same schedule, predicate and ``max_runs`` give the same result."""
    steps = list(schedule.steps)
    runs = 0

    def still(cand: list[tuple[Any, ...]]) -> bool:
        nonlocal runs
        if runs >= max_runs:
            return False
        runs += 1
        return fails(replace(schedule, steps=tuple(cand)))

    # the shortest failing prefix first (binary search; a failure stays in a longer prefix)
    lo, hi = 1, len(steps)
    while lo < hi and runs < max_runs:
        mid = (lo + hi) // 2
        if still(steps[:mid]):
            hi = mid
        else:
            lo = mid + 1
    steps = steps[:hi]
    chunk = max(1, len(steps) // 2)
    while chunk >= 1 and runs < max_runs:
        i, removed = 0, False
        while i < len(steps) and runs < max_runs:
            cand = steps[:i] + steps[i + chunk:]
            if cand and still(cand):
                steps, removed = cand, True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    for i in range(len(steps)):
        for j in range(1, len(steps[i])):
            if steps[i][j] and runs < max_runs:
                cand = list(steps)
                cand[i] = steps[i][:j] + (0,) + steps[i][j + 1:]
                if still(cand):
                    steps = cand
    origin = f"shrunk from {schedule.origin or 'a schedule'}"
    return Shrunk(replace(schedule, steps=tuple(steps), origin=origin), runs, runs < max_runs)
