"""Multi-Paxos per-slot agreement for every size: the inductive invariant of
spec/multipaxos/symbolic.py, and a genuine counterexample to induction for each conjunct
dropped."""

from __future__ import annotations

import pytest
import z3

from quorum.model_checker.symbolic.induction import prove
from quorum.model_checker.symbolic.structure import Structure, evaluate
from quorum.model_checker.symbolic.system import TransitionSystem
from quorum.spec.multipaxos import symbolic

TS = TransitionSystem.from_data(symbolic.system())
ACTIONS = ("BecomeLeader", "HandlePrepare", "Propose", "HandleAccept")


def test_per_slot_agreement_is_proved_with_every_check_listed():
    proof = prove(TS)
    assert proof.ok, [ch for ch in proof.checks if ch.result != "proved"]
    assert proof.conjuncts == tuple(symbolic.CONJUNCTS)
    consecution = {(ch.conjunct, ch.action) for ch in proof.checks if ch.kind == "consecution"}
    assert consecution == {(k, a) for k in proof.conjuncts for a in ACTIONS}
    assert len(proof.checks) == 2 + 5 + 1 + 4 + 5 * 4


def test_proposal_real_is_redundant():
    assert prove(TS, drop=["proposal_real"]).ok


@pytest.mark.parametrize("conjunct,kind,action", [
    ("one_proposal_per_slot", "safety", None),
    ("votes_are_proposed", "safety", None),
    ("replied_left_below", "consecution", "Propose"),
    ("choosable", "safety", None),
])
def test_dropping_a_conjunct_yields_a_genuine_cti(conjunct, kind, action):
    proof = prove(TS, drop=[conjunct], stop_at_first=True, timeout=10)
    assert proof.result == "refuted"
    cti = proof.cti
    assert cti is not None and (cti.kind, cti.action) == (kind, action)
    kept = [f for k, f in TS.invariant.items() if k != conjunct]
    assert all(cti.pre.holds(f) for f in kept)
    assert not cti.pre.holds(TS.invariant[conjunct])
    assert cti.pre.holds(z3.And(list(TS.axioms.values())))
    if kind == "safety":
        assert cti.conjunct == "Agreement" and not cti.pre.holds(TS.safety["Agreement"])
    else:
        step = {**cti.pre.interp, **{n + "'": v for n, v in cti.post.interp.items()},
                **cti.args}
        assert evaluate(TS.actions[action].formula, Structure(cti.pre.universe, step))
        assert not cti.post.holds(TS.invariant[cti.conjunct])


def test_without_choosable_two_commands_are_chosen_in_one_slot():
    cti = prove(TS, drop=["choosable"], stop_at_first=True).cti
    votes = cti.pre.interp["accept_reply"]
    slots = {}
    for _, bal, slot, cmd in votes:
        slots.setdefault(slot, set()).add((bal, cmd))
    assert any(len({cmd for _, cmd in v}) >= 2 for v in slots.values())
