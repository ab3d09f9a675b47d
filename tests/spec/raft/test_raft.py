"""Raft, checked against Ongaro's raft.tla: TLC's state count, exact symmetry, its details."""

from __future__ import annotations

import random
from collections import deque
from functools import partial
from itertools import permutations

import pytest

from helpers.specs import build as build_spec
from helpers.specs import reachable
from quorum.model_checker.explicit.bfs import check
from quorum.spec.common import ConfigError
from quorum.spec.raft import SPEC
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    State,
    initial_state,
)
from quorum.spec.raft.tla.symmetry import canonicalize, permute

build = partial(build_spec, SPEC)


def test_tlc_state_count_two_servers():
    # TLC 2.20 on raft.tla, Server = {s1, s2}, Value = {v1}, CONSTRAINT currentTerm <= 2,
    # Len(log) <= 1, BagCardinality(messages) <= 1, VIEW without the history variables.
    result = check(build(servers=2, values=1, max_term=2, max_log=1, max_msgs=1))
    assert result.ok
    assert (result.distinct_states, result.depth, result.generated_states) == (1657, 28, 12969)


def test_symmetric_count_is_the_exact_orbit_count_two_servers():
    full, sym = build(), build(symmetry=True)
    orbits = {canonicalize(s) for s in reachable(full, bounded=True)}
    result = check(sym)
    assert result.ok and result.depth == 28
    assert result.distinct_states == len(orbits) == 837


def test_canonical_form_is_the_same_for_every_member_of_an_orbit():
    states = sorted(_sample_three_server_states(), key=repr)
    rng = random.Random(5)
    for s in rng.sample(states, 300):
        c = canonicalize(s)
        assert canonicalize(c) == c
        for perm in permutations(range(3)):
            t = permute(s, perm)
            assert canonicalize(t) == c


def _sample_three_server_states() -> list[State]:
    """States of the 3-server model reached by a bounded BFS (first 4000)."""
    model = build(servers=3, max_term=3, max_log=1, max_msgs=2)
    init = next(iter(model.initial_states()))
    seen, queue = {init}, deque([init])
    while queue and len(seen) < 4000:
        for _, t in model.successors(queue.popleft()):
            if t not in seen and model.within_bounds(t):
                seen.add(t)
                queue.append(t)
    return list(seen)


def test_every_reachable_state_satisfies_the_invariants_and_both_properties_are_reached():
    model = build()
    states = reachable(model, bounded=True)
    for name, holds in model.invariants.items():
        assert all(holds(s) for s in states), name
    assert any(s.role.count(LEADER) for s in states)
    assert any(any(s.commit_index) for s in states)
    assert set(model.reachability) == {"LeaderElected", "EntryCommitted"}


def test_elections_only_with_max_log_zero():
    model = build(max_log=0)
    assert set(model.reachability) == {"LeaderElected"}
    result = check(model)
    assert result.ok and (result.distinct_states, result.depth) == (1301, 20)


# -- raft.tla's details, each of which changes the state count --------------------------
def _labels(model, s):
    """s's steps by label, as printed (servers named)."""
    return {model.render_label(label): t for label, t in model.successors(s)}


def test_a_candidate_requests_its_own_vote_but_never_sends_itself_entries():
    model = build()
    s = initial_state(2)._replace(role=(CANDIDATE, LEADER), current_term=(2, 2))
    names = {(lab[0], lab[1]) for lab in _labels(model, s)}
    assert ("RequestVote", (("i", "s1"), ("j", "s1"))) in names
    assert ("AppendEntries", (("i", "s2"), ("j", "s1"))) in names
    assert ("AppendEntries", (("i", "s2"), ("j", "s2"))) not in names


def test_restart_and_advance_commit_index_are_self_loops_when_nothing_changes():
    model = build()
    s = initial_state(2)._replace(role=(LEADER, FOLLOWER), current_term=(2, 2))
    steps = _labels(model, s)
    assert steps[("Restart", (("i", "s2"),))] == s
    assert steps[("AdvanceCommitIndex", (("i", "s1"),))] == s


