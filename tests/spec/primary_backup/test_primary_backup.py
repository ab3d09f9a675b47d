"""Primary-backup: the verdicts issue 8 asks for, each pinned with its counts and trace,
and the actions one by one (Budhiraja et al. 1993; VR Revisited section 4.2 for the
log a new primary takes; Raft's ReadIndex, Ongaro's thesis section 6.4, for reads)."""

from __future__ import annotations

from functools import partial

import pytest

from helpers.specs import build as build_spec
from helpers.specs import reachable
from quorum.model_checker.explicit.bfs import check
from quorum.spec.common import ConfigError
from quorum.spec.primary_backup import SPEC
from quorum.spec.primary_backup import spec as pb
from quorum.spec.primary_backup.config import ASYNC, SYNC, SYNC_MAJORITY, Config, from_values
from quorum.spec.primary_backup.properties import no_lost_write, no_split_brain

build = partial(build_spec, SPEC)


# flags -> (violated property or None, distinct states, depth (a violation: its trace length),
#           actions of the shortest trace)
VERDICTS = {
    "async": ({"mode": "async"}, "NoLostWrite", 7, 3, [
        "Init", "ClientWrite(p='n1', w='w1')", "Promote(b='n2')"]),
    "sync": ({"mode": "sync"}, None, 376, 9, []),
    "sync-no-fencing": ({"mode": "sync", "fencing": False}, "NoSplitBrain", 102, 5, [
        "Init", "ClientWrite(p='n1', w='w1')", "DropBackup(p='n1', q='n2')", "Promote(b='n2')",
        "Replicate(p='n1', q='n3')"]),
    "sync-majority": ({"mode": "sync-majority"}, None, 362, 7, []),
    "sync-majority-local-reads": ({"mode": "sync-majority", "reads": "local"},
                                  "ReadsSeeLatestAck", 197, 5, [
        "Init", "Promote(b='n2', joined=('n2', 'n3'))", "ClientWrite(p='n2', w='w1')",
        "Replicate(p='n2', q='n3')", "Read(p='n1', result=())"]),
    "sync-majority-no-fencing": ({"mode": "sync-majority", "fencing": False}, "NoSplitBrain",
                                 22, 4, [
        "Init", "ClientWrite(p='n1', w='w1')", "Promote(b='n2')", "Replicate(p='n1', q='n3')"]),
    "sync-local-reads": ({"mode": "sync", "reads": "local"}, None, 376, 9, []),
}


@pytest.mark.parametrize("case", sorted(VERDICTS))
def test_expected_verdict(case):
    flags, prop, distinct, depth, actions = VERDICTS[case]
    result = check(build(**flags))
    assert (result.distinct_states, result.depth) == (distinct, depth)
    if prop is None:
        assert result.ok
    else:
        assert result.violation.property == prop
        assert [s.action for s in result.violation.trace] == actions


def test_async_split_brain_also_at_depth_two():
    # Async has both faults at the same depth; the lost write is found first in BFS order.
    result = check(build(mode="async"), properties=["NoSplitBrain"])
    assert [s.action for s in result.violation.trace] == [
        "Init", "Promote(b='n2')", "ClientWrite(p='n1', w='w1')"]


@pytest.mark.parametrize("mode,down,available,distinct", [
    ("async", "primary", True, 19), ("async", "backup", True, 60),
    ("sync", "primary", False, 19), ("sync", "backup", False, 39),
    ("sync-majority", "primary", True, 19), ("sync-majority", "backup", True, 26),
])
def test_one_node_down(mode, down, available, distinct):
    # Fenced sync waits for every node, so with one down no write is ever acknowledged.
    result = check(build(mode=mode, down=down), properties=["WriteAcknowledged"])
    assert result.ok is available and result.distinct_states == distinct
    if not available:
        assert (result.violation.kind, result.violation.property) == (
            "unreached", "WriteAcknowledged")


def test_unfenced_sync_stays_available_by_dropping_the_dead_backup():
    result = check(build(mode="sync", fencing=False, down="backup"),
                   properties=["WriteAcknowledged"])
    assert result.ok


def test_symmetry_counts_exact_orbits():
    full, sym = build(), build(symmetry=True)
    orbits = {sym.canonicalize(s) for s in reachable(full)}
    result = check(sym)
    assert result.ok and result.distinct_states == len(orbits) == 191


