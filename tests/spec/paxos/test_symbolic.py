"""Paxos Agreement for every size: the inductive invariant of spec/paxos/symbolic.py.

Padon et al., "Paxos Made EPR" (OOPSLA 2017), section 5: initiation and consecution
per (conjunct, action), and which conjuncts the proof needs.
"""

from __future__ import annotations

import pytest
import z3

from quorum.model_checker.symbolic.cti import format_cti
from quorum.model_checker.symbolic.induction import prove
from quorum.model_checker.symbolic.structure import Structure, evaluate
from quorum.model_checker.symbolic.system import TransitionSystem
from quorum.spec.paxos import symbolic

TS = TransitionSystem.from_data(symbolic.system())
ACTIONS = ("Phase1a", "Phase1b", "Phase2a", "Phase2b")

#: dropping any of these leaves a non-inductive invariant (a CTI)
NEEDED = ("one_proposal_per_ballot", "votes_are_proposed", "one_b_left_below", "choosable")
#: implied by the rest: dropping it still proves Agreement (it keeps CTIs readable)
REDUNDANT = ("proposal_real",)


def test_agreement_is_proved_with_every_check_listed():
    proof = prove(TS)
    assert proof.ok, [c for c in proof.checks if c.result != "proved"]
    assert proof.conjuncts == tuple(symbolic.CONJUNCTS)
    consecution = {(c.conjunct, c.action) for c in proof.checks if c.kind == "consecution"}
    assert consecution == {(k, a) for k in proof.conjuncts for a in ACTIONS}
    nonvacuous = [(c.conjunct, c.action) for c in proof.checks if c.kind == "nonvacuity"]
    assert nonvacuous == [("axioms", None), ("init", None)] + [("invariant", a) for a in ACTIONS]
    assert len(proof.checks) == 2 + 5 + 1 + 4 + 5 * 4


def test_the_conjuncts_are_exactly_the_needed_and_the_redundant_ones():
    assert set(symbolic.CONJUNCTS) == set(NEEDED) | set(REDUNDANT)


@pytest.mark.parametrize("conjunct", NEEDED)
def test_dropping_a_needed_conjunct_yields_a_cti(conjunct):
    proof = prove(TS, drop=[conjunct], stop_at_first=True, timeout=10)
    assert proof.result == "refuted"
    cti = proof.cti
    assert cti is not None
    # the CTI is genuine: our own evaluator agrees, over the finite structure returned
    invariant = [f for k, f in TS.invariant.items() if k != conjunct]
    assert all(cti.pre.holds(f) for f in invariant)
    # and, as the full invariant is inductive, its pre-state breaks the dropped conjunct
    assert not cti.pre.holds(TS.invariant[conjunct])
    assert cti.pre.holds(z3.And(list(TS.axioms.values())))
    if cti.kind == "safety":
        assert not cti.pre.holds(TS.safety[cti.conjunct])
    else:
        assert cti.kind == "consecution"
        action = TS.actions[cti.action]
        step = {**cti.pre.interp, **primed(cti.post.interp), **cti.args}
        assert evaluate(action.formula, Structure(cti.pre.universe, step))
        assert not cti.post.holds(TS.invariant[cti.conjunct])


def test_why_choosable_is_needed_two_values_chosen_in_two_ballots():
    proof = prove(TS, drop=["choosable"], stop_at_first=True)
    cti = proof.cti
    assert cti.kind == "safety" and cti.conjunct == "Agreement"
    chosen = {(b, v) for (_, b, v) in cti.pre.interp["msg2b"]}
    assert len({v for _, v in chosen}) == 2 and len({b for b, _ in chosen}) == 2
    text = format_cti(cti, TS)
    assert text.startswith("Counterexample: a state satisfies the invariant but breaks 'Agreement'")
    assert "msg2b(acceptor, ballot, value)" in text


def test_why_one_b_left_below_is_needed_a_promise_without_leaving():
    proof = prove(TS, drop=["one_b_left_below"], stop_at_first=True)
    cti = proof.cti
    assert (cti.kind, cti.conjunct, cti.action) == ("consecution", "choosable", "Phase2a")
    # a promise (1b for b) from an acceptor that has not left some ballot below b
    order = cti.pre.interp["le"]
    assert any((a, r) not in cti.pre.interp["left"] and (b, r) not in order
               for a, b in cti.pre.interp["msg1b"] for r in cti.pre.universe["ballot"])


@pytest.mark.parametrize("conjunct", REDUNDANT)
def test_dropping_a_redundant_conjunct_still_proves_agreement(conjunct):
    assert prove(TS, drop=[conjunct]).ok


def primed(interp):
    return {name + "'": value for name, value in interp.items()}


def test_agreement_alone_is_not_inductive():
    """docs/proofs.md, section 1: the property must be strengthened to be inductive."""
    data = symbolic.system()
    data["invariant"] = {"Agreement": data["safety"]["Agreement"]}
    proof = prove(data, stop_at_first=True)
    cti = proof.cti
    assert proof.result == "refuted" and cti is not None
    assert (cti.kind, cti.conjunct) == ("consecution", "Agreement")
    assert cti.pre.holds(TS.safety["Agreement"]) and not cti.post.holds(TS.safety["Agreement"])
    # unreachable: it breaks the full (inductive) invariant
    assert not all(cti.pre.holds(f) for f in TS.invariant.values())
