"""The central coordinator: the verdicts issue 8 asks for, pinned with counts and traces,
and the actions one by one."""

from __future__ import annotations

from functools import partial

import pytest

from helpers.specs import build as build_spec
from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.explicit.liveness import check_liveness
from quorum.spec.central import SPEC, costs
from quorum.spec.central import spec as cs
from quorum.spec.central.config import Config
from quorum.spec.common import ConfigError

build = partial(build_spec, SPEC)


# flags, properties checked (None: all) -> violated property, distinct, depth, trace actions
VERDICTS = {
    "alone": ({}, None, None, 42, 7, []),
    "standby": ({"standby": True}, None, "OneCoordinator", 4, 2,
                ["Init", "Takeover(c='c2')"]),
    "standby-fencing": ({"standby": True, "fencing": True}, None, None, 747, 9, []),
    "standby-loses-a-write": ({"standby": True}, ["NoLostWrite"], "NoLostWrite", 45, 4, [
        "Init", "Takeover(c='c2')", "Order(c='c1', w='w1')", "Order(c='c2', w='w2')"]),
    "standby-replicas-diverge": ({"standby": True}, ["ReplicasFollowLog"],
                                 "ReplicasFollowLog", 110, 5, [
        "Init", "Takeover(c='c2')", "Order(c='c1', w='w1')", "Apply(c='c1', r='r1')",
        "Order(c='c2', w='w2')"]),
}


@pytest.mark.parametrize("case", sorted(VERDICTS))
def test_expected_verdict(case):
    flags, props, prop, distinct, depth, actions = VERDICTS[case]
    result = check(build(**flags), properties=props)
    assert (result.distinct_states, result.depth) == (distinct, depth)
    if prop is None:
        assert result.ok
    else:
        assert result.violation.property == prop
        assert [s.action for s in result.violation.trace] == actions


@pytest.mark.parametrize("flags,available,distinct", [
    ({"down": "coordinator"}, False, 1),
    ({"down": "replica"}, True, 18),
    ({"down": "coordinator", "standby": True, "fencing": True}, True, 119),
    ({"down": "replica", "standby": True, "fencing": True}, True, 217),
])
def test_availability_with_one_node_down(flags, available, distinct):
    # Alone, a coordinator that is down acknowledges nothing: a single point of unavailability.
    result = check(build(**flags), properties=["WriteAcknowledged"])
    assert result.ok is available and result.distinct_states == distinct


# -- availability as liveness: EveryWriteAcknowledged under weak fairness (issue 8) ------------
# flags -> holds, distinct, generated, lasso actions (None: holds), stutters in state
LIVENESS = {
    "alone, crash and restart": ({}, 42, 71, None),
    "alone, replica down": ({"down": "replica"}, 18, 25, None),
    "alone, coordinator down": ({"down": "coordinator"}, 1, 1, ["Init"]),
    "fenced standby, coordinator down": (
        {"standby": True, "fencing": True, "down": "coordinator", "crashes": 0}, 30, 55, None),
    "fenced standby, coordinator down, standby crashes, 2 failovers": (
        {"standby": True, "fencing": True, "down": "coordinator", "failovers": 2}, 194, 350,
        None),
    "fenced standby, coordinator down, standby crashes, 1 failover": (
        {"standby": True, "fencing": True, "down": "coordinator"}, 119, 169,
        ["Init", "Takeover(c='c2', suspect='down')", "Crash(c='c2')", "Restart(c='c2')"]),
    "fenced standby, false suspicion then a crash, 1 failover": (
        {"standby": True, "fencing": True}, 747, 1872,
        ["Init", "Takeover(c='c2')", "StepDown(c='c1', by='log')", "Crash(c='c2')",
         "Restart(c='c2')"]),
}


@pytest.mark.parametrize("case", sorted(LIVENESS))
def test_liveness_verdict(case):
    flags, distinct, generated, lasso = LIVENESS[case]
    result = check_liveness(build(**flags))
    assert (result.distinct_states, result.generated_states) == (distinct, generated)
    assert result.properties_checked == ("EveryWriteAcknowledged",)
    if lasso is None:
        assert result.ok
    else:
        v = result.violation
        assert v.kind == "liveness" and v.property == "EveryWriteAcknowledged"
        assert [s.action for s in v.trace] == lasso
        assert v.provenance == {"stutters_in_state": len(lasso)}


def test_without_fairness_even_a_running_coordinator_may_idle_forever():
    result = check_liveness(build(), fairness=False)
    assert [s.action for s in result.violation.trace] == ["Init"]


def test_false_suspicion_and_crash_are_not_fair():
    [(_, fair)] = build(standby=True).fairness
    assert fair(("Takeover", (("c", "c2"),))) is None
    assert fair(("Crash", (("c", "c1"),))) is None
    down = ("Takeover", (("c", "c2"), ("suspect", "down")))
    assert fair(down) == down and fair(("Restart", (("c", "c1"),))) is not None


