"""quorum.spec.raft.etcd: raft.tla's Next with etcd's extensions, for trace validation only.

Each switch is checked against the raft.tla behaviour it replaces (the default, RAFT,
is pinned by tests/spec/raft/test_raft.py's state counts): raft.tla's own actions
(quorum.spec.raft.tla.actions) on one side, the etcd layer under ETCD on the other.
Under RAFT the layer is raft.tla, step for step.  See docs/refinement.md, "The etcd rules".
"""

from __future__ import annotations

import ast
import inspect

from quorum.model_checker.model import label_params
from quorum.spec.raft import etcd
from quorum.spec.raft.etcd import ETCD, ETCD_PRE_VOTE
from quorum.spec.raft.tla import actions
from quorum.spec.raft.tla.render import render_label
from quorum.spec.raft.tla.rules import RAFT
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NIL,
    AppendEntriesRequest,
    AppendEntriesResponse,
    initial_state,
)


def _ctx(rules, n=2):
    return actions.Context(n=n, values=1, quorum=n // 2 + 1, rules=rules)


def _ae(term, prev, prev_term, entries, commit, src=0, dst=1, log=()):
    return AppendEntriesRequest(APPEND_ENTRIES_REQUEST, term, prev, prev_term, tuple(entries),
                                tuple(log), commit, src, dst)


def _receive(s, rules, m):
    """m received by raft.tla (RAFT) or by the etcd layer (its rules)."""
    receive_one = actions.receive_one if rules is RAFT else etcd.receive_one
    return receive_one(s, _ctx(rules), m)


def _append_entries(s, rules):
    return (actions.append_entries if rules is RAFT else etcd.append_entries)(s, _ctx(rules))


def _restart(s, rules):
    return (actions.restart if rules is RAFT else etcd.restart)(s, _ctx(rules))


def test_a_follower_never_lowers_its_commit_index_under_etcd():
    """raft.tla: commitIndex := mcommitIndex (down from 1 to 0); etcd: max."""
    m = _ae(2, 0, 0, [], 0)
    s = initial_state(2)._replace(current_term=(2, 2), commit_index=(0, 1),
                                  log=((), ((2, 0),)), messages=((m, 1),))
    assert _receive(s, RAFT, m).commit_index == (0, 0)
    assert _receive(s, ETCD, m).commit_index == (0, 1)


def test_a_request_below_the_commit_index_is_answered_with_the_commit_index():
    m = _ae(2, 1, 2, [(2, 0)], 0, log=((2, 0), (2, 0)))
    s = initial_state(2)._replace(current_term=(2, 2), commit_index=(0, 3),
                                  log=((), ((2, 0), (2, 0), (2, 0))), messages=((m, 1),))
    ((raft_reply, _),) = _receive(s, RAFT, m).messages
    ((etcd_reply, _),) = _receive(s, ETCD, m).messages
    assert (raft_reply.mmatch_index, etcd_reply.mmatch_index) == (2, 3)


def test_a_heartbeat_commits_up_to_the_match_index_and_acknowledges_nothing():
    s = initial_state(2)._replace(current_term=(2, 2), role=(LEADER, FOLLOWER),
                                  log=(((2, 0), (2, 0)), ((2, 0),)), commit_index=(2, 0),
                                  match_index=((0, 1), (0, 0)))
    assert not [lb for lb, _ in _append_entries(s, RAFT) if lb[0] == "Heartbeat"]
    ((lb, t),) = [(lb, t) for lb, t in _append_entries(s, ETCD) if lb[0] == "Heartbeat"]
    assert render_label(lb) == ("Heartbeat", (("i", "s1"), ("j", "s2")))
    ((h, _),) = t.messages
    assert (h.mprev_log_index, h.mprev_log_term, h.mentries, h.mcommit_index) == (0, 0, (), 1)
    u = _receive(t, ETCD, h)
    assert u.commit_index == (2, 1)
    ((reply, _),) = u.messages
    assert reply == AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, 2, True, 0, 1, 0)


def test_a_leader_never_lowers_a_match_index_under_etcd():
    r = AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, 2, True, 0, 1, 0)
    s = initial_state(2)._replace(current_term=(2, 2), role=(LEADER, FOLLOWER),
                                  log=(((2, 0),), ((2, 0),)), match_index=((0, 1), (0, 0)),
                                  messages=((r, 1),))
    assert _receive(s, RAFT, r).match_index[0] == (0, 0)
    assert _receive(s, ETCD, r).match_index[0] == (0, 1)


def test_a_restart_recovers_any_commit_index_up_to_the_one_it_had_under_etcd():
    s = initial_state(2)._replace(commit_index=(0, 2), log=((), ((2, 0), (2, 0))))
    raft = {render_label(lb): t.commit_index[1] for lb, t in _restart(s, RAFT)
            if label_params(lb)["i"] == 1}
    etcd_ = {render_label(lb): t.commit_index[1] for lb, t in _restart(s, ETCD)
             if label_params(lb)["i"] == 1}
    assert raft == {("Restart", (("i", "s2"),)): 0}
    assert etcd_ == {("Restart", (("i", "s2"), ("commitIndex", k))): k for k in (0, 1, 2)}
    # the self-loop is kept: a follower with nothing volatile to lose
    t = dict(_restart(s, ETCD))[("Restart", (("i", 1), ("commitIndex", 2)))]
    assert t == s and t.role[1] == FOLLOWER


