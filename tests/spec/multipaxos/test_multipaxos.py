"""Multi-Paxos, checked against MultiPaxos.tla (tlaplus/Examples, MultiPaxos-SMR): TLC's
state count, exact symmetry, the properties, the mutants' shortest traces."""

from __future__ import annotations

from functools import partial

import pytest

from helpers.specs import build as build_spec
from helpers.specs import reachable, replays
from quorum.model_checker.explicit.bfs import check
from quorum.spec.common import ConfigError
from quorum.spec.multipaxos import SPEC, Config
from quorum.spec.multipaxos.fast import decode
from quorum.spec.multipaxos.symmetry import canonicalizer, rename
from quorum.spec.multipaxos.tla import ReferenceModel
from quorum.spec.multipaxos.tla.actions import terminated
from quorum.spec.multipaxos.tla.properties import chosen
from quorum.spec.multipaxos.tla.state import ACK

build = partial(build_spec, SPEC)

#: the invariants of MultiPaxos_MC_small.cfg (TypeOK, Linearizability)
TLC_INVARIANTS = ["TypeOK", "Linearizability"]


@pytest.mark.slow
def test_tlc_state_count_of_multipaxos_mc_small_cfg():
    # MultiPaxos_MC_small.cfg: Replicas = {s1, s2, s3}, Writes = {w1}, Reads = {r1},
    # MaxBallot = 2, SYMMETRY SymmetricPerms (only the replicas move: one write, one
    # read), invariants TypeOK and Linearizability, deadlock checked.  tlaplus/Examples'
    # manifest.json records TLC's result: 343,796 distinct states, depth 28.  (TLC counts
    # 736,012 generated states; its count of generated states includes steps ours does not.)
    result = check(build(max_ballot=2, symmetry=True), properties=TLC_INVARIANTS)
    assert result.ok
    assert (result.distinct_states, result.depth) == (343796, 28)
    assert result.generated_states == 735918


@pytest.mark.slow
def test_notice_ballot_passes_every_property_at_tlc_bounds():
    # the fix of the stale-follower commit below: all five invariants, TLC's bounds
    result = check(build(max_ballot=2, notice_ballot=True, symmetry=True))
    assert result.ok
    assert (result.distinct_states, result.generated_states, result.depth) == (320024, 672633, 28)


def test_default_bounds_pass_every_property_with_pinned_counts():
    # 3 replicas, w1 and r1, one ballot: a single leader, no recovery needed.
    result = check(build())
    assert result.ok and (result.distinct_states, result.depth) == (4306, 18)
    assert result.generated_states == 8137


@pytest.mark.parametrize("overrides,plain,orbits,depth", [
    ({}, 4306, 736, 18),
    ({"replicas": 2, "max_ballot": 2}, 1163, 582, 20),
])
def test_symmetry_counts_exact_orbits(overrides, plain, orbits, depth):
    full = build(**overrides)
    sym = build(symmetry=True, **overrides)
    states = reachable(full)
    assert len(states) == plain
    assert len({sym.canonicalize(s) for s in states}) == orbits
    result = check(sym)
    assert result.ok and (result.distinct_states, result.depth) == (orbits, depth)


def test_canonical_form_is_the_same_for_every_renaming():
    cfg = build().cfg
    canonicalize = canonicalizer(cfg)
    perms = [(0, 1, 2), (1, 0, 2), (2, 1, 0), (0, 2, 1), (1, 2, 0), (2, 0, 1)]
    states = sorted(reachable(ReferenceModel(cfg)), key=repr)[::50]
    assert len(states) == 87
    for s in states:
        assert len({canonicalize(rename(s, p)) for p in perms}) == 1


def test_reference_followers_execute_a_stale_vote_from_two_ballots_on():
    # The reference's CommitNotice names only the slot: a follower whose vote in that
    # slot is of an older ballot executes it, though a newer ballot chose another command.
    # TLC's cfg checks only Linearizability (the leader's acks) and misses it.
    v = check(build(max_ballot=2, symmetry=True), properties=["ExecutedChosen"]).violation
    assert v is not None and v.length == 14
    assert [s.action for s in v.trace[-3:]] == [
        "TakeNewRequest(r='s1', c='r1')",
        "HandleAccept(r='s1', m=AcceptMsg(type='Accept', src='s2', bal=2, slot=2, cmd='r1'))",
        "HandleCommitNotice(r='s1', m=CommitNoticeMsg(type='CommitNotice', upto=1))"]
    cfg = build().cfg
    last = decode(cfg, v.trace[-1].state)
    assert last.node[0].insts[0].cmd == 2 and chosen(cfg, last)[1] == {1}  # r1 run, w1 chosen
    assert not build().invariants["PrefixConsistency"](v.trace[-1].state)


@pytest.mark.parametrize("overrides,states,depth", [
    ({"max_ballot": 2, "reads": 0}, 2628, 19),
    ({"max_ballot": 3, "replicas": 2}, 9466, 27),
])
def test_notice_ballot_makes_every_executed_slot_chosen(overrides, states, depth):
    result = check(build(symmetry=True, notice_ballot=True, **overrides))
    assert result.ok and (result.distinct_states, result.depth) == (states, depth)