def test_every_reachable_safe_state_of_sync_majority_keeps_both_invariants():
    states = reachable(build(mode="sync-majority"))
    assert len(states) == 362
    assert all(no_lost_write(s) and no_split_brain(s) for s in states)
    assert any(max(s.epoch) == 1 and s.acked for s in states)


@pytest.mark.slow
@pytest.mark.parametrize("flags,distinct", [
    ({"mode": "sync-majority", "failovers": 2, "writes": 3}, 9266),
    ({"mode": "sync", "failovers": 2, "writes": 3}, 12624),
    ({"mode": "sync-majority", "nodes": 4, "failovers": 2}, 31605),
])
def test_fenced_modes_stay_safe_with_more_failovers(flags, distinct):
    result = check(build(**flags))
    assert result.ok and result.distinct_states == distinct


# -- the actions, one by one -------------------------------------------------------------
def cfg(**kw: object) -> Config:
    return Config(**kw)  # type: ignore[arg-type]


def steps(gen) -> list:
    return list(gen)


def test_acknowledged_length_by_mode():
    s = pb.initial_state(cfg())._replace(log=((1, 2), (1,), ()),
                                         match=((2, 1, 0), (0, 0, 0), (0, 0, 0)))
    assert pb.acknowledged_length(cfg(mode=ASYNC), s, 0) == 2
    assert pb.acknowledged_length(cfg(mode=SYNC), s, 0) == 0  # n3 has confirmed nothing
    assert pb.acknowledged_length(cfg(mode=SYNC_MAJORITY), s, 0) == 1  # n1 and n2 have w1


def test_client_write_acknowledges_at_once_only_in_async():
    for mode, acked in ((ASYNC, {(0, (1,))}), (SYNC, set()), (SYNC_MAJORITY, set())):
        c = cfg(mode=mode)
        [(label, t)] = steps(pb.client_write(c, pb.initial_state(c), 0))
        assert label == ("ClientWrite", (("p", "n1"), ("w", "w1")))
        assert t.log[0] == (1,) and t.writes == 1 and t.acked == acked


def test_no_write_beyond_the_bound_and_none_by_a_backup():
    c = cfg(writes=1)
    s = pb.initial_state(c)._replace(writes=1)
    assert steps(pb.client_write(c, s, 0)) == []
    assert steps(pb.client_write(c, pb.initial_state(c), 1)) == []


def test_replicate_copies_the_log_and_sync_acknowledges_after_every_backup():
    c = cfg(mode=SYNC)
    [(_, s)] = steps(pb.client_write(c, pb.initial_state(c), 0))
    [(_, s)] = steps(pb.replicate(c, s, 0, 1))
    assert s.log[1] == (1,) and s.match[0] == (1, 1, 0) and not s.acked
    [(label, s)] = steps(pb.replicate(c, s, 0, 2))
    assert label == ("Replicate", (("p", "n1"), ("q", "n3")))
    assert s.acked == {(0, (1,))}
    assert steps(pb.replicate(c, s, 0, 2)) == []  # nothing left to send: no self-loop


def test_fencing_refuses_an_older_epoch_and_the_old_primary_steps_down():
    c = cfg(mode=SYNC)
    [(_, s)] = steps(pb.promote(c, pb.initial_state(c), 1))
    assert s.role == (pb.PRIMARY, pb.PRIMARY, pb.BACKUP) and s.epoch == (0, 1, 0)
    [(label, t)] = steps(pb.replicate(c, s, 0, 1))
    assert label == ("StepDown", (("p", "n1"), ("by", "n2")))
    assert t.role == (pb.BACKUP, pb.PRIMARY, pb.BACKUP) and t.epoch == (1, 1, 0)


def test_without_fencing_a_primary_ignores_another_primary():
    c = cfg(mode=SYNC, fencing=False)
    [(_, s)] = steps(pb.promote(c, pb.initial_state(c), 1))
    assert steps(pb.replicate(c, s, 0, 1)) == []
    assert s.view[1] == 0b110  # the new primary stops waiting for the suspected n1