def test_a_candidate_gives_up_once_no_quorum_can_grant_under_etcd():
    """3 servers: s1 voted for itself; s2 refuses, then s3 refuses: no majority left."""
    from quorum.spec.raft.tla.state import CANDIDATE, REQUEST_VOTE_RESPONSE, RequestVoteResponse

    def no(j):
        return RequestVoteResponse(REQUEST_VOTE_RESPONSE, 2, False, (), j, 0)

    s = initial_state(3)._replace(current_term=(2, 2, 2), role=(CANDIDATE, FOLLOWER, FOLLOWER),
                                  voted_for=(0, 2, 2), votes_responded=(0b001, 0, 0),
                                  votes_granted=(0b001, 0, 0), messages=((no(1), 1), (no(2), 1)))
    ctx3 = actions.Context(n=3, values=1, quorum=2, rules=ETCD)
    one = etcd.receive_one(s, ctx3, no(1))
    assert one.role[0] == CANDIDATE  # s3 may still grant: 2 of 3
    two = etcd.receive_one(one, ctx3, no(2))
    assert two.role[0] == FOLLOWER and two.current_term[0] == 2 and two.voted_for[0] == 0
    raft = actions.receive_one(actions.receive_one(s, ctx3._replace(rules=RAFT), no(1)),
                               ctx3._replace(rules=RAFT), no(2))
    assert raft.role[0] == CANDIDATE  # raft.tla waits for a timeout


# -- etcd's pre-vote (Rules.pre_vote, ETCD_PRE_VOTE) -----------------------------------
def test_pre_vote_adds_two_steps_and_nothing_else():
    s = initial_state(3)._replace(current_term=(3, 2, 1), role=(CANDIDATE, FOLLOWER, FOLLOWER),
                                  voted_for=(0, 0, NIL))
    ctx = actions.Context(n=3, values=1, quorum=2, rules=ETCD_PRE_VOTE)
    (lb, t), = etcd.pre_campaign(s, ctx)
    # the candidate returns to follower in its term and keeps its vote
    assert render_label(lb) == ("PreCampaign", (("i", "s1"),))
    assert (t.current_term, t.role, t.voted_for) == ((3, 2, 1), (FOLLOWER,) * 3, (0, 0, NIL))
    learned = {render_label(lb)[1]: (t.current_term, t.role, t.voted_for)
               for lb, t in etcd.learn_term(s, ctx)}
    # a server adopts any higher term up to the largest one held (as UpdateTerm does)
    assert learned == {
        (("i", "s2"), ("t", 3)): ((3, 3, 1), (CANDIDATE, FOLLOWER, FOLLOWER), (0, NIL, NIL)),
        (("i", "s3"), ("t", 2)): ((3, 2, 2), (CANDIDATE, FOLLOWER, FOLLOWER), (0, 0, NIL)),
        (("i", "s3"), ("t", 3)): ((3, 2, 3), (CANDIDATE, FOLLOWER, FOLLOWER), (0, 0, NIL)),
    }
    for rules in (RAFT, ETCD):  # off by default, and in ETCD
        assert not list(etcd.pre_campaign(s, _ctx(rules, 3)))
        assert not list(etcd.learn_term(s, _ctx(rules, 3)))


def test_pre_vote_keeps_every_property_on_a_small_model():
    from dataclasses import replace

    from quorum.model_checker.explicit.bfs import check
    from quorum.spec.raft.config import Config
    from quorum.spec.raft.model import RaftModel

    for rules, distinct in ((replace(RAFT, pre_vote=True), 28690), (ETCD_PRE_VOTE, 27471)):
        model = RaftModel(Config(servers=2, values=1, max_term=3, max_log=1, max_msgs=1),
                          rules=rules, reference=True)
        result = check(model)
        assert result.ok and result.complete and result.distinct_states == distinct
        # both new steps happen, and lead to new states
        assert result.coverage["PreCampaign"].distinct > 0
        assert result.coverage["LearnTerm"].distinct > 0


# -- the layer: raft.tla's Next underneath, untouched --------------------------------------
def test_under_raft_tla_rules_the_layer_is_raft_tla_step_for_step():
    """Every reachable state of TLC's 2-server model (1,657 states): the etcd layer under
    RAFT yields raft.tla's labelled steps, in order."""
    from helpers.specs import reachable
    from quorum.spec.raft.config import Config
    from quorum.spec.raft.model import RaftModel

    model = RaftModel(Config(servers=2, values=1, max_term=2, max_log=1, max_msgs=1),
                      reference=True)
    states = reachable(model, bounded=True)
    assert len(states) == 1657
    for s in states:
        assert list(etcd.successors(s, model.context)) == list(actions.successors(s, model.context))


def test_raft_tla_actions_ask_none_of_etcds_switches():
    """raft.tla's actions read as raft.tla: no ``rules.<x>`` of theirs is an etcd switch."""
    tree = ast.parse(inspect.getsource(actions))
    asked = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
             and isinstance(node.value, ast.Attribute) and node.value.attr == "rules"}
    assert asked and not asked & set(etcd.EXTENSIONS)
    assert {lb[0] for s in [initial_state(2)] for lb, _ in actions.successors(s, _ctx(ETCD_PRE_VOTE))
            } == {"Restart", "Timeout"}  # no PreCampaign or LearnTerm in raft.tla's Next
    assert etcd.extends(ETCD) and etcd.extends(ETCD_PRE_VOTE) and not etcd.extends(RAFT)
