"""Snapshots and single-server membership changes: the layers on raft.tla's Next
(quorum.spec.raft.snapshots, quorum.spec.raft.membership), their pinned counts, the
receiver rule of Figure 5.3, and the 2015 membership bug."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from helpers.specs import build as build_spec
from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.simulation.explore import explore
from quorum.spec.common import ConfigError
from quorum.spec.raft import RAFT, SPEC
from quorum.spec.raft.membership import config_entry, config_of
from quorum.spec.raft.snapshots import (
    INSTALL_SNAPSHOT_REQUEST,
    InstallSnapshotRequest,
    handle_install_snapshot_request,
    initial_snap_state,
)
from quorum.spec.raft.tla.actions import Context
from quorum.spec.raft.tla.properties import log_matching
from quorum.spec.raft.tla.state import APPEND_ENTRIES_RESPONSE, AppendEntriesResponse

build = partial(build_spec, SPEC)


def _count(**bounds):
    r = check(build(**bounds))
    assert r.ok
    return r.distinct_states, r.depth, r.generated_states


def test_switches_off_is_raft_tla():
    # TLC's count of raft.tla (tests/spec/raft/test_raft.py), the compiled encoding
    assert _count(servers=2) == (1657, 28, 12969)
    assert not build(servers=2).reference


def test_snapshots_two_servers():
    assert build(servers=2, snapshots=True).reference
    assert _count(servers=2, snapshots=True) == (1897, 30, 14761)
    assert _count(servers=2, max_log=2, snapshots=True) == (4293, 35, 33751)


def test_membership_counts():
    # one server of three outside the initial configuration, one change fits in the log
    assert _count(servers=3, max_log=2, membership=True, members=2) == (8249, 43, 81592)
    assert _count(servers=2, max_log=2, membership=True, members=1) == (88, 24, 548)


def test_snapshots_reached_and_installed():
    model = build(servers=2, max_log=2, snapshots=True)
    seen = set()
    frontier = list(model.initial_states())
    visited = set(frontier)
    while frontier:
        s = frontier.pop()
        for lb, t in model.successors(s):
            seen.add(lb[0])
            if t not in visited and model.within_bounds(t):
                visited.add(t)
                frontier.append(t)
    # with two servers a committed entry is on both, so no follower ever lacks what a
    # leader compacted: InstallSnapshot needs three (the 3-server count, max_log 1, takes
    # 17 minutes: 4,042,977 states, depth 56); its sending is pinned below
    assert "Snapshot" in seen and "InstallSnapshot" not in seen
    assert any(t.snapshot_index[1] == 1 and t.log[1] for t in visited)


def test_install_snapshot_is_sent_at_or_below_the_snapshot_index():
    from quorum.spec.raft.snapshots import install_snapshot
    from quorum.spec.raft.tla.state import LEADER

    ctx = Context(n=2, values=1, quorum=2, rules=RAFT)
    s = initial_snap_state(2)._replace(role=(LEADER, 0), current_term=(2, 2),
                                       log=(((2, 0), (2, 0)), ()), commit_index=(1, 0),
                                       snapshot_index=(1, 0), next_index=((3, 2), (1, 1)))
    assert list(install_snapshot(s, ctx)) == []  # nextIndex 2 > 1: AppendEntries does
    s = s._replace(next_index=((3, 1), (1, 1)))
    [(lb, t)] = list(install_snapshot(s, ctx))
    assert lb == ("InstallSnapshot", (("i", 0), ("j", 1)))
    assert t.messages == ((InstallSnapshotRequest(INSTALL_SNAPSHOT_REQUEST, 2, 1, 2, ((2, 0),),
                                                  0, 1), 1),)
    model = build(servers=2, max_log=2, snapshots=True)
    assert "AppendEntries" not in {lb[0] for lb, _ in model.successors(s)}


def test_bad_combinations_are_refused():
    with pytest.raises(ConfigError, match="--members needs --membership"):
        build(servers=3, members=2)
    with pytest.raises(ConfigError, match="--members must be"):
        build(servers=3, membership=True, members=4)
    with pytest.raises(ConfigError, match="--symmetry is not supported"):
        build(servers=2, snapshots=True, symmetry=True)


def _receive(rules, follower_log, commit=0):
    ctx = Context(n=2, values=1, quorum=2, rules=rules)
    s = initial_snap_state(2)
    m = InstallSnapshotRequest(INSTALL_SNAPSHOT_REQUEST, 1, 1, 1, ((1, 0),), 0, 1)
    s = s._replace(log=(((1, 0),), follower_log), commit_index=(1, commit),
                   snapshot_index=(1, 0), messages=((m, 1),))
    return handle_install_snapshot_request(s, ctx, 1, 0, m)


def test_figure_5_3_receiver():
    # holds the snapshot's last entry: keeps what follows it
    t = _receive(RAFT, ((1, 0), (1, 1)))
    assert t.log[1] == ((1, 0), (1, 1)) and t.snapshot_index[1] == 1 and t.commit_index[1] == 1
    assert t.messages == ((AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, 1, True, 1, 1, 0), 1),)
    # an entry of another term at the snapshot's last index: the whole log goes
    t = _receive(RAFT, ((2, 1), (2, 1)))
    assert t.log[1] == ((1, 0),)
    # keeping the conflicting suffix (the impl mutant snapshot-keeps-conflict) breaks Log
    # Matching against the server that holds that suffix
    keep = replace(RAFT, snapshot_retains=lambda log, k, term: len(log) >= k)
    t = _receive(keep, ((2, 1), (2, 1)))
    assert t.log[1] == ((1, 0), (2, 1))
    assert not log_matching(t._replace(log=(((2, 1), (2, 1)), t.log[1])))


def test_etcd_fast_forward_keeps_a_log_that_holds_the_snapshot():
    """Rules.snapshot_fast_forward (etcd's restore, in ETCD): a receiver holding the
    snapshot's last entry only commits it; its log and snapshot index stay; a conflicting
    log is still replaced."""
    ff = replace(RAFT, snapshot_fast_forward=True)
    t = _receive(ff, ((1, 0), (1, 1)))
    assert t.log[1] == ((1, 0), (1, 1)) and t.snapshot_index[1] == 0 and t.commit_index[1] == 1
    assert t.messages == ((AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, 1, True, 1, 1, 0), 1),)
    t = _receive(ff, ((2, 1), (2, 1)))
    assert t.log[1] == ((1, 0),) and t.snapshot_index[1] == 1


def test_config_in_the_log_or_on_apply():
    ctx = Context(n=3, values=1, quorum=2, rules=RAFT, members=0b011)
    s = initial_snap_state(3)._replace(log=((config_entry(2, 0b111),), (), ()))
    assert config_of(s, ctx, 0) == 0b111 and config_of(s, ctx, 1) == 0b011
    etcd = ctx._replace(rules=replace(RAFT, config_on_apply=True))
    assert config_of(s, etcd, 0) == 0b011  # not committed yet
    assert config_of(s._replace(commit_index=(1, 0, 0)), etcd, 0) == 0b111


def test_membership_with_the_fix_needs_an_entry_of_the_term_committed():
    model = build(servers=2, max_log=2, membership=True, members=1)
    names = {lb[0] for s in _states(model) for lb, _ in model.successors(s)}
    assert "AddServer" in names
    for s in _states(model):
        for lb, _ in model.successors(s):
            if lb[0] in ("AddServer", "RemoveServer"):
                i = dict(lb[1])["i"]
                assert s.commit_index[i] >= 1 and s.log[i][s.commit_index[i] - 1][0] == \
                    s.current_term[i]


def _states(model):
    frontier = list(model.initial_states())
    seen = set(frontier)
    while frontier:
        s = frontier.pop()
        for _, t in model.successors(s):
            if t not in seen and model.within_bounds(t):
                seen.add(t)
                frontier.append(t)
    return seen


def test_membership_without_fix_loses_a_committed_entry():
    # Ongaro, raft-dev, July 2015: s4 (term 2) removes s3 before committing anything of
    # its term; s2 (term 3, votes of s1 and s3) removes s1 and commits it with s3; s4 then
    # wins term 4 with s1 alone besides itself, a majority of {s1, s2, s4}, without the
    # committed entry.  BFS is out of reach (4 servers, 57 steps): guided simulation.
    model = build("membership-without-fix")
    v = explore(model, depth=120, runs=200_000, seed=0).violation
    assert v is not None and (v.kind, v.property, v.length) == ("invariant",
                                                               "LeaderCompleteness", 58)
    assert v.provenance["run"] == 384
    assert [s.action for s in v.trace if s.action.startswith(
        ("RemoveServer", "AddServer", "BecomeLeader", "AdvanceCommitIndex"))] == [
        "BecomeLeader(i='s4')", "RemoveServer(i='s4', j='s3')", "BecomeLeader(i='s2')",
        "RemoveServer(i='s2', j='s1')", "AdvanceCommitIndex(i='s2')", "BecomeLeader(i='s4')"]
    assert not model.invariants["LeaderCompleteness"](v.trace[-1].state)


def test_membership_with_the_fix_is_safe_on_the_same_walks():
    fixed = build(None, **SPEC.defaults("membership-without-fix"))
    result = explore(fixed, depth=120, runs=400, seed=0)
    assert result.violation is None


def test_etcd_learners_and_a_leader_that_removes_itself():
    """Rules.learners and Rules.leader_removes_itself (etcd's, for step refinement): a
    leader of {s1,s2} may add s3 as a learner or a voter and remove itself; a learner is
    replicated to but never asked for its vote, and never counts in a quorum."""
    from quorum.spec.raft.membership import LEARNERS, add_remove, allowed, become_leader
    from quorum.spec.raft.tla.actions import label
    from quorum.spec.raft.tla.render import value_name
    from quorum.spec.raft.tla.state import CANDIDATE, LEADER

    etcd = replace(RAFT, learners=True, leader_removes_itself=True)
    ctx = Context(n=3, values=1, quorum=2, rules=etcd, members=0b011)
    s = initial_snap_state(3)._replace(current_term=(2, 2, 1), role=(LEADER, 0, 0),
                                       log=(((2, 0),), (), ()), commit_index=(1, 0, 0))
    steps = {(lb[0], dict(lb[1])["j"]): t.log[0][-1][1] for lb, t in add_remove(s, ctx)}
    assert steps == {("RemoveServer", 0): ~0b010, ("RemoveServer", 1): ~0b001,
                     ("AddServer", 2): ~0b111, ("AddLearner", 2): ~(0b011 | 0b100 << LEARNERS)}
    assert value_name(steps[("AddLearner", 2)]) == "{s1,s2 +learners s3}"
    # raft.tla's rules: no learner, no self-removal (the pinned counts' steps)
    plain = {(lb[0], dict(lb[1])["j"]) for lb, _ in add_remove(s, ctx._replace(rules=RAFT))}
    assert plain == {("RemoveServer", 1), ("AddServer", 2)}
    learner = s._replace(log=(((2, 0), config_entry(2, 0b011 | 0b100 << LEARNERS)), (), ()),
                         commit_index=(2, 0, 0))
    assert allowed(learner, ctx, label("AppendEntries", i=0, j=2))
    assert not allowed(learner, ctx, label("RequestVote", i=0, j=2))
    # a candidate with the votes of s1 and the learner s3 has no majority of {s1,s2}
    cand = learner._replace(role=(CANDIDATE, 0, 0), votes_granted=(0b101, 0, 0))
    assert list(become_leader(cand, ctx)) == []
