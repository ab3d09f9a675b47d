"""Step refinement of the multipaxos core against quorum.spec.multipaxos (quorum.conformance.mpsteps):
clean runs validate every event but those counted apart (pinned), tampering with the
abstract state or the messages fails with the refinement failure, leader stickiness
stutters, snapshots are never counted as validated, the recovery mutant is caught, and
the learner side (a replica's chosen prefix) is a path of HandleAcceptReplies and
HandleCommitNotice: a leader that marks a slot chosen without a quorum, and a follower
that learns a vote of another ballot, fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from quorum.conformance.mpsteps import MPStepRefinement
from quorum.conformance.runner import check_schedule, default_checks
from quorum.impl.multipaxos import Message, MessageType
from quorum.impl.raft.types import Entry
from quorum.impl.sim import draw, run_schedule, with_mutant
from quorum.spec.multipaxos.tla.actions import _with_node

STEPS = 1500


def _run(profile: str, seed: int, extra=None):
    s = draw(profile, seed, STEPS, "multipaxos")
    obs = MPStepRefinement(s.config.nodes)
    observers = [obs] if extra is None else [extra, obs]
    return obs, run_schedule(s, observers, keep_log=False)


@pytest.mark.parametrize(("profile", "seed", "totals"), [
    ("default", 0, (1500, 1500)), ("default", 1, (1494, 1500)), ("default", 3, (1479, 1500)),
    ("wide", 0, (1493, 1500)), ("wide", 5, (1497, 1497))])
def test_clean_runs_validate_every_event_but_those_counted_apart(profile, seed, totals):
    obs, run = _run(profile, seed)
    assert run.failure is None and run.panic is None
    assert obs.totals() == totals
    # whatever is not validated says why, and is never a failure
    for kind, outcomes in obs.counts.items():
        for outcome in outcomes:
            assert outcome != "not validated: FAILED", kind


def test_default_seed_0_pinned_outcomes():
    obs, _ = _run("default", 0)
    c = obs.counts
    assert c["deliver PREPARE"] == {"1 step": 6, "stutter": 3}
    assert c["op"] == {"1 step": 22, "stutter": 139}
    # a follower's vote and its learning of the slots before it: HandleCommitNotice steps
    assert c["deliver ACCEPT"] == {"1 step": 23, "2 steps": 14, "3 steps": 2, "4 steps": 1,
                                   "stutter": 102, "stutter + ack of chosen slots": 3}
    # the leader's commits on the acknowledgements: HandleAcceptReplies
    assert c["deliver ACCEPTED"] == {"1 step": 21, "2 steps": 2, "stutter": 58}
    # a new leader's ACCEPTs repair a lagging acceptor with slots it knows chosen
    assert c["deliver PROMISE"] == {"1 step": 1, "2 steps + re-proposal of a chosen slot": 1,
                                    "3 steps + re-proposal of a chosen slot": 1, "stutter": 3}
    assert obs.actions == {"BecomeLeader": 6, "HandlePrepare": 6, "HandlePrepareReplies": 3,
                           "HandleAccept": 36, "TakeNewRequest": 26,
                           "HandleAcceptReplies": 25, "HandleCommitNotice": 28}
    assert obs.sends == 409
    assert obs.notices == 25
    assert obs.no_image == {"PRE_PREPARE": 180, "PRE_PROMISE": 108, "PROPOSE": 9, "REJECT": 75,
                            "ACCEPT (no slots)": 49, "ACCEPTED (no slots)": 40}


def test_stickiness_messages_stutter_unless_they_start_a_campaign():
    obs, _ = _run("default", 0)
    assert obs.counts["deliver PRE_PREPARE"] == {"stutter": 127}
    # a PRE_PROMISE that completes the pre-vote makes its receiver campaign: BecomeLeader
    assert obs.counts["deliver PRE_PROMISE"] == {"1 step": 6, "stutter": 56}


def test_snapshot_events_are_counted_apart_never_as_validated():
    obs, run = _run("default", 3)
    assert run.failure is None
    # snap steps that compacted nothing new stutter; one that compacted is never validated
    assert obs.counts["snap"] == {"stutter": 10, "not validated: torn write": 1,
                                  "not validated: compaction (no image in the spec)": 10}
    # (one install was cut short by a crash mid-write: a torn write, not an install)
    assert obs.counts["deliver SNAPSHOT"] == {
        "not validated: snapshot installed (no image in the spec)": 5,
        "not validated: torn write": 1}
    assert obs.no_image["SNAPSHOT"] == 30
    ok, total = obs.totals()
    assert total - ok == 21


class _Tamper:
    """Tampering: at event ``at``, replica ``k``'s abstract state is replaced by
    ``change`` of it (an observer run after the refinement's)."""

    def __init__(self, at: int, k: int, change: Callable[[Any], Any]) -> None:
        self.at, self.k, self.change = at, k, change
        self.obs: MPStepRefinement | None = None

    def __call__(self, sim, ev):
        if ev.index == self.at and self.obs is not None:
            st = self.obs.state
            g = self.change(st.node[self.k])
            self.obs.state = st._replace(node=_with_node(st, self.k, g))
        return None


def _flip_vote(at: int) -> _Tamper:
    """At event ``at``, s2's abstract vote in slot 1 gets another ballot."""
    def flip(g: Any) -> Any:
        inst = g.insts[0]
        return g._replace(insts=(inst._replace(vbal=inst.vbal + 1),) + g.insts[1:])
    return _Tamper(at, 1, flip)


def test_a_flipped_vote_in_the_abstraction_fails_the_next_event():
    s = draw("default", 0, STEPS, "multipaxos")
    obs = MPStepRefinement(s.config.nodes)
    flip = _flip_vote(400)  # event 401 is a tick
    flip.obs = obs
    run = run_schedule(s, [obs, flip], keep_log=False)
    f = run.failure
    assert f is not None and f.check == "refinement" and f.event == 401
    assert f.message.startswith("event 401 (") and "is no step of the Multi-Paxos spec: " in f.message
    # a tick: s2 may act, but no spec step turns the flipped vote back into its own
    assert "HandleAccept(s2, Accept(" in f.message and "slot=1" in f.message
    assert "abstract replicas before the event" in f.details


class _Inject:
    """Tampering: at event ``at``, n1 puts an ACCEPT no spec step proposed in flight."""

    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, sim, ev):
        if ev.index == self.at:
            sim.inflight.append(Message(MessageType.ACCEPT, 2, 1, ballot=99,
                                        entries=(Entry(term=99, index=1, data=b"bogus"),)))
        return None


