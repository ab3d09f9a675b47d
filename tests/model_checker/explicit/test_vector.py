"""The vector engine (``explicit/vector.py``) is the same search as the parallel one.

On a toy model with a hand-written batch encoding (self-loops, two initial states, steps
out of the bounds, a view) and on Raft's batch encoding: equal counts, coverage (per
action, generated and new: the least-position rule keeps the same states), depth,
verdicts and counterexample traces, also where ``--max-states`` stops a search and where
a violation ends it part-way through a round.
"""

from __future__ import annotations

import numpy as np
import pytest

from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.explicit.disk import CheckpointError
from quorum.model_checker.explicit.parallel import check_fingerprints
from quorum.model_checker.explicit.vector import check_vector, encoding_of
from quorum.spec.raft import SPEC

from .test_parallel import Grid, same


class GridRows:
    """Grid's batch encoding: a row is (x, y); slots Right, Up, Stay, Jump."""

    slots = ("Right", "Up", "Stay", "Jump")
    may_leave_bounds = frozenset(slots)

    def __init__(self, grid: Grid, invariants=None, action_properties=None, reachability=None):
        self.grid = grid
        self.invariants = invariants or {}
        self.action_properties = action_properties or {}
        self.reachability = reachability or {}

    def encode(self, s):
        return np.array(s, dtype=np.int64)

    def expand(self, rows):
        go = (np.ones(len(rows), dtype=bool) if self.grid.stop_at is None
              else rows.sum(axis=1) < self.grid.stop_at)
        for slot, (dx, dy) in enumerate(((1, 0), (0, 1), (0, 0), (2, 1))):
            parents = np.flatnonzero(go) if (dx, dy) != (0, 0) else np.zeros(0, dtype=np.int64)
            yield slot, go, parents, rows[parents] + np.array([dx, dy])

    def within(self, rows):
        return (rows <= self.grid.size).all(axis=1)

    def fingerprints(self, rows):
        if self.grid.view is not None:
            rows = np.sort(rows, axis=1)
        return (rows[:, 0] * 1000 + rows[:, 1] + 1).astype(np.uint64)

    def fingerprint(self, s):
        return int(self.fingerprints(self.encode(s)[None, :])[0])


def grid(rows_kwargs=None, **kwargs):
    g = Grid(**kwargs)
    g.batch_encoding = lambda: GridRows(g, **(rows_kwargs or {}))
    return g


def same_violation(a, b):
    assert (a.violation is None) == (b.violation is None)
    if a.violation is not None:
        assert (a.violation.kind, a.violation.property) == (b.violation.kind, b.violation.property)
        assert a.violation.trace == b.violation.trace


def test_counts_and_coverage_agree_with_the_parallel_search():
    for g in (grid(), grid(view=lambda s: tuple(sorted(s)))):
        v, p = check_vector(g), check_fingerprints(g, workers=1)
        same(v, p)
        assert v.extra["engine"] == "vector" and v.ok


@pytest.mark.parametrize("kwargs,rows_kwargs,kind,prop", [
    ({"invariants": {"Low": lambda s: s[0] + s[1] < 7}},
     {"invariants": {"Low": lambda r: r.sum(axis=1) < 7}}, "invariant", "Low"),
    ({"invariants": {"Origin": lambda s: s != (1, 0)}},  # the second initial state fails
     {"invariants": {"Origin": lambda r: (r != (1, 0)).any(axis=1)}}, "invariant", "Origin"),
    ({"invariants": {"Narrow": lambda s: s[0] < 7}},  # only states out of the bounds fail
     {"invariants": {"Narrow": lambda r: r[:, 0] < 7}}, "invariant", "Narrow"),
    ({"action_properties": {"NoJump": lambda s, lab, t: lab[0] != "Jump" or t[1] < 3}},
     {"action_properties": {"NoJump": lambda rows, parent, b: ~((b[:, 0] - rows[parent, 0] == 2) & (b[:, 1] >= 3))}},
     "action-property", "NoJump"),
    ({"reachability": {"Corner": lambda s: s == (9, 9)}},
     {"reachability": {"Corner": lambda r: (r == 9).all(axis=1)}}, "unreached", "Corner"),
])
def test_first_violation_trace_and_counts_agree(kwargs, rows_kwargs, kind, prop):
    g = grid(rows_kwargs, size=6, **kwargs)
    v, p, exact = check_vector(g), check_fingerprints(g, workers=1), check(g)
    assert (v.violation.kind, v.violation.property) == (kind, prop)
    same(v, p)
    same_violation(v, p)
    same_violation(v, exact)


def test_deadlock_trace_agrees():
    g = grid(stop_at=3)
    v, p = check_vector(g, check_deadlock=True), check_fingerprints(g, workers=1, check_deadlock=True)
    assert v.violation.kind == "deadlock"
    same(v, p)
    same_violation(v, p)


def test_max_states_stops_where_the_parallel_search_stops():
    model = SPEC.build({**SPEC.defaults(None), "servers": 3}, None, False)
    v = check_vector(model, max_states=20_000)
    p = check_fingerprints(model, workers=1, max_states=20_000)
    assert not v.complete and v.distinct_states >= 20_000
    same(v, p)


