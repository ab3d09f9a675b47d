"""Wiring: run a simulated schedule with every check, and shrink a failing one.

This is where the simulator (``impl.sim``), the abstraction onto the Raft spec
(``impl.refinement``), the spec's own invariants and the generic engines of
``model_checker`` (step refinement, linearizability) meet; ``quorum sim`` and the
tests both call :func:`check_schedule`.  The checks:

* ``safety``: ghost state over what every node applies (State Machine Safety on the
  implementation itself: no two nodes apply different entries at one index);
* ``invariants``: the spec's invariant functions on the abstract state after every
  event, and its action properties on every abstract step;
* ``refinement``: every event is a stutter or a path of at most 3 spec steps;
* ``linearizability``: the client history, at the end of the run.

:func:`shrink` is delta debugging over the steps (Zeller's ddmin, then lowering
numbers): every list of steps is a valid schedule, so any subsequence can be tried.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from impl.raft.types import Role
from impl.sim import Event, RunResult, Schedule, Simulator, run_schedule
from model_checker.linearizability import OK, UNKNOWN, check, history_from_json

__all__ = ["ALL_CHECKS", "CHECKS", "CheckedRun", "check_schedule", "shrink"]

#: every check, in the order they are reported
ALL_CHECKS = ("safety", "invariants", "refinement", "linearizability")
#: the checks that run by default (invariants and refinement need spec.raft)
CHECKS = ("safety", "linearizability")


@dataclass
class CheckedRun:
    run: RunResult
    verdicts: dict[str, str] = field(default_factory=dict)  # check -> ok / FAILED ... / unknown
    failure: str | None = None  # the first failure, one line
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None and all(v == "ok" for v in self.verdicts.values())

    @property
    def failed(self) -> bool:
        return self.failure is not None


class GhostSafety:
    """Safety on the implementation itself, over the whole run (raft.tla's history variables).

    Election Safety: at most one node ever leads a term (``elections``).  State Machine
    Safety: one entry per index is ever applied, by any node.
    """

    name = "safety"

    def __init__(self) -> None:
        self.applied: dict[int, tuple[int, int]] = {}  # index -> (term, crc of the data)
        self.leaders: dict[int, int] = {}  # term -> leader

    def __call__(self, sim: Simulator, ev: Event) -> str | None:
        for i, node in sim.nodes.items():
            if node.raw is not None and node.raw.raft.role is Role.LEADER:
                term = node.raw.raft.term
                if self.leaders.setdefault(term, i) != i:
                    return f"safety: two leaders in term {term}: n{self.leaders[term]} and n{i}"
        for i, node in sim.nodes.items():
            for e in node.newly_applied:
                key = (e.term, zlib.crc32(bytes([int(e.type)]) + e.data))
                prev = self.applied.setdefault(e.index, key)
                if prev != key:
                    return (f"safety: n{i} applied entry {e.index} of term {e.term}, "
                            f"another node applied term {prev[0]} there")
        return None


def _observers(checks: tuple[str, ...]) -> list[Any]:
    obs: list[Any] = []
    if "safety" in checks:
        obs.append(GhostSafety())
    if "invariants" in checks or "refinement" in checks:
        from quorum.simrefine import RefinementObserver  # needs spec.raft

        obs.append(RefinementObserver("invariants" in checks, "refinement" in checks))
    return obs


def check_schedule(schedule: Schedule, checks: tuple[str, ...] = CHECKS,
                   lin_timeout: float = 10.0, keep_log: bool = True) -> CheckedRun:
    """Run ``schedule`` with the given checks; the verdicts and the first failure."""
    t0 = time.perf_counter()
    observers = _observers(checks)
    run = run_schedule(schedule, observers, keep_log=keep_log)
    verdicts = {}
    for o in observers:
        for name in getattr(o, "names", (o.name,)):
            verdicts[name] = "ok"
    failure = run.failure
    if failure is not None:
        verdicts[failure.split(":", 1)[0]] = "FAILED"
    if "linearizability" in checks:
        verdict = check(history_from_json(run.history), timeout=lin_timeout).verdict
        verdicts["linearizability"] = {OK: "ok", UNKNOWN: "unknown"}.get(verdict, "FAILED")
        if verdict not in (OK, UNKNOWN) and failure is None:
            failure = "linearizability: the client history is not linearizable"
    return CheckedRun(run, verdicts, failure, time.perf_counter() - t0)


def shrink(schedule: Schedule, fails: Callable[[Schedule], bool],
           budget_seconds: float = 30.0) -> Schedule:
    """A smaller schedule that still ``fails`` (ddmin over steps, then smaller numbers)."""
    deadline = time.monotonic() + budget_seconds
    steps = list(schedule.steps)

    def still(cand: list[tuple[Any, ...]]) -> bool:
        return time.monotonic() < deadline and fails(replace(schedule, steps=tuple(cand)))

    # truncate after the failure first: nothing later matters
    chunk = max(1, len(steps) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i, removed = 0, False
        while i < len(steps) and time.monotonic() < deadline:
            cand = steps[:i] + steps[i + chunk:]
            if cand and still(cand):
                steps, removed = cand, True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    for i in range(len(steps)):
        for j in range(1, len(steps[i])):
            if steps[i][j] and time.monotonic() < deadline:
                cand = list(steps)
                cand[i] = steps[i][:j] + (0,) + steps[i][j + 1:]
                if still(cand):
                    steps = cand
    origin = f"shrunk from {schedule.origin or 'a schedule'}"
    return replace(schedule, steps=tuple(steps), origin=origin)
