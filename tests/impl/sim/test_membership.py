"""Membership changes in the simulator: add (learner, then promote), add a voter, remove.

One hand-written schedule drives a 3-node cluster through every kind of change; the
assertions pin what each step did and the configuration every member ends with, and
all checks (ghost safety with per-configuration quorums, the spec's invariants,
linearizability) pass on it.
"""

from __future__ import annotations

from typing import Any

import pytest

from quorum.conformance.runner import TLA_CHECKS, check_schedule
from quorum.conformance.steps import StepRefinementObserver, servers
from quorum.impl.sim import Schedule, SimConfig, Simulator, draw, run_schedule, tla_config


def settle(n: int) -> list[tuple[Any, ...]]:
    """``n`` steps of calm: five deliveries per tick."""
    return [("tick",) if j % 6 == 0 else ("deliver", 0) for j in range(n)]


def _steps(snapshots: bool) -> tuple[tuple[Any, ...], ...]:
    snaps = [("snap", 0), ("snap", 1), ("snap", 2)] if snapshots else []
    return tuple(settle(80) + [("op", 0, 1, 0, 1, 0)] + settle(40) + snaps + [("addl",)]
                 + settle(80) + [("promote", 0)] + settle(80) + [("op", 1, 1, 0, 2, 0)]
                 + settle(60) + [("remove", 1)] + settle(80) + [("op", 2, 1, 0, 3, 0)]
                 + settle(60) + [("addv",)] + settle(120))


def _run(snapshots: bool) -> tuple[Simulator, list[str]]:
    sched = Schedule(SimConfig(nodes=3, keys=1), _steps(snapshots), "membership")
    sim = Simulator(sched.config)
    log = [f"{ev.index} {ev.text}" for ev in (sim.step(s) for s in sched.steps)]
    return sim, log


def _lines(log: list[str], *words: str) -> list[str]:
    return [line for line in log if any(w in line for w in words)]


def test_add_promote_remove_add_voter_with_snapshots() -> None:
    sim, log = _run(snapshots=True)
    assert _lines(log, "proposes", "removed", "SNAPSHOT") == [
        "125 add learner: n1 proposes ADD_LEARNER n4",
        "158 deliver SNAPSHOT 1->4 t1 prev=0/0 n=0 c=0",  # compacted: catch-up by snapshot
        "206 promote: n1 proposes ADD_NODE n4",
        "348 remove: n1 proposes REMOVE_NODE n2",
        "362 deliver APPEND_RESP 3->1 t1 ok i=6; n2 removed and stopped",
        "490 add voter: n1 proposes ADD_NODE n5",
        "516 deliver SNAPSHOT 1->5 t1 prev=0/0 n=0 c=0",
    ]
    assert sim.live == [1, 3, 4, 5] and sim.removed == {2}
    assert not sim.nodes[2].running
    for i in sim.live:
        raw = sim.nodes[i].raw
        assert raw is not None
        assert raw.raft.tracker.voters == (1, 3, 4, 5) and raw.raft.tracker.learners == ()
        assert (raw.raft.log.last_index(), raw.raft.log.committed) == (8, 8)
        assert sim.nodes[i].kv.applied_index == 8
    # every client's write returned, and the three of them hold in the store
    assert [c.history[-1].ret is not None for c in sim.clients[:3]] == [True, True, True]


def test_new_nodes_catch_up_by_log_without_snapshots() -> None:
    sim, log = _run(snapshots=False)
    assert not _lines(log, "SNAPSHOT")
    assert [line.split(" ", 1)[1] for line in _lines(log, "proposes")] == [
        "add learner: n1 proposes ADD_LEARNER n4", "promote: n1 proposes ADD_NODE n4",
        "remove: n1 proposes REMOVE_NODE n2", "add voter: n1 proposes ADD_NODE n5"]
    for i in (4, 5):
        raw = sim.nodes[i].raw
        assert raw is not None and raw.raft.log.first_index() == 1  # the whole log, replayed
        assert raw.raft.tracker.voters == (1, 3, 4, 5)


def test_membership_schedule_passes_every_check() -> None:
    sched = Schedule(SimConfig(nodes=3, keys=1), _steps(True), "membership")
    res = check_schedule(sched)
    assert res.failure is None
    assert res.verdicts == {"safety": "ok", "invariants": "ok", "linearizability": "ok"}


def test_refused_changes_are_noops() -> None:
    # no leader yet at the first step; a second change while one is pending
    steps = (("addl",),) + tuple(settle(80)) + (("addl",), ("remove", 0))
    sim = Simulator(SimConfig(nodes=3))
    evs = [sim.step(s) for s in steps]
    assert evs[0].noop and evs[0].text == "add learner: no leader"
    assert not evs[-2].noop and evs[-1].noop
    assert "refused: a configuration change is pending" in evs[-1].text
    assert sorted(sim.nodes) == [1, 2, 3, 4]  # a refused change starts no node


def test_steps_address_the_live_nodes() -> None:
    sim = Simulator(SimConfig(nodes=4))
    assert [sim._at(k) for k in range(6)] == [1, 2, 3, 4, 1, 2]  # 1 + k mod n, as before
    sim.live = [1, 3, 4, 6]
    assert [sim._at(k) for k in range(5)] == [1, 3, 4, 6, 1]
    assert [sim._after(i) for i in (1, 2, 6)] == [3, 3, 1]


def test_churn_profile_draws_membership_changes() -> None:
    """The churn profile's membership steps, drawn and taking effect, and the voter counts
    they lead to (even ones included), over its first 20 seeds (pinned)."""
    kinds = ("addl", "addv", "promote", "remove")
    drawn = dict.fromkeys(kinds, 0)
    effective = dict.fromkeys(kinds, 0)
    sizes: set[int] = set()

    def count(sim: Simulator, ev: Any) -> None:
        if ev.step[0] in effective and not ev.noop:
            effective[ev.step[0]] += 1
            sizes.add(len(sim.live))

    for seed in range(20):
        sched = draw("churn", seed, 600)
        res = run_schedule(sched, [count], keep_log=False)
        assert res.panic is None
        for k in kinds:
            drawn[k] += sum(1 for s in sched.steps if s[0] == k)
    assert drawn == {"addl": 47, "addv": 56, "promote": 66, "remove": 79}
    assert effective == {"addl": 7, "addv": 5, "promote": 3, "remove": 7}
    assert sizes == {2, 3, 4, 5, 7}  # live nodes right after a change took effect


@pytest.mark.parametrize("snapshots", [False, True])
def test_step_refinement_validates_every_membership_change(snapshots: bool) -> None:
    """The same changes within raft.tla's vocabulary: every check passes, step refinement
    included (against quorum.spec.raft.membership with etcd's rules), and each change is
    one spec step of its kind; the spec has 5 servers (3, and one per node added)."""
    sched = Schedule(tla_config(3), _steps(snapshots), "tla + membership")
    assert check_schedule(sched, TLA_CHECKS, keep_log=False).ok
    obs = StepRefinementObserver(servers(sched))
    assert obs.n == 5 and run_schedule(sched, [obs], keep_log=False).failure is None
    assert obs.totals() == ((610, 610) if snapshots else (607, 607))
    assert all(obs.counts[k] == {"1 step": 1} for k in ("addl", "promote", "remove", "addv"))
    assert [obs.actions[a] for a in ("AddLearner", "AddServer", "RemoveServer")] == [1, 2, 1]
