"""The compiled Raft model and the readable transcription of raft.tla are the same machine.

``spec/raft/tla/`` follows raft.tla action for action (the encoding to read);
``spec/raft/fast/`` is what the checker runs, module for module the same (``actions``,
``properties``, ``symmetry``).  Here both
walk every reachable state of small configurations, the correct protocol and every
mutant, and must agree exactly: the same labelled successors, equal states of the same
types, in the same order (so pinned traces and simulation seeds hold for both), the same
verdict of every invariant on every successor (inside the bounds or not), of the action
property on every step, and of the state constraint.
"""

from __future__ import annotations

import random
from collections import deque
from itertools import permutations

import pytest

from quorum.model_checker.explicit.bfs import check
from quorum.spec.raft import SPEC
from quorum.spec.raft.fast.actions import supports as fast_supports
from quorum.spec.raft.fast.symmetry import canonicalizer
from quorum.spec.raft.model import RaftModel
from quorum.spec.raft.mutants import MUTANTS, RULES
from quorum.spec.raft.tla.symmetry import canonicalize, permute


def _models(mutant: str | None, bounds: dict[str, int]) -> tuple[RaftModel, RaftModel]:
    values = {**SPEC.defaults(mutant), **bounds}
    fast = SPEC.build(values, mutant, False)
    ref = RaftModel(fast.config, fast.rules, False, fast.name, reference=True)
    assert not fast.reference and ref.reference
    return fast, ref


def _same_step(fast: RaftModel, ref: RaftModel, s, got, want) -> None:
    (label, t), (ref_label, ref_t) = got, want
    assert label == ref_label
    assert t == ref_t and type(t) is type(ref_t)
    assert [type(m) for m, _ in t.messages] == [type(m) for m, _ in ref_t.messages]
    for name, holds in fast.action_properties.items():
        assert holds(s, label, t) == ref.action_properties[name](s, label, t), (name, label)


def _vouched_steps_are_harmless(fast: RaftModel, s, got) -> None:
    """successors_within: the same labels; a step given as None leaves the bounds, its
    successor satisfies every invariant s satisfies, and the action property holds; a
    step given with its successor is within the bounds unless its action is one of the
    model's ``may_leave_bounds``."""
    vouched = fast.successors_within(s)
    assert [lab for lab, _ in vouched] == [lab for lab, _ in got]
    for (label, v), (_, t) in zip(vouched, got, strict=True):
        if v is not None:
            assert v == t
            # the checker asks the bounds only of the actions that may leave them
            assert label[0] in fast.may_leave_bounds or fast.within_bounds(v), label
            continue
        assert not fast.within_bounds(t), label
        for name, holds in fast.invariants.items():
            assert holds(t) or not holds(s), (name, label)
        assert all(holds(s, label, t) for holds in fast.action_properties.values()), label


def compare(mutant: str | None, every_successor: bool = True, **bounds: int) -> int:
    """Walk every state reachable within the bounds; return how many steps were compared.

    Invariant verdicts are compared on every successor, or (``every_successor=False``,
    for the large models: the reference invariants are slow) on every reachable state."""
    fast, ref = _models(mutant, bounds)
    init = list(fast.initial_states())
    assert init == list(ref.initial_states())
    seen, queue, steps = set(init), deque(init), 0
    while queue:
        s = queue.popleft()
        got, want = list(fast.successors(s)), list(ref.successors(s))
        assert [lab for lab, _ in got] == [lab for lab, _ in want], s
        _vouched_steps_are_harmless(fast, s, got)
        for g, w in zip(got, want, strict=True):
            _same_step(fast, ref, s, g, w)
            t = g[1]
            inside = fast.within_bounds(t)
            assert inside == ref.within_bounds(t)
            if every_successor or (inside and t not in seen):
                for name, holds in fast.invariants.items():
                    assert holds(t) == ref.invariants[name](t), (name, t)
            if inside and t not in seen:
                seen.add(t)
                queue.append(t)
        steps += len(got)
    return steps


def test_raft_two_servers():
    # 1,657 states (TLC's count), 12,969 steps less the initial state
    assert compare(None, servers=2, values=1, max_term=2, max_log=1, max_msgs=1) == 12968


def test_raft_two_servers_two_values_longer_logs():
    assert compare(None, servers=2, values=2, max_term=2, max_log=2, max_msgs=1) == 44008