def test_linearizability_judges_the_acknowledged_values():
    model = ReferenceModel(build().cfg)
    done = [s for s in reachable(model) if terminated(model.cfg, s)]
    assert done and all(model.invariants["Linearizability"](s) for s in done)
    # w1 requested and acknowledged (old value nil), then r1 requested and acknowledged
    # with w1: rewrite the read's result as nil, which no order allows in real time
    s = next(s for s in done if s.observed == ((0, 1), (1, 1, 0), (0, 2), (1, 2, 1)))
    bad = s._replace(observed=s.observed[:3] + ((ACK, 2, 0),))
    assert not model.invariants["Linearizability"](bad)


MUTANT_TRACES = {
    "ceil-quorum": [
        "Init", "BecomeLeader(r='s1', b=1)",
        "HandlePrepareReplies(r='s1', recovered=('nil', 'nil'))",
        "TakeNewRequest(r='s1', c='w1')", "HandleAcceptReplies(r='s1')",
        "BecomeLeader(r='s2', b=2)", "HandlePrepareReplies(r='s2', recovered=('nil', 'nil'))",
        "TakeNewRequest(r='s2', c='r1')"],
    "hole-without-noop": [
        "Init", "BecomeLeader(r='s1', b=1)", "BecomeLeader(r='s2', b=2)",
        "HandlePrepare(r='s3', m=PrepareMsg(type='Prepare', src='s1', bal=1))",
        "HandlePrepareReplies(r='s1', recovered=('nil', 'nil'))",
        "TakeNewRequest(r='s1', c='w1')", "TakeNewRequest(r='s1', c='r1')",
        "HandleAccept(r='s3', m=AcceptMsg(type='Accept', src='s1', bal=1, slot=2, cmd='r1'))",
        "HandlePrepare(r='s3', m=PrepareMsg(type='Prepare', src='s2', bal=2))",
        "HandlePrepareReplies(r='s2', recovered=('nil', 'r1'))", "ExecuteHole(r='s2')"],
    "skip-phase1-slots": [
        "Init", "BecomeLeader(r='s1', b=1)", "BecomeLeader(r='s2', b=2)",
        "HandlePrepare(r='s3', m=PrepareMsg(type='Prepare', src='s1', bal=1))",
        "HandlePrepareReplies(r='s1', recovered=('nil', 'nil'))",
        "TakeNewRequest(r='s1', c='w1')",
        "HandleAccept(r='s3', m=AcceptMsg(type='Accept', src='s1', bal=1, slot=1, cmd='w1'))",
        "HandleAcceptReplies(r='s1')",
        "HandlePrepare(r='s1', m=PrepareMsg(type='Prepare', src='s2', bal=2))",
        "HandlePrepareReplies(r='s2', recovered=('nil', 'nil'))",
        "TakeNewRequest(r='s2', c='r1')",
        "HandleAccept(r='s1', m=AcceptMsg(type='Accept', src='s2', bal=2, slot=1, cmd='r1'))"],
}


def _assert_real_violation(mutant, prop, v):
    assert v is not None and (v.kind, v.property) == ("invariant", prop)
    model = build(mutant)  # no symmetry: the trace must be a behaviour of the plain model
    state = next(iter(model.initial_states()))
    assert v.trace[0].state == state
    for step in v.trace[1:]:
        assert (step.label, step.state) in set(model.successors(state))
        state = step.state
    assert not model.invariants[prop](state)
    assert all(model.invariants[prop](s.state) for s in v.trace[:-1])


@pytest.mark.parametrize("mutant", sorted(MUTANT_TRACES))
def test_mutant_is_caught_with_a_pinned_shortest_trace(mutant):
    info = SPEC.mutants[mutant]
    v = check(build(mutant, symmetry=info.symmetry), properties=[info.expect]).violation
    assert [s.action for s in v.trace] == MUTANT_TRACES[mutant]
    _assert_real_violation(mutant, info.expect, v)
    # the correct protocol refuses some step of it
    correct = build(None, **info.defaults)
    assert not replays(correct, v.trace)


@pytest.mark.slow
def test_recover_by_arrival_revives_a_losing_command():
    # Needs three ballots (two leaders with different commands in slot 1, and a third to
    # recover from both) and a leader free to pick any pending request (--any-request).
    info = SPEC.mutants["recover-by-arrival"]
    result = check(build("recover-by-arrival", symmetry=True), properties=[info.expect])
    v = result.violation
    assert v is not None and v.length == 15 and result.distinct_states == 315612
    assert [s.action for s in v.trace[-4:]] == [
        "BecomeLeader(r='s3', b=3)",
        "HandlePrepare(r='s1', m=PrepareMsg(type='Prepare', src='s3', bal=3))",
        "HandlePrepareReplies(r='s3', recovered=('w1', 'nil'))",
        "HandleAccept(r='s2', m=AcceptMsg(type='Accept', src='s3', bal=3, slot=1, cmd='w1'))"]
    _assert_real_violation("recover-by-arrival", info.expect, v)


def test_ceil_quorum_is_harmless_with_an_odd_number_of_replicas():
    assert check(build("ceil-quorum", replicas=3, max_ballot=1)).ok


@pytest.mark.parametrize("kwargs,message", [
    ({"replicas": 0}, "--replicas must be between 1 and 5"),
    ({"writes": 0}, "--writes must be between 1 and 3"),
    ({"reads": 9}, "--reads must be between 0 and 3, got 9"),
    ({"max_ballot": 0}, "--max-ballot must be between 1 and 4"),
    ({"mutant": "nope"}, "unknown mutant"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)
