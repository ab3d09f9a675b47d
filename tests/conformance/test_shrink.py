"""The schedule shrinker: deterministic, bounded by a count of replays, and the result
still fails."""

from __future__ import annotations

from quorum.conformance.runner import shrink
from quorum.impl.sim import Schedule
from quorum.impl.sim.schedule import generate


def _fails(sched: Schedule) -> bool:
    """A stand-in for a failing check: two restarts of the same node, in order."""
    restarts = [step for step in sched.steps if step[0] == "restart"]
    return any(a[1] == b[1] for i, a in enumerate(restarts) for b in restarts[i + 1:])


def test_shrink_is_deterministic_and_minimal_for_a_simple_predicate() -> None:
    sched = generate(3, 600)
    assert _fails(sched)
    first, again = shrink(sched, _fails), shrink(sched, _fails)
    assert first == again
    assert first.complete and first.runs < 5000
    assert _fails(first.schedule)
    assert [step[0] for step in first.schedule.steps] == ["restart", "restart"]
    assert first.schedule.origin == f"shrunk from {sched.origin}"


def test_shrink_stops_at_its_replay_budget_and_says_so() -> None:
    sched = generate(3, 600)
    calls = 0

    def counted(s: Schedule) -> bool:
        nonlocal calls
        calls += 1
        return _fails(s)

    small = shrink(sched, counted, max_runs=7)
    assert calls == small.runs == 7
    assert not small.complete
    assert _fails(small.schedule) and len(small.schedule.steps) < len(sched.steps)
