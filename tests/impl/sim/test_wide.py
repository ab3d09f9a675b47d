"""The wide profile (generate_wide): even and single-node clusters, leader partitions,
snapshots by new leaders, leadership transfers (thesis 3.10) and client retries (thesis 6.3)."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.conformance.runner import check_schedule
from quorum.impl.sim import (
    KINDS,
    Schedule,
    SimConfig,
    generate,
    generate_tla,
    generate_wide,
    run_schedule,
)
from quorum.impl.sim.schedule import WIDE_WEIGHTS

NEW_KINDS = set(WIDE_WEIGHTS)


def test_generate_wide_is_a_pure_function_of_the_seed():
    assert generate_wide(7, 500) == generate_wide(7, 500)
    assert generate_wide(7, 500).steps != generate_wide(8, 500).steps
    assert generate_wide(7, 500).origin == "wide seed 7"


def test_wide_draws_every_cluster_size_from_one_to_seven():
    sizes = Counter(generate_wide(seed, 1).config.nodes for seed in range(200))
    assert set(sizes) == {1, 2, 3, 4, 5, 6, 7}


def test_only_the_wide_profile_draws_the_new_kinds():
    for seed in range(20):
        assert not NEW_KINDS & {s[0] for s in generate(seed, 1500).steps}
        assert not NEW_KINDS & {s[0] for s in generate_tla(seed, 1500).steps}
    drawn = {s[0] for seed in range(20) for s in generate_wide(seed, 1500).steps}
    assert NEW_KINDS <= drawn


def test_every_wide_step_takes_effect_somewhere():
    log = "\n".join(line for seed in range(10)
                    for line in run_schedule(generate_wide(seed, 1500)).log)
    for words in ("leader partition [", "leader snapshot", "transfer leadership n", " retries "):
        assert words in log, words


def test_twenty_wide_schedules_pass_every_check():
    for seed in range(20):
        res = check_schedule(generate_wide(seed, 1500), keep_log=False)
        assert res.ok, (seed, res.failure)


@st.composite
def wide_schedules(draw: st.DrawFn) -> Schedule:
    """Any list of steps over any cluster size of the wide profile (what the shrinker tries)."""
    kinds = sorted(KINDS)
    steps = draw(st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(0, 7), st.integers(0, 7),
                  st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)),
        min_size=1, max_size=300))
    nodes = draw(st.integers(1, 7))
    return Schedule(SimConfig(nodes=nodes, keys=1, values=5, seed=draw(st.integers(0, 3))),
                    tuple((k, *args[:KINDS[k]]) for k, *args in steps), "hypothesis")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sched=wide_schedules())
def test_any_wide_schedule_runs_and_the_store_passes(sched):
    res = check_schedule(sched, ("safety", "linearizability"), keep_log=False)
    assert res.ok, res.failure
