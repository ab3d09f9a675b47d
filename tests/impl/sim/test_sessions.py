"""A duplicated forwarded proposal (the network's ``dup`` of a PROPOSE) executes once.

The scenario is the anomaly the simulator first found: client 0's compare-and-swap is
forwarded by a follower, the network duplicates the PROPOSE, the first copy is applied
(the CAS fails, the client is told ``False``), another client writes the expected value,
and then the second copy arrives.  Without client sessions (the ``no-sessions`` driver
mutant) the second copy swaps, and the linearizability check must catch it; with them
(Raft thesis 6.3) the store answers the second copy from its session table.
"""

from __future__ import annotations

from typing import Any

from quorum.conformance.runner import check_schedule
from quorum.impl.mutants import Mutant
from quorum.impl.raft.types import MessageType
from quorum.impl.sim import Schedule, SimConfig, Simulator, with_mutant

BASE = SimConfig(nodes=3, seed=1)


class _Driver:
    """Chooses steps by looking at a live simulator, and records them as a schedule."""

    def __init__(self, cfg: SimConfig) -> None:
        self.sim = Simulator(cfg)
        self.steps: list[tuple[Any, ...]] = []
        self.held_back: Any = None

    def do(self, *step: Any) -> str:
        self.steps.append(step)
        return self.sim.step(step).text

    def settle(self, until: Any) -> None:
        """Deliver (never the held-back copy) until ``until()``; bounded."""
        for _ in range(500):
            if until():
                return
            free = [p for p, m in enumerate(self.sim.inflight) if m is not self.held_back]
            if free:
                self.do("deliver", free[0])
            else:
                self.do("tick")
        raise AssertionError("did not settle")

    def idle(self, c: int) -> Any:
        return lambda: self.sim.clients[c].current is None


def _scenario(cfg: SimConfig) -> tuple[Schedule, Simulator]:
    d = _Driver(cfg)
    sim = d.sim
    d.settle(lambda: all(n.raw is not None and n.raw.raft.lead for n in sim.nodes.values()))
    leader = next(iter(sim.nodes.values())).raw.raft.lead  # type: ignore[union-attr]
    follower = 1 + leader % cfg.nodes
    d.do("op", 0, 1, 0, 0, leader)  # c0 writes v0 to k0
    d.settle(d.idle(0))
    d.do("op", 0, 2, 0, 1, follower)  # c0: cas k0 v1 -> v2, forwarded by the follower
    p = next(p for p, m in enumerate(sim.inflight) if m.type is MessageType.PROPOSE)
    propose = sim.inflight[p]
    assert "duplicate PROPOSE" in d.do("dup", p)
    d.do("deliver", p)  # the first copy; the second (the same object) is held back
    d.held_back = propose
    d.settle(d.idle(0))
    assert sim.clients[0].history[-1].output is False  # k0 was v0
    d.do("op", 1, 1, 0, 1, leader)  # c1 writes v1 to k0
    d.settle(d.idle(1))
    d.do("deliver", next(p for p, m in enumerate(sim.inflight) if m is d.held_back))
    d.held_back = None
    d.settle(lambda: not sim.inflight)
    d.do("op", 1, 0, 0, 0, leader)  # c1 reads k0
    d.settle(d.idle(1))
    return Schedule(config=cfg, steps=tuple(d.steps)), sim


def test_a_duplicated_cas_proposal_executes_once_and_the_history_is_linearizable() -> None:
    sched, sim = _scenario(BASE)
    assert sim.clients[1].history[-1].output == 1  # the late copy did not swap
    assert sum(n.kv.sessions.hits for n in sim.nodes.values()) == 3  # once per replica
    res = check_schedule(sched, keep_log=False)
    assert res.ok, res.failure
    again = Schedule.from_json(sched.to_json())
    assert check_schedule(again, keep_log=False).run.hash == res.run.hash


def test_without_sessions_the_duplicate_swaps_and_linearizability_fails() -> None:
    cfg = with_mutant(BASE, Mutant.NO_SESSIONS)
    sched, sim = _scenario(cfg)
    assert sim.clients[1].history[-1].output == 2  # the CAS said False, yet it swapped
    res = check_schedule(sched, keep_log=False)
    assert res.failed and res.failure is not None
    assert res.failure.check == "linearizability", res.failure
    # the failure names the read that sees the swap (extending the message it had before)
    assert res.failure.message == (
        "the client history is not linearizable: client 1 ('read', 0) -> 2 [called 61, "
        "returned 64] cannot be linearized after the longest linearizable prefix of its key "
        "(3 operations)")
    assert res.failure.details == (
        "longest linearizable prefix of key 0: 3 of its 4 operations:\n"
        "     1. client 0 ('write', 0, 0) -> None [called 19, returned 25]\n"
        "     2. client 0 ('cas', 0, 1, 2) -> False [called 26, returned 39]\n"
        "     3. client 1 ('write', 0, 1) -> None [called 40, returned 46]\n"
        "  next: client 1 ('read', 0) -> 2 [called 61, returned 64], which no extension of "
        "that prefix can linearize")