def test_a_bogus_message_in_flight_fails_as_no_send_of_the_spec():
    obs, run = _run("default", 0, extra=_Inject(300))
    f = run.failure
    assert f is not None and f.check == "refinement" and f.event == 300
    assert "s1 sent ACCEPT (99, cmd-" in f.message and "no Accept in msgs" in f.message


def test_the_recovery_mutant_is_caught_by_refinement_only():
    s = draw("default", 145, STEPS, "multipaxos")
    assert check_schedule(s, default_checks(s), keep_log=False).ok
    bad = replace(s, config=with_mutant(s.config, "mp-recovery-by-arrival"))
    res = check_schedule(bad, default_checks(bad), keep_log=False)
    assert res.verdicts == {"safety": "ok", "refinement": "FAILED", "linearizability": "ok"}
    assert res.failure is not None and res.failure.event == 1151
    assert res.failure.message.startswith(
        "event 1151 (deliver PROMISE 2->1 b13 slots=19..20 c=18) is no step of the Multi-Paxos "
        "spec: s1 voted (13, cmd-")
    assert "the spec's Accept of that ballot and slot proposes cmd-" in res.failure.message


def test_a_replica_that_did_not_act_must_not_change():
    s = draw("default", 0, STEPS, "multipaxos")
    heal = next(k + 1 for k, step in enumerate(s.steps) if step[0] == "heal" and k > 400)
    obs = MPStepRefinement(s.config.nodes)
    flip = _flip_vote(heal - 1)  # the event after it is a heal: nobody acts
    flip.obs = obs
    run = run_schedule(s, [obs, flip], keep_log=False)
    f = run.failure
    assert f is not None and f.check == "refinement" and f.event == heal
    assert f.message.endswith("though it did not act in this event")
    assert "s2's vote in slot 1 is (" in f.message


