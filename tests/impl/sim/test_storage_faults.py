"""Storage faults in the simulator: torn tails that read back as zeros or as a full-length
record with a bad checksum (``tear``), and a flipped bit in an older WAL record
(``corrupt``).  A torn tail is cut off at recovery; a corrupt WAL makes the node refuse to
start and stay down, which no check counts as a failure (starting from what is left of
it would be one: ``mutant-wal-skips-bad-record.json`` is caught that way)."""

from __future__ import annotations

from typing import Any

import pytest

from quorum.conformance.runner import check_schedule
from quorum.impl.sim import Schedule, SimConfig, Simulator
from quorum.impl.storage.records import scan

WAL = "/n1/wal/0000000000000000-0000000000000001.wal"


def settle(n: int) -> list[tuple[Any, ...]]:
    return [("tick",) if j % 6 == 0 else ("deliver", 0) for j in range(n)]


CORRUPT = (*settle(80), ("op", 0, 1, 0, 1, 0), *settle(30), ("op", 1, 1, 0, 2, 0),
           *settle(30), ("corrupt", 1, 12345), ("crash", 1, 0), *settle(10), ("restart", 1),
           *settle(20), ("restart", 1))


def test_a_corrupt_wal_is_refused_at_restart_and_the_node_stays_down() -> None:
    sched = Schedule(SimConfig(nodes=3, keys=1), CORRUPT, "corrupt")
    res = check_schedule(sched)
    assert res.failure is None
    assert res.verdicts == {"safety": "ok", "invariants": "ok", "linearizability": "ok"}
    lines = [line for line in res.run.log if "n2" in line and ("corrupt" in line or
                                                               "restart" in line)]
    refusal = ("refused: corrupt write-ahead log: /n2/wal/0000000000000000-0000000000000001"
               ".wal at byte 70: checksum mismatch; refusing to start")
    assert lines == ["143 corrupt n2: bit 7 of byte 90 of 0000000000000000-0000000000000001.wal",
                     f"155 restart n2 {refusal}", f"176 restart n2 {refusal}"]
    sim = Simulator(sched.config)
    for step in sched.steps:
        sim.step(step)
    node = sim.nodes[2]
    assert not node.running and node.refused is not None and "checksum mismatch" in node.refused
    # the two others carry on: both writes returned, and a majority still commits
    assert [c.history[-1].ret is not None for c in sim.clients[:2]] == [True, True]


def test_corrupt_flips_a_bit_before_the_last_record_only() -> None:
    sim = Simulator(SimConfig(nodes=1))
    records, _ = scan(sim.nodes[1].disk.read_file(WAL))
    assert [r.kind.name for r in records] == ["METADATA", "HARD_STATE"]  # a fresh WAL
    span = records[-1].offset  # the bytes a flip may hit: the last record is spared
    ev = sim.step(("corrupt", 0, span + 5))  # s wraps around the eligible bytes
    assert ev.text == "corrupt n1: bit 1 of byte 5 of 0000000000000000-0000000000000001.wal"
    assert scan(sim.nodes[1].disk.read_file(WAL))[1] is not None  # the metadata is damaged
    assert sim.step(("crash", 0, 0)).text == "crash n1"
    ev = sim.step(("restart", 0))
    assert ev.text.startswith("restart n1 refused: corrupt write-ahead log") and not ev.noop


@pytest.mark.parametrize("s,tear", [(0, "zeros"), (1, "garbled")])
def test_a_torn_tail_is_cut_off_and_the_node_restarts(s: int, tear: str) -> None:
    steps = (*settle(80), ("tear", 2, s), ("op", 0, 1, 0, 1, 0), *settle(30), ("restart", 2),
             *settle(30))
    sched = Schedule(SimConfig(nodes=3, keys=1), steps, "tear")
    res = check_schedule(sched)
    assert res.failure is None, res.failure
    assert f"81 arm a {tear} crash of n3 within 1 disk operations" in res.run.log
    assert "85 deliver APPEND 1->3 t1 prev=1/1 n=1 c=1; n3 crashed mid-write" in res.run.log
    sim = Simulator(sched.config)
    for step in steps[:85]:
        sim.step(step)
    assert sim.nodes[3].torn_tail == "checksum mismatch"  # the torn record, cut at recovery
    for step in steps[85:]:
        sim.step(step)
    assert sim.nodes[3].running and sim.nodes[3].refused is None
