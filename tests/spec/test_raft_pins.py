"""Raft against raft.tla: TLC's state count, exact symmetry, and the mutants found so far.

TLC 2.20 on Ongaro's raft.tla (2 servers, 1 value, terms up to 2, logs up to 1 entry, at
most 1 message in flight, VIEW without the history variables): 1,657 distinct states.
"""

from __future__ import annotations

from collections import deque

import pytest

from model_checker.bfs import check
from quorum.specs import load

RAFT = load("raft")
SMALL = {"servers": 2, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1}


def build(mutant=None, symmetry=False, **bounds):
    values = {**RAFT.defaults(mutant), **bounds}
    return RAFT.build(values, mutant, symmetry)


def test_tlc_state_count_two_servers():
    result = check(build(**SMALL))
    assert result.ok
    assert (result.distinct_states, result.generated_states, result.depth) == (1657, 12969, 28)


def test_symmetric_count_is_the_exact_number_of_orbits():
    plain, sym = build(**SMALL), build(symmetry=True, **SMALL)
    init = list(plain.initial_states())
    seen, queue = set(init), deque(init)
    while queue:
        for _, t in plain.successors(queue.popleft()):
            if t not in seen and plain.within_bounds(t):
                seen.add(t)
                queue.append(t)
    orbits = {sym.canonicalize(s) for s in seen}
    result = check(sym)
    assert result.ok and len(seen) == 1657
    assert result.distinct_states == len(orbits) == 837


def test_ceil_quorum_two_leaders_in_one_term():
    # With 2 servers, ceil(2/2) = 1 vote elects: both servers lead term 2.
    v = check(build("ceil-quorum")).violation
    assert v is not None and (v.property, v.length) == ("ElectionSafety", 11)
    assert v.trace[-1].action.startswith("BecomeLeader")


@pytest.mark.slow
def test_forget_vote_two_leaders_in_one_term():
    v = check(build("forget-vote")).violation
    assert v is not None and (v.property, v.length) == ("ElectionSafety", 19)
    assert any(step.action.startswith("Restart") for step in v.trace)
