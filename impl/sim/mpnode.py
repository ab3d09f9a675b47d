"""One simulated member running the Multi-Paxos core (``quorum sim --protocol multipaxos``).

The same member as :class:`~quorum.impl.sim.node.SimNode` with the other core: the real
:class:`~quorum.impl.multipaxos.MultiPaxosNode`, the real WAL
(:class:`~quorum.impl.storage.DiskStorage`) on a crashable
:class:`~quorum.impl.storage.MemoryDisk`, the real :class:`~quorum.impl.kv.KVStore`, and the
one Ready loop both drivers run (:class:`quorum.impl.driver.Driver`: persist, then send,
apply only chosen slots, release reads once applied).  The core keeps its own log, so the
loop gets no ``MemoryStorage`` mirror; a leader's ACCEPTs may leave before its own fsync.
It has no snapshots and no membership changes: the simulator refuses those steps.

``driver_mutants`` are the Ready loop's bugs (they apply to either core).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from quorum.impl.driver import DONE, Driver, ReadGate, run_now
from quorum.impl.kv import KVStore, Range
from quorum.impl.multipaxos import Message, MessageType, MultiPaxosConfig, MultiPaxosNode
from quorum.impl.multipaxos import Ready as MPReady
from quorum.impl.mutants import Mutant
from quorum.impl.raft.types import Entry, HardState, Role, Snapshot
from quorum.impl.storage import DiskStorage, MemoryDisk, SimulatedCrash, StorageError, recover

from .node import Completion, PendingRead

__all__ = ["MPSimNode"]


@dataclass
class MPSimNode:
    id: int
    voters: tuple[int, ...]
    config: MultiPaxosConfig
    storage_mutants: frozenset[Mutant] = frozenset()
    driver_mutants: frozenset[Mutant] = frozenset()
    disk: MemoryDisk = field(default_factory=MemoryDisk)
    running: bool = False
    raw: MultiPaxosNode | None = None
    driver: Driver[PendingRead] | None = None
    store: DiskStorage | None = None
    kv: KVStore = field(default_factory=KVStore)
    send: Callable[[Message], None] = field(default=lambda m: None, repr=False)
    done: Callable[[Completion], None] = field(default=lambda c: None, repr=False)
    reads: ReadGate[PendingRead] = field(default_factory=ReadGate)
    writes: set[int] = field(default_factory=set)
    restarts: int = 0
    newly_applied: list[Entry] = field(default_factory=list)
    #: the promise and accepted votes as saved before the last crash, and as recovered
    #: after it (for the agreement observer: a crash may lose nothing that was fsynced)
    last_crash: tuple[tuple[HardState, tuple[Entry, ...]],
                      tuple[HardState, tuple[Entry, ...]]] | None = None
    last_start: Any = None
    refused: str | None = None
    torn_tail: str | None = None
    _saved: tuple[HardState, tuple[Entry, ...]] = (HardState(), ())

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the disk (empty: a new replica) and start the core; a corrupt WAL
        raises :class:`~quorum.impl.storage.StorageError` and the member stays down."""
        try:
            self.store, state = DiskStorage.open(self.disk, f"/n{self.id}", cluster_id=1,
                                                 node_id=self.id, segment_bytes=4096,
                                                 mutants=self.storage_mutants)
        except StorageError as exc:
            self.refused = str(exc)
            raise
        self.refused = None
        self.kv = KVStore(dedup=Mutant.RETRY_APPLIED_TWICE not in self.driver_mutants)
        self.raw = MultiPaxosNode(self.config, state.hard_state, state.entries)
        self._saved = (state.hard_state, state.entries)
        # the ports take this core's Ready and messages, which the loop passes through as
        # it gets them (it reads only the fields both cores' Readies have)
        ports = cast(Any, _Ports(self))
        self.driver = Driver(self.raw, None, ports, self.reads, self.driver_mutants,
                             early=frozenset({MessageType.ACCEPT}))
        self.running = True
        self.reads.clear()
        self.writes.clear()

    def crash(self, rng: random.Random | None, saving: object = None) -> None:
        """Power cut: volatile state gone; the disk keeps only what was fsynced."""
        before = self._saved
        self.disk.crash(rng)
        self.running, self.raw, self.store, self.driver = False, None, None, None
        after = before
        try:
            rec = recover(self.disk, f"/n{self.id}/wal", f"/n{self.id}/snap")
            after = (HardState(), ()) if rec is None else (rec.hard_state, rec.entries)
            self.torn_tail = rec.torn.reason if rec is not None and rec.torn else None
        except StorageError as exc:
            self.refused = str(exc)
        self.last_crash = (before, after)
        self.reads.clear()
        self.writes.clear()
        self.restarts += 1

    def stop(self) -> None:
        self.running, self.raw, self.store, self.driver = False, None, None, None
        self.reads.clear()
        self.writes.clear()

    def arm_crash(self, operations: int, tear: str = "prefix") -> None:
        self.disk.crash_after(operations, tear)

    def pump(self, rng: random.Random) -> bool:
        """Run Ready cycles until the core is quiet; False if the node crashed doing so."""
        while self.running and self.raw is not None and self.raw.has_ready():
            assert self.driver is not None
            rd = self.raw.ready()
            try:
                # the loop reads the Raft Ready's fields, which MPReady has, one for one
                run_now(self.driver.handle(cast(Any, rd)))
            except SimulatedCrash:
                self.crash(rng, saving=rd)
                return False
        return True

    # --- what the simulator reads -------------------------------------------------------
    @property
    def role(self) -> Role | None:
        return None if self.raw is None else self.raw.role

    @property
    def term(self) -> int:
        """The promised ballot (0 when down)."""
        return 0 if self.raw is None else self.raw.promised

    @property
    def lead(self) -> int:
        return 0 if self.raw is None else self.raw.leader

    def saved(self) -> tuple[HardState, tuple[Entry, ...]]:
        """The promise and votes this replica's storage holds (what a crash keeps)."""
        return self._saved


class _Ports:
    """An :class:`MPSimNode`'s side of the shared Ready loop."""

    def __init__(self, node: MPSimNode) -> None:
        self.node = node

    def persist(self, rd: MPReady) -> Awaitable[None]:
        node = self.node
        assert node.store is not None
        node.store.save(rd.hard_state, rd.entries)
        hs, ents = node._saved
        if rd.entries:
            first = rd.entries[0].index
            ents = ents[:first - 1] + rd.entries
        node._saved = (rd.hard_state or hs, ents)
        return DONE

    def send(self, messages: Sequence[Message]) -> None:
        for m in messages:
            self.node.send(m)

    @property
    def applied(self) -> int:
        return self.node.kv.applied_index

    def install(self, snapshot: Snapshot) -> None:  # pragma: no cover - no snapshots here
        raise AssertionError("the multipaxos core hands out no snapshot")

    def apply(self, entries: Sequence[Entry]) -> None:
        node = self.node
        for entry in entries:
            node.newly_applied.append(entry)
            applied = node.kv.apply(entry.index, entry.data)
            if applied is not None and applied.request_id in node.writes:
                node.writes.discard(applied.request_id)
                node.done((node.id, applied.request_id, applied.result))

    def release(self, index: int, waiter: PendingRead) -> None:
        node = self.node
        node.done((node.id, waiter.request_id, node.kv.read(Range(waiter.key))))