def test_takeover_label_says_whether_the_suspicion_is_right():
    c = Config(standby=True)
    [(label, _)] = cs.takeover(c, cs.initial_state(c), 1)
    assert label == ("Takeover", (("c", "c2"),))
    [(_, s)] = cs.crash(c, cs.initial_state(c), 0)
    [(label, _)] = cs.takeover(c, s, 1)
    assert label == ("Takeover", (("c", "c2"), ("suspect", "down")))


@pytest.mark.slow
def test_fenced_standby_safe_with_more_takeovers_crashes_and_writes():
    result = check(build(standby=True, fencing=True, failovers=2, crashes=2, writes=3))
    assert result.ok and result.distinct_states == 17009


# -- the actions ---------------------------------------------------------------------------
def test_order_writes_the_durable_log_and_acknowledges():
    c = Config()
    [(label, t)] = cs.order(c, cs.initial_state(c), 0)
    assert label == ("Order", (("c", "c1"), ("w", "w1")))
    assert t.store == (1,) and t.memory[0] == (1,) and t.acked == {1}


def test_crash_loses_memory_not_the_log_and_restart_reloads_it():
    c = Config()
    [(_, s)] = cs.order(c, cs.initial_state(c), 0)
    [(_, s)] = cs.crash(c, s, 0)
    assert s.up == (0,) and s.memory == ((),) and s.store == (1,)
    assert list(cs.order(c, s, 0)) == [] and list(cs.crash(c, s, 0)) == []
    [(_, s)] = cs.restart(c, s, 0)
    assert s.up == (1,) and s.active == (1,) and s.memory == ((1,),)


def test_restart_with_a_standby_comes_back_as_standby():
    c = Config(standby=True)
    [(_, s)] = cs.crash(c, cs.initial_state(c), 0)
    [(_, s)] = cs.restart(c, s, 0)
    assert s.up == (1, 1) and s.active == (0, 0)


def test_fenced_takeover_makes_the_old_coordinator_step_down():
    c = Config(standby=True, fencing=True)
    [(_, s)] = cs.takeover(c, cs.initial_state(c), 1)
    assert s.active == (1, 1) and s.epoch == (0, 1) and s.store_epoch == 1
    assert not cs.writable(c, s, 0) and cs.writable(c, s, 1)
    [(label, t)] = cs.order(c, s, 0)
    assert label == ("StepDown", (("c", "c1"), ("by", "log"))) and t.active == (0, 1)


def test_fenced_replica_refuses_an_older_coordinator():
    c = Config(standby=True, fencing=True)
    [(_, s)] = cs.takeover(c, cs.initial_state(c), 1)
    [(_, s)] = cs.order(c, s, 1)
    [(_, s)] = cs.apply(c, s, 1, 0)
    assert s.replica[0] == (1,) and s.replica_epoch == (1, 0)
    [(label, _)] = cs.apply(c, s, 0, 0)
    assert label[0] == "StepDown"


def test_no_takeover_without_a_standby_or_beyond_the_bound():
    assert list(cs.takeover(Config(), cs.initial_state(Config()), 0)) == []
    c = Config(standby=True, failovers=0)
    assert list(cs.takeover(c, cs.initial_state(c), 1)) == []


def test_costs_put_the_shared_log_one_round_trip_away():
    assert costs(Config())["Order"] == (0, 0)
    assert costs(Config(standby=True))["Order"] == (2, 1)


@pytest.mark.parametrize("values,message", [
    ({"replicas": 0}, "--replicas must be between 1 and 4, got 0"),
    ({"crashes": 9}, "--crashes must be between 0 and 3, got 9"),
    ({"down": "store"}, "--down must be one of none, coordinator, replica, got 'store'"),
])
def test_bad_values_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        build(**values)


def test_symmetry_over_replicas_counts_exact_orbits():
    full = build(standby=True, fencing=True)
    sym = SPEC.build({**SPEC.defaults(), "standby": True, "fencing": True}, None, True)
    seen, todo = set(full.initial_states()), list(full.initial_states())
    while todo:
        for _, t in full.successors(todo.pop()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    result = check(sym)
    assert result.ok and result.symmetry
    assert result.distinct_states == len({sym.canonicalize(s) for s in seen}) == 482
    assert len(seen) == 747


@pytest.mark.parametrize("argv,code", [
    ([], 0), (["--down", "coordinator"], 1),
    (["--standby", "--fencing", "--down", "coordinator", "--failovers", "2"], 0),
])
def test_check_liveness_exit_codes(argv, code, capsys):
    from quorum.cli import main

    assert main(["check", "central", "--liveness", "--quiet", *argv]) == code
    out = capsys.readouterr().out
    assert ("lasso" in out) is (code == 1)