def raft(mutant=None, symmetry=False, **bounds):
    return SPEC.build({**SPEC.defaults(mutant), **bounds}, mutant, symmetry)


def test_raft_three_servers_with_symmetry_pinned():
    """The benchmark model: TLC's bounds, server symmetry; the orbit count is exact."""
    model = raft(symmetry=True, servers=3, values=1, max_term=2, max_log=1, max_msgs=1)
    v = check_vector(model)
    assert (v.distinct_states, v.generated_states, v.depth, v.ok) == (324_570, 3_839_917, 53, True)
    same(v, check_fingerprints(model, workers=1))


@pytest.mark.parametrize("bounds", [
    ({"servers": 2, "values": 2, "max_term": 2, "max_log": 1, "max_msgs": 1}, 2_013),
    ({"servers": 2, "values": 1, "max_term": 3, "max_log": 2, "max_msgs": 1}, 46_741),
])
def test_raft_small_models_agree(bounds):
    bounds, distinct = bounds
    model = raft(**bounds)
    v = check_vector(model)
    assert v.ok and v.distinct_states == distinct
    same(v, check_fingerprints(model, workers=1))


def test_raft_mutant_counterexample_is_the_parallel_searchs():
    """ceil-quorum (quorum = ceil(n/2)) runs on the batch encoding: the same violation,
    trace and counts up to it."""
    model = raft("ceil-quorum")
    assert encoding_of(model) is not None
    v, p = check_vector(model), check_fingerprints(model, workers=1)
    assert (v.violation.kind, v.violation.property) == ("invariant", "ElectionSafety")
    same(v, p)
    same_violation(v, p)


def test_an_action_property_violation_in_raft_is_found_and_replayed():
    """A planted action property (no leader ever appends a second entry), in both forms:
    the first violating step, its trace and the counts before it agree."""
    model = raft(servers=2, values=1, max_term=2, max_log=2, max_msgs=1)
    batch = model.batch_encoding()
    model.action_properties = {**model.action_properties,
                               "OneEntry": lambda s, lab, t: max(map(len, t.log)) < 2}
    lg = batch.LL
    batch.action_properties["OneEntry"] = lambda rows, parent, b: b[:, lg:lg + batch.n].max(axis=1) < 2
    model.batch_encoding = lambda: batch
    v, p = check_vector(model), check_fingerprints(model, workers=1)
    assert (v.violation.kind, v.violation.property) == ("action-property", "OneEntry")
    same(v, p)
    same_violation(v, p)


def test_a_property_the_encoding_lacks_means_no_encoding():
    """A model given a property of its own has no batch encoding until the encoding has
    it too (the vector engine would not check it)."""
    model = raft(servers=2, max_log=0)
    assert encoding_of(model) is not None
    model.invariants = {**model.invariants, "Mine": lambda s: True}
    assert encoding_of(model) is None


def test_on_disk_the_search_is_the_same(tmp_path):
    """``directory``: the frontier in level files and the fingerprints in the disk store,
    with a buffer small enough for many runs and merges: the same counts, coverage,
    verdicts and traces, and nothing left in the directory."""
    d = tmp_path / "d"
    model = raft(symmetry=True, servers=3, values=1, max_term=2, max_log=1, max_msgs=1)
    v = check_vector(model, directory=d, buffer=5_000)
    assert (v.distinct_states, v.generated_states, v.depth, v.ok) == (324_570, 3_839_917, 53, True)
    assert v.extra["store"] == "64-bit fingerprints on disk" and v.extra["disk_peak_bytes"] > 0
    same(v, check_vector(model))
    assert list(d.iterdir()) == []
    for model in (raft("ceil-quorum"), grid({"invariants": {"Low": lambda r: r.sum(axis=1) < 7}},
                                            size=6, invariants={"Low": lambda s: s[0] + s[1] < 7})):
        v, p = check_vector(model, directory=d, buffer=50), check_fingerprints(model, workers=1)
        assert v.violation is not None
        same(v, p)
        same_violation(v, p)
        assert list(d.iterdir()) == []
    model = raft(servers=3)
    v = check_vector(model, directory=d, buffer=1_000, max_states=20_000)
    assert not v.complete
    same(v, check_fingerprints(model, workers=1, max_states=20_000))


def test_on_disk_the_directory_must_be_empty_and_the_buffer_positive(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(CheckpointError, match="is not empty"):
        check_vector(raft(servers=2, max_log=0), directory=tmp_path)
    with pytest.raises(CheckpointError, match="at least 1 entry"):
        check_vector(raft(servers=2, max_log=0), directory=tmp_path / "d", buffer=0)
    assert (tmp_path / "x").exists()


@pytest.mark.slow
def test_raft_three_servers_without_symmetry_pinned():
    model = raft(servers=3, values=1, max_term=2, max_log=1, max_msgs=1)
    v = check_vector(model)
    assert (v.distinct_states, v.generated_states, v.depth, v.ok) == (1_943_913, 23_003_017, 53, True)
    same(v, check_fingerprints(model, workers=1))
