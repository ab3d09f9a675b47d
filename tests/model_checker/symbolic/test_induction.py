"""The generic induction engine (quorum.model_checker.symbolic.induction) on small systems.

A token ring: one token, passed from holder to any node.  "At most one holder" is
inductive on its own; a weaker invariant is not, and the engine must say which
conjunct fails under which action and return the counterexample as data.
"""

from __future__ import annotations

import pytest
import z3

from quorum.model_checker.symbolic.cti import format_cti
from quorum.model_checker.symbolic.induction import InductionError, prove
from quorum.model_checker.symbolic.system import TransitionSystem

Node = z3.DeclareSort("node")
TOKEN = (z3.Function("token", Node, z3.BoolSort()), z3.Function("token'", Node, z3.BoolSort()))
token, token_ = TOKEN
n, m, x, y = z3.Consts("n m x y", Node)
first = z3.Const("first", Node)

UNIQUE = z3.ForAll([x, y], z3.Implies(z3.And(token(x), token(y)), x == y))
PASS = z3.And(token(n), z3.ForAll([x], token_(x) == (x == m)))
# a buggy action: the holder hands a copy to m and keeps its own
COPY = z3.And(token(n), z3.ForAll([x], token_(x) == z3.Or(token(x), x == m)))


def ring(actions: dict, invariant: dict) -> dict:
    return {
        "name": "ring", "sorts": (Node,), "rigid": (first.decl(),), "state": (TOKEN,),
        "axioms": {}, "init": z3.ForAll([x], token(x) == (x == first)),
        "actions": actions, "invariant": invariant, "safety": {"OneToken": UNIQUE},
        "display": {"node": "n"},
    }


def test_an_inductive_invariant_is_proved_with_every_check_listed():
    proof = prove(ring({"Pass": ((n, m), PASS)}, {"unique": UNIQUE}))
    assert proof.ok and proof.result == "proved" and proof.cti is None
    kinds = [(c.kind, c.conjunct, c.action) for c in proof.checks]
    assert kinds == [("nonvacuity", "axioms", None), ("nonvacuity", "init", None),
                     ("initiation", "unique", None), ("safety", "OneToken", None),
                     ("nonvacuity", "invariant", "Pass"), ("consecution", "unique", "Pass")]
    assert all(c.seconds >= 0 for c in proof.checks)


def test_a_broken_action_yields_a_cti_as_data():
    proof = prove(ring({"Pass": ((n, m), PASS), "Copy": ((n, m), COPY)}, {"unique": UNIQUE}))
    assert proof.result == "refuted" and not proof.ok
    failed = [(c.conjunct, c.action) for c in proof.checks if c.result == "refuted"]
    assert failed == [("unique", "Copy")]
    cti = proof.cti
    assert cti is not None and cti.kind == "consecution" and cti.action == "Copy"
    assert cti.conjunct == "unique"
    # shrunk to the smallest example: two nodes, one holder before, two after
    assert len(cti.pre.universe["node"]) == 2
    assert len(cti.pre.interp["token"]) == 1 and len(cti.post.interp["token"]) == 2
    assert cti.args["n"] != cti.args["m"]
    assert {(t[0],) for t in cti.post.interp["token"]} >= {(cti.args["m"],)}
    # the CTI satisfies the invariant before and breaks it after, by our own evaluator
    assert cti.pre.holds(UNIQUE) and not cti.post.holds(UNIQUE)
    text = format_cti(cti, TransitionSystem.from_data(ring({"Copy": ((n, m), COPY)},
                                                           {"unique": UNIQUE})))
    assert "Copy(n=" in text and "breaks 'unique'" in text and "token(node)" in text


def test_dropping_the_only_conjunct_fails_safety_with_a_state():
    proof = prove(ring({"Pass": ((n, m), PASS)}, {"unique": UNIQUE}), drop=["unique"])
    assert proof.result == "refuted" and proof.conjuncts == () and proof.dropped == ("unique",)
    assert proof.cti is not None and proof.cti.kind == "safety" and proof.cti.post is None


def test_a_contradictory_action_is_reported_vacuous():
    never = z3.And(PASS, z3.Not(token(n)))
    proof = prove(ring({"Never": ((n, m), never)}, {"unique": UNIQUE}))
    vacuous = [c for c in proof.checks if c.kind == "nonvacuity" and c.result == "refuted"]
    assert [(c.conjunct, c.action) for c in vacuous] == [("invariant", "Never")]
    assert proof.result == "refuted" and proof.cti is None


def test_a_query_z3_cannot_decide_is_unknown_never_proved():
    a, b, c = z3.Ints("a b c")
    fermat = z3.ForAll([a, b, c], z3.Implies(z3.And(a > 0, b > 0, c > 0),
                                             a * a * a + b * b * b != c * c * c))
    proof = prove(ring({"Pass": ((n, m), PASS)}, {"unique": UNIQUE, "fermat3": fermat}),
                  timeout=0.5)
    results = {(c.kind, c.conjunct): c.result for c in proof.checks if c.action is None}
    assert results[("initiation", "fermat3")] == "unknown"
    assert proof.result == "unknown" and not proof.ok


@pytest.mark.parametrize("broken, message", [
    ({"actions": {"Lazy": ((n,), token(n))}}, "leaves token' unconstrained"),
    ({"invariant": {"primed": z3.ForAll([x], token_(x))}}, "out-of-place symbol token'"),
    ({"init": z3.Function("ghost", z3.BoolSort())()}, "undeclared or out-of-place symbol ghost"),
])
def test_misuse_fails_at_definition_time_in_one_line(broken, message):
    data = {**ring({"Pass": ((n, m), PASS)}, {"unique": UNIQUE}), **broken}
    with pytest.raises(InductionError, match=message):
        TransitionSystem.from_data(data)


def test_dropping_an_unknown_conjunct_names_the_known_ones():
    with pytest.raises(InductionError, match="no conjunct 'nope' in ring; conjuncts: unique"):
        prove(ring({"Pass": ((n, m), PASS)}, {"unique": UNIQUE}), drop=["nope"])