#: the smallest bounds at which each mutant differs from raft.tla (an older term's
#: entries or requests need a third term)
MUTANT_TERMS = {"no-truncate": 3, "stale-append": 3, "commit-old-term": 3}


#: the mutants of the layers' rules (snapshots, membership) run on the readable encoding only
COMPILED_MUTANTS = sorted(m for m in MUTANTS if fast_supports(RULES[m]))


@pytest.mark.parametrize("mutant", COMPILED_MUTANTS)
def test_every_mutant_two_servers(mutant):
    term = MUTANT_TERMS.get(mutant, 2)
    assert compare(mutant, servers=2, values=1, max_term=term, max_log=1, max_msgs=1) > 12_000


@pytest.mark.slow
def test_raft_three_servers_elections_only():
    # 617,361 states, 7,680,090 steps (about ten minutes: the reference is slow)
    assert compare(None, every_successor=False, servers=3, values=1, max_term=2, max_log=0,
                   max_msgs=1) == 7680090


@pytest.mark.slow
@pytest.mark.parametrize("mutant,bounds", [
    (None, {"servers": 2, "values": 1, "max_term": 2, "max_log": 2, "max_msgs": 2}),
    ("follower-writes", {"servers": 2, "values": 2, "max_term": 2, "max_log": 1, "max_msgs": 1}),
    ("no-up-to-date-check", {"servers": 2, "values": 1, "max_term": 3, "max_log": 2,
                             "max_msgs": 1}),
])
def test_larger_two_server_models(mutant, bounds):
    assert compare(mutant, every_successor=False, **bounds) > 400_000


# -- random walks on three servers --------------------------------------------------------
def _compare_step_by_step(fast: RaftModel, ref: RaftModel, s) -> list:
    """Both encodings at s: the same labels in order, equal successors, the same verdict
    of every invariant on every successor, of the action property on every step and of
    the bounds; the vouched steps harmless.  The steps, for the walk to go on."""
    got, want = list(fast.successors(s)), list(ref.successors(s))
    assert [lab for lab, _ in got] == [lab for lab, _ in want], s
    _vouched_steps_are_harmless(fast, s, got)
    for g, w in zip(got, want, strict=True):
        _same_step(fast, ref, s, g, w)
        t = g[1]
        assert fast.within_bounds(t) == ref.within_bounds(t)
        for name, holds in fast.invariants.items():
            assert holds(t) == ref.invariants[name](t), (name, t)
    return got


def random_walks(mutant: str | None, seed: int, walks: int, depth: int, **bounds: int
                 ) -> tuple[int, set, dict[str, int]]:
    """Seeded walks from the initial state, each step compared (``_compare_step_by_step``).

    A walk picks an action name with the model's ``action_weights`` (the guided
    simulation's: timeouts and faults rare, so that elections finish and entries commit),
    among the steps that move and stay within the bounds, then one of its steps; it ends
    at ``depth`` states or where nothing moves.  Returns (steps compared, the states
    visited, steps taken per action name)."""
    fast, ref = _models(mutant, bounds)
    rng = random.Random(seed)
    (init,) = fast.initial_states()
    compared, seen, taken = 0, {init}, {}
    for _ in range(walks):
        s = init
        for _ in range(depth - 1):
            got = _compare_step_by_step(fast, ref, s)
            compared += len(got)
            by_action: dict[str, list] = {}
            for lab, t in got:
                if t != s and fast.within_bounds(t):
                    by_action.setdefault(lab[0], []).append(t)
            if not by_action:
                break
            names = list(by_action)
            name = rng.choices(names, [fast.action_weights.get(n, 1.0) for n in names])[0]
            s = rng.choice(by_action[name])
            seen.add(s)
            taken[name] = taken.get(name, 0) + 1
    return compared, seen, taken


def test_random_walks_on_three_servers_agree_step_by_step():
    """3 servers, 2 values, terms up to 3, logs of 2 entries, 2 messages in flight: a
    model far too large for the exhaustive comparisons above, compared on 100 walks that
    elect leaders, replicate and commit (a second or two)."""
    compared, seen, taken = random_walks(None, seed=7, walks=100, depth=60, servers=3,
                                         values=2, max_term=3, max_log=2, max_msgs=2)
    assert (compared, len(seen)) == (61461, 4147)
    assert taken == {"Timeout": 248, "RequestVote": 792, "Receive": 2724, "BecomeLeader": 149,
                     "ClientRequest": 221, "AppendEntries": 342, "AdvanceCommitIndex": 108,
                     "Restart": 246, "DropMessage": 76, "DuplicateMessage": 38}
    assert sum(1 for s in seen if any(s.commit_index)) == 1125  # states with a commit


