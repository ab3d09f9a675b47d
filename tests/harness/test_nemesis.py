"""The nemesis's seeded schedule and its count of faults, without processes."""

from __future__ import annotations

import threading
from pathlib import Path

from quorum.harness.nemesis import KINDS, Event, Fault, Nemesis, schedule
from quorum.harness.processes import Cluster


def test_every_kind_comes_first_then_random_kinds_fill_the_duration() -> None:
    faults = schedule(KINDS, 40.0, seed=0)
    assert sorted(f.kind for f in faults[:4]) == sorted(KINDS)
    total = sum(f.hold + f.gap + (2.0 if f.kind in ("restart", "member") else 0.0)
                for f in faults)
    assert total >= 40.0
    assert total - (faults[-1].hold + faults[-1].gap + 2.0) < 40.0
    assert all(f.hold == 0.0 for f in faults if f.kind in ("restart", "member"))
    assert all(1.0 <= f.hold <= 3.0 for f in faults if f.kind in ("kill", "pause"))


def test_the_schedule_is_a_function_of_the_seed() -> None:
    assert schedule(KINDS, 30.0, seed=4) == schedule(KINDS, 30.0, seed=4)
    assert schedule(KINDS, 30.0, seed=4) != schedule(KINDS, 30.0, seed=5)
    # pinned: the first faults of seed 0
    assert [f.kind for f in schedule(KINDS, 30.0, seed=0)][:6] == PINNED
    assert schedule((), 30.0, seed=0) == []
    assert {f.kind for f in schedule(("pause",), 10.0, seed=1)} == {"pause"}


PINNED = ["restart", "member", "kill", "pause", "restart", "kill"]


def test_faults_are_counted_from_the_events_that_took_effect(tmp_path: Path) -> None:
    n = Nemesis(Cluster(tmp_path, 3), [Fault("kill", True, 1.0, 1.0)], lambda: 0.0, 0,
                threading.Event())
    n.events = [Event(1.0, "kill", "start", "n1"), Event(2.0, "kill", "end", "n1"),
                Event(3.0, "pause", "start", "n2"), Event(4.0, "pause", "end", "n2"),
                Event(5.0, "member", "remove", "n3"), Event(5.5, "member", "add", "n4"),
                Event(6.0, "member", "remove", "n4", ok=False, detail="UNAVAILABLE"),
                Event(7.0, "restart", "start", "n1"), Event(8.0, "heal", "end", "")]
    assert n.counts() == {"kill": 1, "pause": 1, "restart": 1, "member": 1}
    assert n.records()[6] == {"t": 6.0, "kind": "member", "phase": "remove", "member": "n4",
                              "ok": False, "detail": "UNAVAILABLE"}