def _ae(term: int, prev: int, prev_term: int, entries, commit: int, src: int, dst: int):
    return AppendEntriesRequest(APPEND_ENTRIES_REQUEST, term, prev, prev_term, tuple(entries),
                                tuple(entries), commit, src, dst)


def test_update_term_keeps_the_message_and_the_tallies():
    model = build()
    m = _ae(2, 0, 0, [], 0, 0, 1)
    s = initial_state(2)._replace(messages=((m, 1),), votes_granted=(0, 2))
    (t,) = [t for lab, t in model.successors(s) if lab[0] == "Receive"]
    assert t.current_term == (1, 2) and t.role[1] == FOLLOWER
    assert t.messages == s.messages and t.votes_granted == (0, 2)


def test_a_conflict_removes_only_the_last_entry_and_keeps_the_request():
    model = build(max_log=3)
    m = _ae(3, 0, 0, [(3, 0)], 0, 0, 1)
    s = initial_state(2)._replace(current_term=(3, 3), messages=((m, 1),),
                                  log=((), ((2, 0), (2, 0))))
    (t,) = [t for lab, t in model.successors(s) if lab[0] == "Receive"]
    assert t.log[1] == ((2, 0),) and t.messages == s.messages


def test_a_leader_ignores_a_request_of_its_own_term():
    model = build()
    m = _ae(2, 0, 0, [], 0, 0, 1)
    s = initial_state(2)._replace(current_term=(2, 2), role=(LEADER, LEADER), messages=((m, 1),))
    assert not [lab for lab, _ in model.successors(s) if lab[0] == "Receive"]


def test_already_done_may_lower_the_commit_index():
    model = build()
    m = _ae(2, 0, 0, [], 0, 0, 1)
    s = initial_state(2)._replace(current_term=(2, 2), commit_index=(0, 1),
                                  log=((), ((2, 0),)), messages=((m, 1),))
    (t,) = [t for lab, t in model.successors(s) if lab[0] == "Receive"]
    assert t.commit_index == (0, 0)
    ((reply, count),) = t.messages
    assert count == 1 and reply.msuccess and reply.mmatch_index == 0


def test_duplicates_are_counted_and_a_count_never_drops_to_zero():
    model = build(max_msgs=2)
    m = _ae(2, 0, 0, [], 0, 0, 1)
    s = initial_state(2)._replace(messages=((m, 1),))
    steps = {lab[0]: t for lab, t in model.successors(s)}
    assert steps["DuplicateMessage"].messages == ((m, 2),)
    assert steps["DropMessage"].messages == ()
    assert not model.within_bounds(steps["DuplicateMessage"]._replace(messages=((m, 3),)))


@pytest.mark.parametrize("values,message", [
    ({"servers": 0}, "--servers must be an integer between 1 and 7"),
    ({"max_term": 0}, "--max-term must be an integer between 1 and 6"),
    ({"max_log": -1}, "--max-log must be an integer between 0 and 4"),
    ({"max_msgs": 0}, "--max-msgs must be an integer between 1 and 4"),
    ({"servers": 12}, "--servers must be an integer between 1 and 7"),
    ({"values": 10**30}, "--values must be an integer between 1 and 3"),
])
def test_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        build(**values)


def test_unknown_mutant_is_a_config_error():
    with pytest.raises(ConfigError, match="no mutant 'nope'"):
        SPEC.build(SPEC.defaults(), "nope", False)


@pytest.mark.slow
def test_three_server_counts_with_and_without_symmetry():
    # 3 servers, 1 value, max term 2, elections only: orbits are exactly 1/6 of most states.
    full = check(build(servers=3, max_log=0))
    sym = check(build(servers=3, max_log=0, symmetry=True))
    assert full.ok and sym.ok
    assert (full.distinct_states, full.generated_states, full.depth) == (617361, 7680091, 39)
    assert (sym.distinct_states, sym.depth) == (103258, 39)


@pytest.mark.slow
def test_three_server_benchmark_model_with_symmetry():
    result = check(build(servers=3, symmetry=True))
    assert result.ok and (result.distinct_states, result.depth) == (324570, 53)
