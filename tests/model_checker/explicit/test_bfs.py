"""The BFS engine on tiny hand-made models: TLC's semantics, kinds of violation."""

from __future__ import annotations

import pytest

from quorum.model_checker.errors import UnknownProperty
from quorum.model_checker.explicit.bfs import check


class Counter:
    """x counts up by 1 or 2 from 0; the constraint is x <= bound."""

    def __init__(self, bound=5, invariants=None, action_properties=None, reachability=None,
                 stop_at=None, view=None):
        self.name = "counter"
        self.bound, self.stop_at = bound, stop_at
        self.invariants = invariants or {}
        self.action_properties = action_properties or {}
        self.reachability = reachability or {}
        self.canonicalize = None
        self.view = view

    def initial_states(self):
        yield 0

    def successors(self, x):
        if self.stop_at is not None and x >= self.stop_at:
            return
        yield ("Inc", (("by", 1),)), x + 1
        yield ("Inc", (("by", 2),)), x + 2

    def within_bounds(self, x):
        return x <= self.bound

    def render(self, x):
        return {"x": x}


def test_constraint_semantics_states_outside_are_not_counted_or_expanded():
    r = check(Counter(bound=5))
    assert r.ok
    assert r.distinct_states == 6  # 0..5; 6 and 7 are generated but outside
    assert r.depth == 4  # levels {0}, {1,2}, {3,4}, {5}
    assert r.generated_states == 1 + 2 * 6


def test_invariant_checked_on_states_outside_the_constraint():
    r = check(Counter(bound=5, invariants={"Small": lambda x: x < 7}))
    v = r.violation
    assert v is not None and v.property == "Small"
    # 5 is first reached from 3 (from 1); 6 is outside the constraint, so 7 comes from 5.
    assert [s.state for s in v.trace] == [0, 1, 3, 5, 7]


def test_shortest_trace_is_the_first_in_bfs_order():
    v = check(Counter(bound=10, invariants={"Not4": lambda x: x != 4})).violation
    assert [s.action for s in v.trace] == ["Init", "Inc(by=2)", "Inc(by=2)"]


def test_action_property_reports_the_step():
    r = check(Counter(action_properties={"SmallSteps": lambda s, lab, t: t - s < 2}))
    v = r.violation
    assert (v.kind, v.property) == ("action-property", "SmallSteps")
    assert [s.state for s in v.trace] == [0, 2]


def test_deadlock_only_when_asked():
    assert check(Counter(stop_at=3)).ok
    v = check(Counter(stop_at=3), check_deadlock=True).violation
    assert (v.kind, [s.state for s in v.trace]) == ("deadlock", [0, 1, 3])


def test_unreached_reachability_property():
    r = check(Counter(reachability={"Reaches9": lambda x: x == 9}))
    assert (r.violation.kind, r.violation.property, r.violation.trace) == (
        "unreached", "Reaches9", ())
    assert check(Counter(reachability={"Reaches5": lambda x: x == 5})).ok


def test_incomplete_search_gives_no_reachability_verdict():
    r = check(Counter(bound=100, reachability={"Reaches99": lambda x: x == 99}), max_states=10)
    assert r.ok and not r.complete and r.distinct_states == 10


def test_view_identifies_states():
    # Identify states by parity: only 0 and 1 are distinct.
    r = check(Counter(bound=10, view=lambda x: x % 2))
    assert r.distinct_states == 2


def test_coverage_counts_generated_and_new_distinct():
    r = check(Counter(bound=5))
    assert (r.coverage["Inc"].generated, r.coverage["Inc"].distinct) == (12, 5)


def test_unknown_property_name():
    with pytest.raises(UnknownProperty, match="no property 'Nope'"):
        check(Counter(), properties=["Nope"])
