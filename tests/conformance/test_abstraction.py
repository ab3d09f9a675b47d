"""The abstraction function onto quorum.spec.raft and the spec's invariants on simulated runs."""

from __future__ import annotations

from dataclasses import replace

from quorum.conformance.abstraction import Values, abstract
from quorum.conformance.runner import check_schedule
from quorum.impl.sim import SimConfig, Simulator, generate, with_mutant
from quorum.spec.raft.tla.properties import INVARIANTS
from quorum.spec.raft.tla.state import LEADER, initial_state


def test_a_fresh_cluster_is_raft_tla_init():
    for n in (3, 5):
        sim = Simulator(SimConfig(nodes=n))
        assert abstract(sim.nodes, {}, Values()) == initial_state(n)


def test_an_elected_cluster_maps_to_a_state_satisfying_every_invariant():
    sim = Simulator(SimConfig(nodes=3, seed=1))
    for _ in range(400):
        sim.step(("deliver", 0))
    s = abstract(sim.nodes, {}, Values())
    assert LEADER in s.role
    assert all(inv(s) for inv in INVARIANTS.values())
    assert min(s.current_term) >= 2  # an election happened (terms are concrete + 1)


def test_invariants_hold_on_generated_schedules():
    for seed in range(5):
        res = check_schedule(generate(seed, 1200), ("invariants",), keep_log=False)
        assert res.ok, (seed, res.failure)


def test_the_spec_invariants_catch_a_truncation_bug():
    s = generate(0, 1500)
    s = replace(s, config=with_mutant(s.config, "no-truncate"))
    res = check_schedule(s, ("invariants",), keep_log=False)
    assert res.failure is not None and res.failure.check == "invariants"
    assert res.failure.message == "LogMatching violated on the abstract state"
