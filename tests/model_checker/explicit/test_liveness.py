"""Liveness under weak fairness: verdicts, lassos, and the symmetry refusal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.liveness import check_liveness
from quorum.spec.paxos import SPEC


class Light:
    """0 -Tick-> 1 -Tick-> 2 -Tick-> 0, and Fix from 0, 1 or 2 to 3, where it stays."""

    def __init__(self, fair=(), liveness=None):
        self.name = "light"
        self.invariants, self.action_properties, self.reachability = {}, {}, {}
        self.canonicalize = self.view = None
        self.fairness = [(f"WF({a})", lambda lab, a=a: lab[0] == a) for a in fair]
        self.liveness = liveness or {"EventuallyFixed": ("eventually", lambda s: s == 3)}

    def initial_states(self):
        yield 0

    def successors(self, s):
        if s == 3:
            yield ("Idle", ()), s
            return
        yield ("Tick", ()), (s + 1) % 3
        yield ("Fix", ()), 3

    def within_bounds(self, s):
        return True

    def render(self, s):
        return {"s": s}


def states(v):
    return [step.state for step in v.trace]


def test_without_fairness_the_behaviour_may_stutter_at_the_start():
    v = check_liveness(Light()).violation
    assert (v.kind, v.property, states(v), v.provenance) == (
        "liveness", "EventuallyFixed", [0], {"stutters_in_state": 1})


def test_fair_ticking_alone_gives_a_cycle_that_never_fixes():
    v = check_liveness(Light(fair=["Tick"])).violation
    assert states(v) == [0, 1, 2, 0]
    assert [s.action for s in v.trace] == ["Init", "Tick()", "Tick()", "Tick()"]
    assert v.provenance == {"cycle_returns_to_state": 1}


def test_fair_fixing_makes_it_hold():
    assert check_liveness(Light(fair=["Fix"])).ok
    assert check_liveness(Light(fair=["Tick", "Fix"])).ok


def test_one_entry_can_name_a_fairness_condition_per_instance():
    model = Light()
    # Weak fairness of every action instance, keyed by its label: Fix is among them.
    model.fairness = [("WF(every action)", lambda lab: lab)]
    assert check_liveness(model).ok
    model.fairness = [("WF(Tick)", lambda lab: lab if lab[0] == "Tick" else None)]
    assert states(check_liveness(model).violation) == [0, 1, 2, 0]


def test_always_eventually_fails_when_the_behaviour_settles_elsewhere():
    prop = {"InfinitelyOftenZero": ("always-eventually", lambda s: s == 0)}
    v = check_liveness(Light(fair=["Tick"], liveness=prop)).violation
    # Fix leads to 3, where Tick is disabled: stuttering there is fair.
    assert states(v) == [0, 3] and v.provenance == {"stutters_in_state": 2}
    assert check_liveness(Light(fair=["Tick"], liveness={
        "InfinitelyOftenNotThree": ("always-eventually", lambda s: s != 3)}),
    ).violation is not None


def paxos(symmetry=False):
    return SPEC.build(SPEC.defaults(), None, symmetry)


def test_paxos_value_eventually_chosen_under_mclspec_fairness():
    r = check_liveness(paxos())
    assert r.ok and (r.distinct_states, r.generated_states, r.depth) == (3921, 22995, 17)
    assert "WF(Phase1b(a1) \\/ Phase2b(a1))" in r.extra["fairness"]


def test_paxos_without_fairness_may_never_choose():
    v = check_liveness(paxos(), fairness=False).violation
    assert (v.property, v.length, v.provenance) == ("EventuallyChosen", 1,
                                                   {"stutters_in_state": 1})


def test_paxos_without_acceptor_fairness_stalls_after_the_proposer_acts():
    model = paxos()
    model.fairness = [f for f in model.fairness if "Phase1b" not in f[0]]
    v = check_liveness(model).violation
    assert [s.action for s in v.trace] == ["Init", "Phase1a(b=1)"]
    assert v.provenance == {"stutters_in_state": 2}


def test_symmetry_and_liveness_are_refused():
    with pytest.raises(CheckError, match="refuses symmetry"):
        check_liveness(paxos(symmetry=True))


def test_cli_prints_the_lasso():
    p = subprocess.run([sys.executable, "-m", "quorum", "check", "paxos", "--liveness",
                        "--no-fairness"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1
    assert "Error: liveness property EventuallyChosen is violated." in p.stdout
    assert "Then it stutters in state 1 forever" in p.stdout
    q = subprocess.run([sys.executable, "-m", "quorum", "check", "paxos", "--liveness",
                        "--symmetry"], capture_output=True, text=True, timeout=300)
    assert q.returncode == 2 and "refuses symmetry" in q.stderr
