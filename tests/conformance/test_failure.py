"""What a failed check reports: a Failure value naming the check, never a prefix of a string."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quorum.conformance import runner
from quorum.conformance.failure import ALL_CHECKS, Failure
from quorum.conformance.runner import check_schedule
from quorum.impl.sim import Schedule, SimConfig, generate, simulator, with_mutant
from quorum.model_checker.history.linearizability import Operation, check
from quorum.spec.kv import KVModel


def test_a_failure_prints_as_check_colon_message_then_its_details():
    f = Failure("refinement", "event 7 (tick) is no step of raft.tla: why", 7, "  pre\n  post")
    assert f.headline == "refinement: event 7 (tick) is no step of raft.tla: why"
    assert str(f) == "refinement: event 7 (tick) is no step of raft.tla: why\n  pre\n  post"
    assert str(Failure("linearizability", "the client history is not linearizable")) == (
        "linearizability: the client history is not linearizable")


def test_a_linearizability_failure_names_the_operation_and_the_end_of_the_prefix():
    writes = [Operation(0, 2 * i, 2 * i + 1, ("write", 0, i)) for i in range(12)]
    stale = Operation(1, 30, 31, ("read", 0), 0)
    f = runner._not_linearizable(check(writes + [stale], KVModel()))
    assert f.message == ("the client history is not linearizable: client 1 ('read', 0) -> 0 "
                         "[called 30, returned 31] cannot be linearized after the longest "
                         "linearizable prefix of its key (12 operations)")
    lines = f.details.splitlines()
    assert lines[0] == "longest linearizable prefix of key 0: 12 of its 13 operations, the last 10:"
    assert lines[1] == "     3. client 0 ('write', 0, 2) -> None [called 4, returned 5]"
    assert len(lines) == 12 and lines[-1].startswith("  next: client 1 ('read', 0) -> 0")


def test_a_failure_names_a_known_check_in_one_line():
    assert ALL_CHECKS == ("safety", "invariants", "refinement", "linearizability")
    with pytest.raises(ValueError, match="unknown check 'liveness'"):
        Failure("liveness", "never")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one line"):
        Failure("safety", "two\nlines")


def test_each_check_reports_its_own_failure_with_its_event():
    s = generate(0, 1500)
    res = check_schedule(replace(s, config=with_mutant(s.config, "commit-old-term")),
                         keep_log=False)
    assert res.failure == Failure("safety", "leader n2 of term 4 committed entry 16 of term 3 "
                                  "by counting (Figure 8)", 1393)
    assert res.run.failed_at == 1393
    assert res.verdicts == {"safety": "FAILED", "invariants": "ok", "linearizability": "ok"}


def test_a_node_that_panics_fails_safety_at_its_event(monkeypatch):
    tick = simulator._HANDLERS["tick"]

    def tick_then_panic(sim, *args):
        if sim.index == 5:
            raise RuntimeError("boom")
        return tick(sim, *args)

    monkeypatch.setitem(simulator._HANDLERS, "tick", tick_then_panic)
    sched = Schedule(SimConfig(nodes=3), (("tick",),) * 10)
    res = check_schedule(sched, ("invariants",), keep_log=False)
    assert res.run.panic == "RuntimeError: boom" and res.run.failed_at == 5
    assert res.failure == Failure("safety", "a node panicked: RuntimeError: boom", 5)
    assert res.verdicts == {"invariants": "ok", "safety": "FAILED"}
