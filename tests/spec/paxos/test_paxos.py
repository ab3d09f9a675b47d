"""Paxos, checked against Lamport's Paxos.tla: TLC's state count, exact symmetry, mutants."""

from __future__ import annotations

from functools import partial

import pytest

from helpers.specs import build as build_spec
from helpers.specs import reachable
from quorum.model_checker.explicit.bfs import check
from quorum.spec.common import ConfigError
from quorum.spec.paxos import SPEC, Config
from quorum.spec.paxos.fast.properties import chosen

build = partial(build_spec, SPEC)


def test_tlc_state_count_three_acceptors_two_values_ballots_0_1():
    # TLC on MCPaxos (3 acceptors, 2 values, ballots 0..1): 3,921 distinct states, depth 17.
    result = check(build())
    assert result.ok
    assert (result.distinct_states, result.depth) == (3921, 17)
    assert result.generated_states == 22995


def test_symmetry_counts_exact_orbits():
    full = build()
    sym = build(symmetry=True)
    orbits = {sym.canonicalize(s) for s in reachable(full)}
    result = check(sym)
    assert result.ok and result.depth == 17
    assert result.distinct_states == len(orbits) == 443


def test_symmetric_search_is_deterministic():
    a, b = check(build(symmetry=True)), check(build(symmetry=True))
    assert (a.distinct_states, a.generated_states) == (b.distinct_states, b.generated_states)


def test_ballot_zero_only_single_acceptor_counts():
    # One acceptor, one value, one ballot: 1a, 1b, 2a, 2b in order, plus nothing else.
    result = check(build(acceptors=1, values=1, max_ballot=0))
    assert result.ok and (result.distinct_states, result.depth) == (5, 5)


def test_every_state_satisfies_inv_and_some_value_is_chosen():
    model = build()
    states = reachable(model)
    assert any(chosen(model.cfg, s) for s in states)
    for name, holds in model.invariants.items():
        assert all(holds(s) for s in states), name


MUTANT_TRACES = {
    # mutant: (property checked alone, shortest trace length, the actions)
    "ceil-quorum": ("Agreement", [
        "Init", "Phase1a(b=0)", "Phase1a(b=1)", "Phase1b(a='a1', b=0)", "Phase1b(a='a1', b=1)",
        "Phase1b(a='a2', b=0)", "Phase2a(b=0, v='v1')", "Phase1b(a='a2', b=1)",
        "Phase2a(b=1, v='v2')", "Phase2b(a='a1', b=1, v='v2')", "Phase2b(a='a2', b=1, v='v2')",
        "Phase2b(a='a3', b=0, v='v1')", "Phase2b(a='a4', b=0, v='v1')"]),
    "vote-below-promise": ("Agreement", [
        "Init", "Phase1a(b=0)", "Phase1a(b=1)", "Phase1b(a='a1', b=0)", "Phase1b(a='a1', b=1)",
        "Phase1b(a='a2', b=0)", "Phase2a(b=0, v='v1')", "Phase2b(a='a1', b=0, v='v1')",
        "Phase1b(a='a2', b=1)", "Phase2a(b=1, v='v2')", "Phase2b(a='a1', b=1, v='v2')",
        "Phase2b(a='a2', b=0, v='v1')", "Phase2b(a='a2', b=1, v='v2')"]),
    "ignore-1b-votes": ("Agreement", [
        "Init", "Phase1a(b=0)", "Phase1a(b=1)", "Phase1b(a='a1', b=0)", "Phase1b(a='a1', b=1)",
        "Phase1b(a='a2', b=0)", "Phase2a(b=0, v='v1')", "Phase2b(a='a2', b=0, v='v1')",
        "Phase1b(a='a2', b=1)", "Phase2a(b=1, v='v2')", "Phase2b(a='a1', b=1, v='v2')",
        "Phase2b(a='a2', b=1, v='v2')", "Phase2b(a='a3', b=0, v='v1')"]),
}


@pytest.mark.parametrize("mutant", sorted(MUTANT_TRACES))
def test_mutant_breaks_agreement_with_a_shortest_trace(mutant):
    prop, actions = MUTANT_TRACES[mutant]
    result = check(build(mutant), properties=[prop])
    v = result.violation
    assert v is not None and (v.kind, v.property) == ("invariant", prop)
    assert [s.action for s in v.trace] == actions
    # The trace is a real behaviour ending in the violation.
    model = build(mutant)
    assert not model.invariants[prop](v.trace[-1].state)
    assert all(model.invariants[prop](s.state) for s in v.trace[:-1])


@pytest.mark.parametrize("mutant,prop,length", [
    ("ceil-quorum", "Agreement", 13),
    ("vote-below-promise", "MsgInv", 10),  # the 2a of ballot 1 is not ShowsSafeAt
    ("ignore-1b-votes", "MsgInv", 10),
])
def test_mutant_caught_earlier_by_the_inductive_invariant(mutant, prop, length):
    v = check(build(mutant)).violation
    assert v is not None and (v.property, v.length) == (prop, length)
    assert SPEC.mutants[mutant].expect == "Agreement"  # what it breaks, checked alone


def test_ceil_quorum_is_harmless_with_an_odd_number_of_acceptors():
    # ceil(3/2) = 2 = floor(3/2) + 1: the tutorial's formula only breaks for even n.
    assert check(build("ceil-quorum", acceptors=3)).ok


def test_trace_under_symmetry_is_a_real_behaviour():
    model = build("ignore-1b-votes", symmetry=True)
    v = check(model, properties=["Agreement"]).violation
    assert v is not None and v.length == 13
    plain = build("ignore-1b-votes")
    state = next(iter(plain.initial_states()))
    assert v.trace[0].state == state
    for step in v.trace[1:]:
        assert (step.label, step.state) in set(plain.successors(state))
        state = step.state


def test_explicit_quorums_are_used_and_validated():
    model = build(quorums="a1,a2;a2,a3;a1,a3")
    assert check(model).distinct_states == 3921
    with pytest.raises(ConfigError, match="do not intersect"):
        build(quorums="a1;a2")
    with pytest.raises(ConfigError, match="not an acceptor"):
        build(quorums="a1,a9")


def test_symmetry_refused_for_asymmetric_quorums():
    with pytest.raises(ConfigError, match="symmetry refused"):
        build(quorums="a1,a2;a1,a3", symmetry=True)


@pytest.mark.parametrize("kwargs,message", [
    ({"acceptors": 0}, "--acceptors must be between 1 and 7"),
    ({"values": 0}, "--values must be between 1 and 5"),
    ({"max_ballot": -1}, "--max-ballot must be between 0 and 5"),
    ({"acceptors": 40}, "--acceptors must be between 1 and 7, got 40"),
    ({"mutant": "nope"}, "unknown mutant"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)
