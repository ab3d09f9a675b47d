"""The fingerprint search (one process or several) agrees with the exact sequential BFS:
same counts, depth, coverage, and the same shortest trace; the store costs 16 bytes per
distinct state."""

from __future__ import annotations

import numpy as np
import pytest

from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.explicit.fpset import FingerprintSet, collision_probability, fingerprint
from quorum.model_checker.explicit.parallel import check_fingerprints
from quorum.spec.paxos import SPEC


class Grid:
    """(x, y) moves right or up on a bounded grid; diagonal symmetry via a view."""

    def __init__(self, size=6, invariants=None, action_properties=None, reachability=None,
                 stop_at=None, view=None):
        self.name = "grid"
        self.size, self.stop_at = size, stop_at
        self.invariants = invariants or {}
        self.action_properties = action_properties or {}
        self.reachability = reachability or {}
        self.canonicalize = None
        self.view = view

    def initial_states(self):
        yield (0, 0)
        yield (1, 0)

    def successors(self, s):
        x, y = s
        if self.stop_at is not None and x + y >= self.stop_at:
            return
        yield ("Right", (("by", 1),)), (x + 1, y)
        yield ("Up", (("by", 1),)), (x, y + 1)
        yield ("Stay", ()), s
        yield ("Jump", (("by", 2),)), (x + 2, y + 1)

    def within_bounds(self, s):
        return s[0] <= self.size and s[1] <= self.size

    def render(self, s):
        return {"x": s[0], "y": s[1]}


def same(a, b):
    assert (a.ok, a.distinct_states, a.generated_states, a.depth, a.complete) == (
        b.ok, b.distinct_states, b.generated_states, b.depth, b.complete)
    assert {k: (c.generated, c.distinct) for k, c in a.coverage.items()} == {
        k: (c.generated, c.distinct) for k, c in b.coverage.items()}


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_counts_and_coverage_agree_with_the_exact_search(workers):
    same(check_fingerprints(Grid(), workers=workers, fork_at=1), check(Grid()))
    view = Grid(view=lambda s: tuple(sorted(s)))
    same(check_fingerprints(view, workers=workers, fork_at=1), check(Grid(view=lambda s: tuple(sorted(s)))))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("kwargs,kind,prop", [
    ({"invariants": {"Low": lambda s: s[0] + s[1] < 7}}, "invariant", "Low"),
    ({"action_properties": {"NoJump": lambda s, lab, t: lab[0] != "Jump" or t[1] < 3}},
     "action-property", "NoJump"),
    ({"reachability": {"Corner": lambda s: s == (9, 9)}}, "unreached", "Corner"),
])
def test_first_violation_and_trace_agree(workers, kwargs, kind, prop):
    fast = check_fingerprints(Grid(**kwargs), workers=workers, fork_at=1)
    exact = check(Grid(**kwargs))
    assert (fast.violation.kind, fast.violation.property) == (kind, prop)
    assert fast.violation.trace == exact.violation.trace
    same(fast, exact)  # counted up to the violation, as the sequential search stops there


@pytest.mark.parametrize("workers", [1, 2])
def test_deadlock_trace_agrees(workers):
    fast = check_fingerprints(Grid(stop_at=3), workers=workers, check_deadlock=True,
                              fork_at=1)
    exact = check(Grid(stop_at=3), check_deadlock=True)
    assert fast.violation.kind == "deadlock"
    assert fast.violation.trace == exact.violation.trace
    same(fast, exact)


def paxos(mutant=None, symmetry=False, **overrides):
    values = SPEC.defaults(mutant)
    values.update(overrides)
    return SPEC.build(values, mutant, symmetry)


@pytest.mark.parametrize("workers", [1, 2])
def test_paxos_pinned_counts_on_any_number_of_workers(workers):
    r = check_fingerprints(paxos(), workers=workers, fork_at=1)
    assert r.extra["workers"] == workers
    assert r.ok and (r.distinct_states, r.generated_states, r.depth) == (3921, 22995, 17)
    assert r.extra["store_bytes_per_state"] == 16.0
    s = check_fingerprints(paxos(symmetry=True), workers=workers, fork_at=1)
    assert s.ok and (s.distinct_states, s.depth) == (443, 17)


@pytest.mark.parametrize("mutant", ["ceil-quorum", "ignore-1b-votes"])
def test_paxos_mutant_traces_are_the_sequential_ones(mutant):
    exact = check(paxos(mutant), properties=["Agreement"])
    for workers in (1, 2):
        fast = check_fingerprints(paxos(mutant), properties=["Agreement"], workers=workers,
                                  fork_at=100)  # forks in the middle of the search
        assert fast.violation.trace == exact.violation.trace
        assert fast.violation.length == 13
        same(fast, exact)


@pytest.mark.parametrize("workers", [1, 2])
def test_states_outside_the_constraint_are_not_stored(workers):
    r = check_fingerprints(Grid(size=4), workers=workers, fork_at=1)
    assert r.distinct_states == 25 and r.extra["store_bytes_per_state"] == 16.0


def test_small_models_stay_in_one_process():
    assert check_fingerprints(Grid(), workers=2).extra["workers"] == 1


def test_fingerprint_set_membership_parents_and_size():
    fs = FingerprintSet()
    fs.add(np.array([30, 10], dtype=np.uint64), np.array([0, 0], dtype=np.uint64))
    assert fs.unseen(np.array([10, 20, 30], dtype=np.uint64)).tolist() == [False, True, False]
    fs.end_level()
    fs.add(np.array([20], dtype=np.uint64), np.array([10], dtype=np.uint64))
    assert fs.unseen(np.array([10, 20, 40], dtype=np.uint64)).tolist() == [False, False, True]
    fs.end_level()
    assert (fs.parent(20), fs.parent(10), fs.parent(99)) == (10, 0, None)
    assert fs.fps.tolist() == [10, 20, 30] and fs.nbytes == 3 * 16
    assert fs.min_gap() == 10


def test_fingerprints_are_nonzero_64_bit_and_collision_estimate_follows_tlc():
    assert 0 < fingerprint((1, 2)) < 2**64 and fingerprint(0) == 1
    odds = collision_probability(1000, 5000, 1 << 40)
    assert odds["optimistic"] == 1000 * 4000 / 2**64
    assert odds["actual"] == 1 / 2**40
