"""Termination (MultiPaxos.tla's ``<>(\\A r : pc[r] = "Done")``) under weak fairness."""

from __future__ import annotations

from functools import partial

from helpers.specs import build as build_spec
from quorum.model_checker.explicit.liveness import check_liveness
from quorum.spec.multipaxos import SPEC

build = partial(build_spec, SPEC)


def test_termination_holds_under_a_stable_leader_with_every_replica_fair():
    # one ballot: whoever takes it leads for the whole run
    result = check_liveness(build())
    assert result.ok and (result.distinct_states, result.depth) == (4306, 18)
    assert result.extra["fairness"] == "WF(Replica(s1)), WF(Replica(s2)), WF(Replica(s3))"


def test_termination_holds_with_competing_leaders_while_ballots_last():
    result = check_liveness(build(replicas=2, max_ballot=2))
    assert result.ok and result.distinct_states == 1163


def test_without_fairness_the_run_may_stutter_at_init():
    v = check_liveness(build(), fairness=False).violation
    assert v is not None and (v.kind, v.property) == ("liveness", "Termination")
    assert [s.action for s in v.trace] == ["Init"]


def test_a_fair_leader_alone_is_not_enough():
    # Only s1 is fair: it takes the ballot and prepares, but a majority of PrepareReplies
    # needs another replica's step, which an unfair follower never takes.
    model = build()
    model.fairness = model.fairness[:1]
    v = check_liveness(model).violation
    assert v is not None and v.property == "Termination"
    assert [s.action for s in v.trace] == ["Init", "BecomeLeader(r='s1', b=1)"]