def test_drop_backup_only_unfenced_sync_and_never_the_last_backup():
    c = cfg(mode=SYNC, fencing=False)
    s = pb.initial_state(c)
    [(_, t)] = steps(pb.drop_backup(c, s, 0, 1))
    assert t.view[0] == 0b101
    assert steps(pb.drop_backup(c, t, 0, 2)) == []
    for other in (cfg(mode=SYNC), cfg(mode=SYNC_MAJORITY, fencing=False)):
        assert steps(pb.drop_backup(other, pb.initial_state(other), 0, 1)) == []


def test_majority_promotion_takes_the_most_recent_log_of_those_who_joined():
    # VR Revisited 4.2: the log of the latest epoch wins, then the longest.
    c = cfg(mode=SYNC_MAJORITY)
    s = pb.initial_state(c)._replace(log=((1, 2), (), (1,)))
    promoted = {dict(lab[1])["joined"]: t for lab, t in pb.promote(c, s, 1)}
    assert sorted(promoted) == [("n1", "n2"), ("n1", "n2", "n3"), ("n2", "n3")]
    assert promoted[("n2", "n3")].log[1] == (1,)
    assert promoted[("n1", "n2")].log[1] == (1, 2)
    assert promoted[("n1", "n2")].role == (pb.BACKUP, pb.PRIMARY, pb.BACKUP)  # n1 fenced
    assert promoted[("n2", "n3")].epoch == (0, 1, 1)


def test_failover_manager_promotes_only_the_most_recent_backup():
    c = cfg(mode=SYNC)
    s = pb.initial_state(c)._replace(log=((1,), (), (1,)))
    assert steps(pb.promote(c, s, 1)) == []
    assert len(steps(pb.promote(c, s, 2))) == 1


def test_no_promotion_beyond_the_failover_bound_or_of_a_down_node():
    c = cfg(failovers=0)
    assert steps(pb.promote(c, pb.initial_state(c), 1)) == []
    c = cfg(down=1)
    assert steps(pb.promote(c, pb.initial_state(c), 1)) == []


def test_quorum_read_blocks_once_deposed_but_a_local_read_answers():
    quorum, local = cfg(mode=SYNC_MAJORITY), cfg(mode=SYNC_MAJORITY, reads=1)
    s = pb.initial_state(quorum)._replace(epoch=(0, 1, 1), role=(pb.PRIMARY, pb.PRIMARY, 0))
    assert steps(pb.read(quorum, s, 0)) == []
    assert steps(pb.read(local, s, 0)) == [(("Read", (("p", "n1"), ("result", ()))), s)]
    assert len(steps(pb.read(quorum, s, 1))) == 1


@pytest.mark.parametrize("values,message", [
    ({"nodes": 1}, "--nodes must be between 2 and 5, got 1"),
    ({"writes": 0}, "--writes must be between 1 and 4, got 0"),
    ({"mode": "semi"}, "--mode must be one of async, sync, sync-majority, got 'semi'"),
    ({"reads": "lease"}, "--reads must be one of quorum, local, got 'lease'"),
])
def test_bad_values_are_config_errors(values, message):
    merged = SPEC.defaults()
    merged.update(values)
    with pytest.raises(ConfigError, match=message):
        from_values(merged)


def test_unknown_mutants_are_refused():
    with pytest.raises(ConfigError, match="no mutant .x."):
        SPEC.build(SPEC.defaults(), "x", False)


def test_states_hold_only_ints():
    def ints(x: object) -> bool:
        if isinstance(x, (tuple, frozenset)):
            return all(ints(e) for e in x)
        return type(x) is int

    assert all(ints(s) for s in reachable(build(mode="sync", fencing=False)))


def test_ceil_majority_mutant_loses_a_write_with_four_nodes():
    # The tutorial's ceil(n/2): {n1, n2} acknowledge w1, the disjoint {n3, n4} elect n3.
    model = SPEC.build(SPEC.defaults("ceil-majority"), "ceil-majority", False)
    result = check(model)
    assert model.cfg.majority == 2 and (result.distinct_states, result.depth) == (141, 4)
    assert result.violation.property == SPEC.mutants["ceil-majority"].expect == "NoLostWrite"
    assert [s.action for s in result.violation.trace] == [
        "Init", "ClientWrite(p='n1', w='w1')", "Replicate(p='n1', q='n2')",
        "Promote(b='n3', joined=('n3', 'n4'))"]


def test_floor_majority_with_four_nodes_is_safe():
    result = check(build(nodes=4, mode="sync-majority"))
    assert result.ok and result.distinct_states == 2580
