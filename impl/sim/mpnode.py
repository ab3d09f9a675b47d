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
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from quorum.impl.driver import DONE, Driver
from quorum.impl.multipaxos import MessageType, MultiPaxosConfig, MultiPaxosNode
from quorum.impl.multipaxos import Ready as MPReady
from quorum.impl.raft.types import Entry, HardState, Role, Snapshot
from quorum.impl.storage import StorageError, recover

from .node import MemberPorts, SimMember

__all__ = ["MPSimNode"]


@dataclass
class MPSimNode(SimMember):
    config: MultiPaxosConfig
    raw: MultiPaxosNode | None = field(default=None, init=False)
    #: the promise and accepted votes as saved before the last crash, and as recovered
    #: after it (for the agreement observer: a crash may lose nothing that was fsynced)
    last_crash: tuple[tuple[HardState, tuple[Entry, ...]],
                      tuple[HardState, tuple[Entry, ...]]] | None = None
    last_start: Any = None
    _saved: tuple[HardState, tuple[Entry, ...]] = (HardState(), ())

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the disk (empty: a new replica) and start the core; a corrupt WAL
        raises :class:`~quorum.impl.storage.StorageError` and the member stays down."""
        try:
            state = self._open()
        except StorageError as exc:
            self.refused = str(exc)
            raise
        self.refused = None
        self.raw = MultiPaxosNode(self.config, state.hard_state, state.entries)
        self._saved = (state.hard_state, state.entries)
        # the ports take this core's Ready and messages, which the loop passes through as
        # it gets them (it reads only the fields both cores' Readies have)
        ports = cast(Any, _Ports(self))
        self.driver = Driver(self.raw, None, ports, self.reads, self.driver_mutants,
                             early=frozenset({MessageType.ACCEPT}))
        self.running = True
        self._forget_clients()

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
        self._forget_clients()
        self.restarts += 1

    def stop(self) -> None:
        self.running, self.raw, self.store, self.driver = False, None, None, None
        self._forget_clients()

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


class _Ports(MemberPorts):
    """An :class:`MPSimNode`'s side of the shared Ready loop."""

    def __init__(self, node: MPSimNode) -> None:
        self.node: MPSimNode = node

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

    def install(self, snapshot: Snapshot) -> None:  # pragma: no cover - no snapshots here
        raise AssertionError("the multipaxos core hands out no snapshot")

    def apply(self, entries: Sequence[Entry]) -> None:
        node = self.node
        for entry in entries:
            node.newly_applied.append(entry)
            node.apply_write(entry)
