"""Step refinement of the simulated store against quorum.spec.raft (raft.tla), in the tla profile.

Pinned: the seeds, the number of events validated, how many of them took at least one
state-changing spec step (the rest are stutters of the whole compared state, sends
aside), and how many messages were validated as send steps; see docs/refinement.md.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from quorum.conformance.abstraction import MessageMap, Values, abstract
from quorum.conformance.runner import check_schedule, default_checks
from quorum.conformance.steps import StepRefinementObserver, servers
from quorum.impl.sim import (
    Simulator,
    generate,
    generate_tla,
    generate_tla_churn,
    generate_tla_snap,
    run_schedule,
    tla_config,
    with_mutant,
)
from quorum.spec.raft.tla.state import REQUEST_VOTE_REQUEST, bag_size, initial_state

#: seed -> (nodes, events validated, events that took >= 1 spec step, send steps),
#: 1,000 steps each
PINNED = {0: (3, 1000, 461, 244), 1: (3, 1000, 193, 623), 2: (5, 1000, 290, 355),
          3: (5, 1000, 365, 437), 4: (3, 1000, 272, 146), 5: (3, 1000, 537, 286),
          6: (3, 1000, 124, 111), 7: (3, 1000, 534, 437)}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_the_unmutated_store_refines_raft_tla(seed):
    s = generate_tla(seed, 1000)
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    nodes, validated, steps, sends = PINNED[seed]
    assert s.config.nodes == nodes
    assert obs.totals() == (validated, 1000)
    assert obs.spec_steps() == steps
    assert obs.sends == sends
    assert "not validated" not in obs.coverage()


#: the same schedules with ``eager_commit=False`` (the member's setting: no commit notice;
#: a node whose members lag sends them the commit index at its next tick); seed ->
#: (events that took >= 1 spec step, send steps)
PINNED_LAZY = {0: (455, 268), 1: (193, 623), 2: (300, 357), 3: (369, 438), 4: (304, 169),
               5: (550, 303), 6: (128, 112), 7: (512, 423)}


@pytest.mark.parametrize("seed", sorted(PINNED_LAZY))
def test_the_store_without_commit_notices_refines_raft_tla(seed):
    """raft.tla lets a leader send AppendEntries at any time, so leaving the commit
    notice out, or sending it a tick later, must stay a refinement."""
    s = generate_tla(seed, 1000)
    s = replace(s, config=replace(s.config, eager_commit=False))
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    assert obs.totals() == (1000, 1000)
    assert (obs.spec_steps(), obs.sends) == PINNED_LAZY[seed]
    assert "not validated" not in obs.coverage()


def test_messages_in_flight_map_onto_the_bag():
    sim = Simulator(tla_config(3, seed=1))
    values, msgs = Values(), MessageMap()
    for _ in range(40):  # tick until someone campaigns
        sim.step(("tick",))
        if sim.inflight:
            break
    s = abstract(sim.nodes, {}, values)
    bag = msgs.update(sim.inflight, s.log, values)
    assert bag_size(bag) == len(sim.inflight) == 2
    assert all(m.mtype == REQUEST_VOTE_REQUEST and m.mterm == 2 for m, _ in bag)
    sim.step(("dup", 0))
    assert bag_size(msgs.update(sim.inflight, s.log, values)) == 3
    assert abstract(Simulator(tla_config(3)).nodes, {}, Values()) == initial_state(3)


@pytest.mark.parametrize("mutant,seed,event", [("no-truncate", 0, "deliver APPEND"),
                                               ("stale-append", 0, "deliver APPEND"),
                                               ("no-fsync-vote", 2, "crash"),
                                               ("commit-old-term", 3, "deliver APPEND_RESP")])
def test_step_refinement_catches_an_implementation_mutant(mutant, seed, event):
    s = generate_tla(seed, 1500)
    s = replace(s, config=with_mutant(s.config, mutant))
    res = check_schedule(s, ("refinement",), keep_log=False)
    f = res.failure
    assert f is not None and f.check == "refinement" and f.event == res.run.failed_at
    assert f.message.startswith(f"event {f.event} ({event}")
    assert "is no step of raft.tla" in f.message
    # the failing step is printed: the event, the spec actions enabled, pre and post
    for part in ("enabled spec actions", "abstract pre-state", "abstract post-state"):
        assert part in f.details
    assert str(f) == f"refinement: {f.message}\n{f.details}"


def test_refinement_needs_the_tla_profile():
    from quorum.conformance.runner import ChecksError

    with pytest.raises(ChecksError, match="needs the tla profile"):
        check_schedule(generate(0, 10), ("refinement",))


def test_quorum_sim_profile_tla_reports_coverage():
    out = subprocess.run([sys.executable, "-m", "quorum", "sim", "--profile", "tla",
                          "--seed", "4", "--steps", "600"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step refinement: 600 of 600 events validated" in out.stdout
    assert "refinement ok" in out.stdout.splitlines()[-1]


def test_commit_old_term_is_caught_on_the_commit_index():
    """The leader's commitIndex moves onto an entry of an earlier term: no
    AdvanceCommitIndex allows it (Figure 8), and commitIndex is compared."""
    s = generate_tla(3, 1500)
    res = check_schedule(replace(s, config=with_mutant(s.config, "commit-old-term")),
                         ("refinement",), keep_log=False)
    assert res.failure is not None and res.failure.event == 427
    assert "event 427 (deliver APPEND_RESP 2->5 t3 ok i=9)" in res.failure.message
    pre, post = res.failure.details.split("abstract pre-state")[1].split("abstract post-state")
    commit = [line for line in post.splitlines() if "commitIndex" in line]
    assert commit and commit[0] not in pre  # the failing step moved a commit index
    assert check_schedule(s, ("refinement",), keep_log=False).failure is None


def test_a_message_never_sent_by_a_spec_step_is_caught():
    """The whole bag is compared: a forged AppendEntries (a leader that never was) in flight."""
    from quorum.impl.raft.types import Message, MessageType

    class Forger:
        def __call__(self, sim, ev):
            if ev.index == 50:
                sim.inflight.append(Message(type=MessageType.APPEND, to=2, frm=1, term=9))
            return None

    s = generate_tla(0, 100)
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [Forger(), obs], keep_log=False)
    assert run.failed_at == 50 and run.failure is not None and run.failure.event == 50
    assert "the messages in flight differ" in run.failure.message
    assert "AppendEntriesRequest(s1->s2, mterm=10" in run.failure.message


# -- etcd's pre-vote (the tla-prevote profile; the spec runs Rules.pre_vote) -------------
#: seed -> (nodes, events that took >= 1 spec step, send steps, PreCampaign steps,
#: LearnTerm steps), 1,000 steps each, every event validated
PINNED_PRE_VOTE = {0: (3, 520, 326, 1, 0), 1: (3, 162, 707, 0, 0), 2: (5, 218, 234, 1, 0),
                   3: (5, 237, 143, 0, 1)}


@pytest.mark.parametrize("seed", sorted(PINNED_PRE_VOTE))
def test_the_store_with_pre_vote_refines_raft_tla_with_two_more_steps(seed):
    s = generate_tla(seed, 1000, pre_vote=True)
    assert s.config.pre_vote
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    nodes, steps, sends, pre_campaigns, learned = PINNED_PRE_VOTE[seed]
    assert s.config.nodes == nodes and obs.totals() == (1000, 1000)
    assert (obs.spec_steps(), obs.sends) == (steps, sends)
    assert (obs.actions.get("PreCampaign", 0), obs.actions.get("LearnTerm", 0)) == (
        pre_campaigns, learned)
    assert "deliver PRE_VOTE_RESP" in obs.coverage()
    assert "not validated" not in obs.coverage()


def test_without_pre_vote_the_two_steps_are_refused():
    # the same observer on the plain tla profile never takes PreCampaign or LearnTerm
    s = generate_tla(0, 1000)
    obs = StepRefinementObserver(s.config.nodes)
    assert run_schedule(s, [obs], keep_log=False).failure is None
    assert not {"PreCampaign", "LearnTerm"} & set(obs.actions)


@pytest.mark.parametrize("seed", range(4))
def test_a_pre_vote_that_disrupts_is_caught(seed):
    # The bug pre-vote exists to prevent: a pre-vote request makes its receiver adopt the
    # proposed term, which no server holds.  Caught at the first such delivery.
    s = generate_tla(seed, 300, pre_vote=True)
    s = replace(s, config=with_mutant(s.config, "pre-vote-adopts-term"))
    res = check_schedule(s, ("refinement",), keep_log=False)
    assert res.failure is not None and res.failure.check == "refinement"
    message = res.failure.message
    assert "is no step of raft.tla" in message and "(deliver PRE_VOTE " in message
    if seed == 0:
        assert res.failure.event == 21
        assert message.startswith("event 21 (deliver PRE_VOTE 1->2 t1")


@pytest.mark.parametrize("mutant,seed,event", [("commit-old-term", 3, "event 406 (deliver APPEND_RESP"),
                                               ("no-truncate", 4, "event 1247 (deliver APPEND"),
                                               ("no-fsync-vote", 0, "event 166 (crash")])
def test_the_log_mutants_are_caught_with_pre_vote_on(mutant, seed, event):
    s = generate_tla(seed, 1500, pre_vote=True)
    res = check_schedule(replace(s, config=with_mutant(s.config, mutant)), ("refinement",),
                         keep_log=False)
    assert res.failure is not None and res.failure.check == "refinement"
    assert event in res.failure.message


def test_quorum_sim_profile_tla_prevote():
    out = subprocess.run([sys.executable, "-m", "quorum", "sim", "--profile", "tla-prevote",
                          "--seed", "0", "--steps", "600"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step refinement: 600 of 600 events validated" in out.stdout
    assert "deliver PRE_VOTE" in out.stdout


# --- snapshots: the tla-snap profile, against raft.tla with quorum.spec.raft.snapshots --------
#: seed -> (nodes, events that took >= 1 spec step, send steps, of which InstallSnapshot,
#: Snapshot steps, InstallSnapshot deliveries), 1,000 steps each, every event validated
SNAP_PINNED = {0: (5, 677, 365, 3, 11, 3), 1: (3, 506, 331, 6, 7, 4), 4: (5, 629, 411, 4, 9, 4)}


@pytest.mark.parametrize("seed", sorted(SNAP_PINNED))
def test_the_store_with_snapshots_refines_raft_tla_with_snapshots(seed):
    s = generate_tla_snap(seed, 1000)
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    nodes, steps, sends, installs, snapshots, delivered = SNAP_PINNED[seed]
    assert s.config.nodes == nodes and obs.totals() == (1000, 1000)
    assert (obs.spec_steps(), obs.sends, obs.snapshot_sends) == (steps, sends, installs)
    assert obs.actions["Snapshot"] == snapshots
    assert sum(obs.counts["deliver SNAPSHOT"].values()) == delivered
    assert "not validated" not in obs.coverage()


def test_snapshot_keeps_suffix_is_caught_by_step_refinement_only():
    """A follower restores a snapshot whose last entry conflicts with its log but keeps its
    entries after it: no other check sees it at once (no entry is applied wrongly, Log
    Matching holds), but raft.tla with snapshots discards the whole log (Figure 5.3)."""
    s = generate_tla_snap(1, 1500)
    res = check_schedule(with_mutant_schedule(s, "snapshot-keeps-suffix"), default_checks(s),
                         keep_log=False)
    f = res.failure
    assert f is not None and f.check == "refinement" and f.event == 576
    assert f.message == ("event 576 (deliver SNAPSHOT 1->3 t12 prev=0/0 n=0 c=0) is no step "
                         "of raft.tla: s3's change is no path of at most 3 spec steps")
    assert "snapshotIndex" in f.details
    assert res.verdicts == {"safety": "ok", "refinement": "FAILED", "invariants": "ok",
                            "linearizability": "ok"}
    assert check_schedule(s, default_checks(s), keep_log=False).ok


def test_snapshot_keeps_conflict_is_caught_by_step_refinement_too():
    """The older snapshot mutant (the follower keeps its whole log and fast-forwards its
    commit index onto the conflicting entry): the ghost safety check names it first, at
    the same event, where step refinement alone catches it too."""
    s = with_mutant_schedule(generate_tla_snap(1, 1500), "snapshot-keeps-conflict")
    both = check_schedule(s, default_checks(s), keep_log=False).failure
    assert both is not None and (both.check, both.event) == ("safety", 576)
    alone = check_schedule(s, ("refinement",), keep_log=False).failure
    assert alone is not None and alone.event == 576
    assert alone.message.startswith("event 576 (deliver SNAPSHOT 1->3")


def test_quorum_sim_profile_tla_snap_reports_installsnapshot_coverage():
    out = subprocess.run([sys.executable, "-m", "quorum", "sim", "--profile", "tla-snap",
                          "--seed", "1", "--steps", "1000"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step refinement: 1000 of 1000 events validated" in out.stdout
    assert "  deliver SNAPSHOT: 4 validated of 4 (1 step 4)" in out.stdout
    assert "  snap: 7 validated of 7 (1 step 3, stutter 4)" in out.stdout
    assert "  messages sent: 331 (6 InstallSnapshot), each a send step" in out.stdout


def with_mutant_schedule(sched, name):
    return replace(sched, config=with_mutant(sched.config, name))


# --- membership: the tla-churn profile, against raft.tla with quorum.spec.raft.membership -----
#: seed -> (initial nodes, events that took >= 1 spec step, send steps, membership changes
#: validated as steps: AddLearner, AddServer, RemoveServer), 1,000 steps, all validated
CHURN_PINNED = {0: (4, 407, 324, (1, 1, 0)), 1: (4, 549, 334, (3, 2, 4)),
                3: (1, 125, 59, (2, 1, 0))}


@pytest.mark.parametrize("seed", sorted(CHURN_PINNED))
def test_the_store_with_membership_changes_refines_raft_tla_with_membership(seed):
    s = generate_tla_churn(seed, 1000)
    obs = StepRefinementObserver(servers(s))
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    nodes, steps, sends, changes = CHURN_PINNED[seed]
    assert (s.config.nodes, obs.n) == (nodes, 9) and obs.totals() == (1000, 1000)
    assert (obs.spec_steps(), obs.sends) == (steps, sends)
    assert tuple(obs.actions.get(a, 0) for a in ("AddLearner", "AddServer", "RemoveServer")) \
        == changes
    assert "not validated" not in obs.coverage()


def test_a_second_conf_change_is_caught_by_step_refinement():
    """second-conf-change at tla-churn seed 11: the leader proposes a removal while a change
    it proposed is uncommitted; Rules.may_change_config enables no change then."""
    s = generate_tla_churn(11, 1500)
    res = check_schedule(with_mutant_schedule(s, "second-conf-change"), default_checks(s),
                         keep_log=False)
    f = res.failure
    assert f is not None and (f.check, f.event) == ("refinement", 46)
    assert f.message == ("event 46 (remove: n3 proposes REMOVE_NODE n1) is no step of "
                         "raft.tla: s3's change is no path of at most 3 spec steps")
    assert check_schedule(s, default_checks(s), keep_log=False).ok