# -- the canonical form under symmetry --------------------------------------------------
def _three_server_states(limit: int) -> list:
    """The first states of a 3-server model with longer terms and two messages in flight."""
    model = SPEC.build({"servers": 3, "values": 2, "max_term": 3, "max_log": 1, "max_msgs": 2},
                       None, False)
    init = next(iter(model.initial_states()))
    seen, queue = {init}, deque([init])
    while queue and len(seen) < limit:
        for _, t in model.successors(queue.popleft()):
            if t not in seen and model.within_bounds(t):
                seen.add(t)
                queue.append(t)
    return sorted(seen)


def test_fast_canonical_form_is_exact_on_sampled_states():
    states = _three_server_states(6000)
    fast_form = canonicalizer(3)
    for s in random.Random(3).sample(states, 400):
        c = fast_form(s)
        assert fast_form(c) == c
        for perm in permutations(range(3)):
            assert fast_form(permute(s, perm)) == c
    # Two states share a fast form exactly when they share the readable form (an orbit).
    by_fast: dict = {}
    by_ref: dict = {}
    for s in states:
        by_fast.setdefault(fast_form(s), set()).add(s)
        by_ref.setdefault(canonicalize(s), set()).add(s)
    assert {frozenset(g) for g in by_fast.values()} == {frozenset(g) for g in by_ref.values()}
    assert len(by_fast) < len(states)


def test_symmetric_search_counts_the_same_orbits_either_way():
    values = {"servers": 3, "values": 1, "max_term": 2, "max_log": 0, "max_msgs": 1}
    fast_model = SPEC.build(values, None, True)
    ref = RaftModel(fast_model.config, fast_model.rules, True, reference=True)
    fast_result, ref_result = check(fast_model, max_states=20_000), check(ref, max_states=20_000)
    assert fast_result.distinct_states == ref_result.distinct_states
    assert fast_result.generated_states == ref_result.generated_states


def test_vouched_steps_change_no_count_and_no_coverage():
    from quorum.model_checker.explicit.parallel import check_fingerprints

    values = {"servers": 2, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1}
    vouching = SPEC.build(values, None, False)
    plain = SPEC.build(values, None, False)
    del plain.successors_within  # the searches fall back to successors + within_bounds
    for search in (check, check_fingerprints):
        a, b = search(vouching), search(plain)
        assert (a.distinct_states, a.generated_states, a.depth) == (1657, 12969, 28)
        assert (b.distinct_states, b.generated_states, b.depth) == (1657, 12969, 28)
        assert {k: (c.generated, c.distinct) for k, c in a.coverage.items()} == {
            k: (c.generated, c.distinct) for k, c in b.coverage.items()}


def test_rules_the_fast_path_lacks_run_in_the_reference():
    from dataclasses import replace

    from quorum.spec.common import ConfigError
    from quorum.spec.raft import ETCD, RAFT, RULES
    from quorum.spec.raft.config import Config
    from quorum.spec.raft.fast import actions as fast

    assert not RaftModel(Config(), RAFT).reference
    assert all(not SPEC.build(SPEC.defaults(m), m, False).reference for m in COMPILED_MUTANTS)
    assert all(fast.unsupported(RULES[m]) == [] for m in COMPILED_MUTANTS)
    # the layers' mutant (membership) is refused by name: the reference runs them
    assert fast.unsupported(RULES["membership-without-fix"]) == ["may_change_config"]
    assert sorted(set(MUTANTS) - set(COMPILED_MUTANTS)) == ["membership-without-fix"]
    model = RaftModel(Config(), ETCD)
    assert model.reference and not hasattr(model, "successors_within")
    # fast declares what it implements; anything else is refused by name
    assert fast.unsupported(ETCD) == ["commits_after_restart", "follower_commit", "reply_match",
                                      "match_after_success", "heartbeats", "lost_elections",
                                      "config_on_apply", "snapshot_fast_forward", "learners",
                                      "leader_removes_itself"]
    with pytest.raises(ConfigError, match="does not implement heartbeats, lost_elections"):
        fast.successor_function(Config(), replace(RAFT, heartbeats=True, lost_elections=True))
