"""The shared Ready loop (quorum.impl.driver) with recording ports: the order it promises."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

import pytest

from quorum.impl.driver import DONE, Driver, ReadGate, run_now
from quorum.impl.mutants import Mutant
from quorum.impl.raft import MemoryStorage
from quorum.impl.raft.types import (
    Entry,
    HardState,
    Message,
    MessageType,
    ReadState,
    Ready,
    Role,
    SoftState,
)


class Ports:
    """Records every call; the state machine is just an applied index."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.applied = 0

    def persist(self, rd: Ready) -> Awaitable[None]:
        self.calls.append(("persist", len(rd.entries)))
        return DONE

    def send(self, messages: Sequence[Message]) -> None:
        self.calls += [("send", m.type.name) for m in messages]

    def install(self, snapshot: Any) -> None:
        self.calls.append(("install",))

    def apply(self, entries: Sequence[Entry]) -> None:
        self.calls += [("apply", e.index) for e in entries]
        self.applied = entries[-1].index

    def release(self, index: int, waiter: str) -> None:
        self.calls.append(("release", waiter, index))


class Core:
    def advance(self, rd: Ready) -> None:
        self.advanced = rd


def handle(rd: Ready, mutants: frozenset[Mutant] = frozenset(),
           reads: ReadGate[str] | None = None) -> list[tuple[Any, ...]]:
    ports, core = Ports(), Core()
    driver = Driver(core, MemoryStorage(), ports, reads or ReadGate(),  # type: ignore[arg-type]
                    mutants)
    run_now(driver.handle(rd))
    assert core.advanced is rd
    return ports.calls


E1 = Entry(term=1, index=1, data=b"x")
LEADER = SoftState(leader=1, role=Role.LEADER)
APPEND = Message(MessageType.APPEND, to=2, frm=1, term=1, entries=(E1,))
ACK = Message(MessageType.APPEND_RESP, to=1, frm=2, term=1, index=1)


def test_a_follower_acknowledges_only_after_the_save_thesis_3_8():
    rd = Ready(hard_state=HardState(1, 0, 1), entries=(E1,), messages=(ACK,),
               committed_entries=(E1,), must_sync=True)
    assert handle(rd) == [("persist", 1), ("apply", 1), ("send", "APPEND_RESP")]


def test_a_leader_sends_appendentries_before_its_own_fsync_thesis_10_2_1():
    rd = Ready(soft_state=LEADER, hard_state=HardState(1, 1, 0), entries=(E1,),
               messages=(ACK, APPEND), must_sync=True)
    assert handle(rd) == [("send", "APPEND"), ("persist", 1), ("send", "APPEND_RESP")]
    no_fsync = Ready(soft_state=LEADER, hard_state=HardState(1, 1, 1), messages=(ACK, APPEND))
    assert handle(no_fsync) == [("persist", 0), ("send", "APPEND_RESP"), ("send", "APPEND")]


def test_reads_wait_until_their_index_is_applied_thesis_6_4():
    reads: ReadGate[str] = ReadGate()
    reads.expect(b"r1", "first")
    reads.expect(b"r2", "second")
    rd = Ready(read_states=(ReadState(1, b"r2"), ReadState(2, b"r1"), ReadState(1, b"other")))
    assert handle(rd, reads=reads) == []
    assert not reads.unanswered(b"r1") and len(reads) == 2
    rd = Ready(committed_entries=(E1,), read_states=(ReadState(5, b"r1"),))  # first answer counts
    assert handle(rd, reads=reads) == [("apply", 1), ("release", "second", 1)]
    assert reads.forget(b"r1") == "first" and reads.forget(b"r1") is None


def test_the_two_driver_mutants_break_exactly_their_rule():
    rd = Ready(hard_state=HardState(1, 0, 1), entries=(E1,), messages=(ACK,), must_sync=True)
    assert handle(rd, frozenset({Mutant.REPLY_BEFORE_FSYNC}))[0] == ("send", "APPEND_RESP")
    reads: ReadGate[str] = ReadGate()
    reads.expect(b"r", "read")
    rd = Ready(read_states=(ReadState(7, b"r"),))
    assert handle(rd, frozenset({Mutant.EARLY_READ_RELEASE}), reads) == [("release", "read", 7)]


def test_a_synchronous_driver_refuses_a_loop_that_waits():
    class Later:
        def __await__(self):
            yield None

    async def waits() -> None:
        await Later()

    with pytest.raises(RuntimeError, match="waited for something"):
        run_now(waits())