def test_learner_steps_and_their_exceptions_are_counted_on_default_seed_3():
    obs, run = _run("default", 3)
    assert run.failure is None
    assert (obs.actions["HandleAcceptReplies"], obs.actions["HandleCommitNotice"]) == (36, 31)
    assert obs.notices == 37
    # a new leader that learned from the PROMISEs that a slot is chosen: no AcceptReply of
    # its ballot, but a quorum of an earlier one
    assert obs.counts["deliver PROMISE"]["5 steps + chosen in an earlier ballot"] == 1
    # the chosen prefix is saved without a sync: a crash may lose part of it
    assert obs.counts["restart"] == {"stutter": 17,
                                     "not validated: a crash lost part of the chosen prefix": 2,
                                     "not validated: a crash lost state the abstract replica has": 1}


def test_a_leader_that_marks_a_slot_chosen_without_a_quorum_fails(monkeypatch):
    """Planted learner bug: the leader takes a slot as chosen on its own vote alone."""
    from quorum.impl.multipaxos import MultiPaxosNode
    from quorum.impl.raft.types import Role

    def hasty_commit(self) -> None:
        if self.role is Role.LEADER:
            self.commit = max(self.commit, min(self.self_match, self.last))

    monkeypatch.setattr(MultiPaxosNode, "_maybe_commit", hasty_commit)
    _, run = _run("default", 0)
    f = run.failure
    assert f is not None and f.check == "refinement" and f.event == 54
    assert f.message == (
        "event 54 (c0 calls ('cas', 1, 0, 1) at n3; c0 returns cas=False) is no step of the "
        "Multi-Paxos spec: s3 marked slot 1 chosen, but HandleAcceptReplies(s3) is not "
        "enabled: 1 AcceptReplies of ballot 3 for slot 1 in msgs (a quorum is 2), status "
        "Accepting, and no earlier ballot chose cmd-a823b3d5 there")


def test_a_follower_that_learns_a_vote_of_another_ballot_fails():
    """mp-chosen-any-ballot: the follower takes the leader's chosen prefix for its own vote
    of an older ballot.  Safety sees the disagreement it leads to at the same event (and
    is reported first by the runner); refinement alone names the learner step."""
    s = draw("default", 0, STEPS, "multipaxos")
    bad = replace(s, config=with_mutant(s.config, "mp-chosen-any-ballot"))
    obs = MPStepRefinement(s.config.nodes)
    f = run_schedule(bad, [obs], keep_log=False).failure
    assert f is not None and f.check == "refinement" and f.event == 975
    assert f.message == (
        "event 975 (deliver ACCEPT 2->3 b5 slots=1..2 c=8) is no step of the Multi-Paxos spec: "
        "s3 marked slot 6 chosen, but HandleCommitNotice(s3) is not enabled: its vote there is "
        "(3, cmd-7bd47e27), status Preparing, and CommitNotice(slot=6, bal=3) is not in msgs")


def _forget(at: int) -> _Tamper:
    """At event ``at``, s1's abstract chosen prefix loses its last slot."""
    return _Tamper(at, 0, lambda g: g._replace(commitUpTo=g.commitUpTo - 1))


def test_a_chosen_prefix_the_spec_does_not_have_fails():
    s = draw("default", 0, STEPS, "multipaxos")
    obs = MPStepRefinement(s.config.nodes)
    forget = _forget(1400)
    forget.obs = obs
    f = run_schedule(s, [obs, forget], keep_log=False).failure
    assert f is not None and f.check == "refinement" and f.event == 1401
    assert "s1" in f.message and "chosen prefix" in f.message
