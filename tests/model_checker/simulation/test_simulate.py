"""Simulation: seeded random walks, replayable from the seed, and shrunk traces."""

from __future__ import annotations

from functools import partial

import pytest

from helpers.specs import build as build_spec
from helpers.specs import replays
from quorum.model_checker.simulation.simulate import run_rng, shrink, simulate
from quorum.spec.raft import SPEC

build = partial(build_spec, SPEC)


@pytest.mark.parametrize("seed", range(10))
def test_ceil_quorum_found_for_every_seed(seed):
    model = build("ceil-quorum")
    result = simulate(model, depth=50, runs=1000, seed=seed)
    v = result.violation
    assert result.mode == "simulation" and not result.complete
    assert v is not None and (v.kind, v.property) == ("invariant", "ElectionSafety")
    assert replays(model, v.trace)
    assert not model.invariants["ElectionSafety"](v.trace[-1].state)
    assert all(model.invariants["ElectionSafety"](s.state) for s in v.trace[:-1])
    assert v.provenance["seed"] == seed
    assert v.length <= v.provenance["steps_found"]


def test_same_seed_same_result_and_replay_from_the_printed_run():
    a = simulate(build("ceil-quorum"), depth=50, runs=1000, seed=4)
    b = simulate(build("ceil-quorum"), depth=50, runs=1000, seed=4)
    assert a.violation is not None and b.violation is not None
    assert [s.label for s in a.violation.trace] == [s.label for s in b.violation.trace]
    assert (a.distinct_states, a.generated_states) == (b.distinct_states, b.generated_states)
    run = a.violation.provenance["run"]
    assert (run, a.violation.length) == (7, 11)
    # Only the run's own generator matters: the same run alone finds the same trace.
    again = simulate(build("ceil-quorum"), depth=50, runs=run + 1, seed=4)
    assert again.violation is not None
    assert [s.label for s in again.violation.trace] == [s.label for s in a.violation.trace]
    assert run_rng(4, run).random() == run_rng(4, run).random()


def test_a_correct_spec_gives_no_violation_and_says_it_was_not_exhaustive():
    result = simulate(build(), depth=40, runs=60, seed=1)
    assert result.ok and result.mode == "simulation" and result.complete is False
    assert "LeaderElected" in result.extra["reached"]
    assert result.depth <= 40 and result.distinct_states > 50


def test_shrink_keeps_the_violation_and_every_step_enabled():
    model = build("ceil-quorum")
    found = simulate(model, depth=50, runs=1000, seed=8).violation
    assert found is not None
    # Shrinking a shrunk trace changes nothing (it is minimal already).
    again = shrink(model, found.trace, "ElectionSafety")
    assert [s.label for s in again] == [s.label for s in found.trace]
    assert replays(model, again)
