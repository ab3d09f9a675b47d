"""Step refinement on a small counter model: stutters, single steps, compositions, failures."""

from __future__ import annotations

from quorum.model_checker.explicit.trace_validation import validate_step
from quorum.model_checker.model import format_label


class Counters:
    """Two counters; Inc(i) adds one to counter i while it is below 3; Reset sets both to 0."""

    name = "counters"
    invariants: dict = {}
    action_properties: dict = {}
    reachability: dict = {}
    canonicalize = None
    view = None

    def initial_states(self):
        return [(0, 0)]

    def successors(self, s):
        for i in (0, 1):
            if s[i] < 3:
                t = list(s)
                t[i] += 1
                yield ("Inc", (("i", i),)), tuple(t)
        yield ("Reset", ()), (0, 0)

    def within_bounds(self, s):
        return True

    def render(self, s):
        return {"a": s[0], "b": s[1]}


M = Counters()


def test_equal_states_are_a_stutter():
    r = validate_step(M, (1, 2), (1, 2))
    assert r.ok and r.stutter and r.describe() == "stutter"


def test_one_step():
    r = validate_step(M, (1, 2), (2, 2))
    assert r.ok and [format_label(lb) for lb in r.path] == ["Inc(i=0)"]


def test_composition_of_three_steps_is_shortest():
    r = validate_step(M, (0, 0), (2, 1))
    assert r.ok and len(r.path) == 3
    assert sorted(format_label(lb) for lb in r.path) == ["Inc(i=0)", "Inc(i=0)", "Inc(i=1)"]


def test_too_long_a_composition_fails_and_names_the_enabled_actions():
    r = validate_step(M, (0, 0), (2, 2))
    assert not r.ok
    assert [format_label(lb) for lb in r.enabled] == ["Inc(i=0)", "Inc(i=1)", "Reset()"]
    assert "no path of at most 3 spec steps" in r.describe()
    assert validate_step(M, (0, 0), (2, 2), max_steps=4).ok


def test_unreachable_step_fails():
    # counters never decrease except by Reset to (0, 0)
    assert not validate_step(M, (2, 2), (1, 2)).ok


def test_allowed_prunes_the_search():
    assert not validate_step(M, (0, 0), (1, 0), allowed=lambda lb: lb[0] == "Reset").ok
    assert validate_step(M, (3, 3), (0, 0), allowed=lambda lb: lb[0] == "Reset").ok


def test_match_compares_only_what_the_caller_maps():
    r = validate_step(M, (0, 0), (1, 99), match=lambda a, b: a[0] == b[0])
    assert r.ok and len(r.path) == 1
