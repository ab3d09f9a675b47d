"""The deterministic simulator: replay, faults, and the unmutated store passing every check."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.conformance.runner import check_schedule
from quorum.impl.sim import KINDS, Profile, Schedule, SimConfig, Simulator, generate, run_schedule


def test_same_seed_same_event_log_hash():
    a = run_schedule(generate(7, 800))
    b = run_schedule(generate(7, 800))
    assert a.hash == b.hash and a.log == b.log
    assert run_schedule(generate(8, 800)).hash != a.hash


def test_a_saved_schedule_replays_exactly():
    sched = generate(3, 600)
    again = Schedule.from_json(sched.to_json())
    assert again == sched
    assert run_schedule(again).hash == run_schedule(sched).hash


def test_generate_is_a_pure_function_of_the_seed():
    assert generate(11, 300) == generate(11, 300)
    assert generate(11, 300).steps != generate(12, 300).steps


def _steady(nodes: int = 3) -> Simulator:
    """A cluster run until every node knows the leader (ticks and deliveries only)."""
    sim = Simulator(SimConfig(nodes=nodes, seed=1))
    for _ in range(400):
        sim.step(("deliver", 0))
        if all(n.raw is not None and n.raw.raft.lead for n in sim.nodes.values()):
            return sim
    raise AssertionError("no leader elected")


def test_a_leader_is_elected_and_a_write_is_acknowledged():
    """Section 5.2 then 5.3: election, then a write committed and answered."""
    sim = _steady()
    ev = sim.step(("op", 0, 1, 0, 2))  # client 0 writes v2 to k0
    assert "calls ('write', 0, 2)" in ev.text
    for _ in range(200):
        sim.step(("deliver", 0))
        if sim.clients[0].current is None:
            break
    op = sim.clients[0].history[0]
    assert op.ret is not None and op.input == ("write", 0, 2)
    sim.step(("op", 0, 0, 0, 0))  # then a linearizable read of k0
    for _ in range(200):
        sim.step(("deliver", 0))
        if sim.clients[0].current is None:
            break
    assert sim.clients[0].history[1].output == 2


def test_a_crash_loses_only_unsynced_data():
    """Figure 2: term, vote and log are on stable storage and survive a restart."""
    sim = _steady()
    leader = next(i for i, n in sim.nodes.items() if n.raw is not None and n.raw.raft.role == 3)
    node = sim.nodes[leader]
    assert node.raw is not None
    term, vote, last = node.raw.raft.term, node.raw.raft.vote, node.raw.raft.log.last_index()
    sim.step(("crash", leader - 1, 0))
    assert not node.running
    sim.step(("restart", leader - 1))
    assert node.raw is not None
    assert (node.raw.raft.term, node.raw.raft.vote) == (term, vote)
    assert node.raw.raft.log.last_index() == last


def test_a_torn_write_is_recovered():
    """A crash armed inside the next disk operations leaves a torn tail; restart succeeds."""
    for s in range(1, 40, 2):
        sim = _steady()
        sim.step(("crash", 0, s))
        for _ in range(60):
            sim.step(("deliver", 0))
            sim.step(("op", 0, 1, 0, 1))
        sim.step(("restart", 0))
        assert sim.nodes[1].running


def test_every_fault_kind_appears_in_the_log():
    log = "\n".join(run_schedule(generate(5, 3000, SimConfig(seed=5), Profile())).log)
    for word in ("deliver", "drop", "duplicate", "delay", "partition", "cut link", "heal", "clog",
                 "crash", "restart", "snapshot", "calls", "returns", "tick"):
        assert word in log, word


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """Hypothesis strategy: any list of steps is a schedule (ints are read modulo)."""
    kinds = sorted(KINDS)
    steps = draw(st.lists(
        st.tuples(st.sampled_from(kinds), st.integers(0, 7), st.integers(0, 7),
                  st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)),
        min_size=1, max_size=300))
    nodes = draw(st.sampled_from((3, 5)))
    return Schedule(SimConfig(nodes=nodes, seed=draw(st.integers(0, 3))),
                    tuple((k, *args[:KINDS[k]]) for k, *args in steps), "hypothesis")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sched=schedules())
def test_any_schedule_runs_and_the_store_passes(tmp_path_factory, sched):
    res = check_schedule(sched, ("safety", "linearizability"), keep_log=False)
    if not res.ok:
        # Hypothesis replays the shrunk example last, so the file ends up minimal; it goes
        # to pytest's temporary folder (never the source tree): copy it into
        # tests/conformance/regressions/ to keep it
        path = tmp_path_factory.getbasetemp() / "hypothesis-latest.json"
        path.write_text(sched.to_json(expect="fail") + "\n")
        raise AssertionError(f"{res.failure}; replay: quorum sim --schedule {path}")


def test_twenty_generated_schedules_pass_every_check():
    for seed in range(20):
        res = check_schedule(generate(seed, 1200), ("safety", "linearizability"), keep_log=False)
        assert res.ok, (seed, res.failure)


def test_history_is_plain_data_ordered_by_call():
    before = random.getstate()
    r = run_schedule(generate(2, 1500))
    assert random.getstate() == before  # the simulator draws from its own seeded generators
    calls = [op["call"] for op in r.history]
    assert calls == sorted(calls) and r.history
    assert all(set(op) == {"client", "call", "ret", "input", "output"} for op in r.history)


def test_a_core_panic_is_a_failed_safety_check_at_its_event(monkeypatch):
    """A PanicError (a broken invariant of the core) stops the run as a finding: the
    'no node ever panics' part of the safety check, at the event that raised it."""
    from quorum.impl.raft.errors import PanicError
    from quorum.impl.raft.log import RaftLog

    applied_to = RaftLog.applied_to
    calls = []

    def breaks_on_the_fifth(log: RaftLog, index: int) -> None:
        calls.append(index)
        if len(calls) == 5:
            raise PanicError(f"applied index {index} is out of range (planted)")
        applied_to(log, index)
    monkeypatch.setattr(RaftLog, "applied_to", breaks_on_the_fifth)
    res = check_schedule(generate(0, 300), keep_log=True)
    assert res.verdicts["safety"] == "FAILED"
    assert res.run.failed_at == res.run.events
    assert "-> panic PanicError: applied index" in res.run.log[-1]
