"""One simulated member running the Multi-Paxos core (``quorum sim --protocol multipaxos``).

The same member as :class:`~quorum.impl.sim.node.SimNode` with the other core: the real
:class:`~quorum.impl.multipaxos.MultiPaxosNode`, the real WAL
(:class:`~quorum.impl.storage.DiskStorage`) on a crashable
:class:`~quorum.impl.storage.MemoryDisk`, the real :class:`~quorum.impl.kv.KVStore`, and the
one Ready loop both drivers run (:class:`quorum.impl.driver.Driver`: persist, then send,
apply only chosen slots, release reads once applied).  The core keeps its own log, so the
loop gets no ``MemoryStorage`` mirror; a leader's ACCEPTs may leave before its own fsync.
Snapshots: the simulator's ``snap`` step compacts the core's log to a snapshot of the KV
store (:meth:`MPSimNode.snapshot`); a snapshot from a peer is saved with the WAL's
``save_snapshot`` (it keeps the votes above it) and installed into the KV store; a start
restores the recovered snapshot.  No membership changes: the simulator refuses them.

``driver_mutants`` are the Ready loop's bugs (they apply to either core).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
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
    #: the snapshot slot recovered after the last crash (votes up to it may be gone)
    crash_base: int = 0
    #: the slot the KV store started from at the last start (its snapshot's, or 0)
    base: int = 0
    #: snapshots installed since the simulator last cleared it: (entries applied before
    #: it in ``newly_applied``, its index), for the agreement observer
    installed: list[tuple[int, int]] = field(default_factory=list)
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
        self.base = 0
        if state.snapshot is not None and not state.snapshot.empty:
            self.kv.restore(state.snapshot.data)
            self.base = state.snapshot.meta.index
        self.raw = MultiPaxosNode(replace(self.config, applied=self.base), state.hard_state,
                                  state.entries, state.snapshot)
        self.last_start = self.base  # (not None: the observer starts this life's count)
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
            self.crash_base = 0 if rec is None else rec.snapshot_marker[0]
            self.torn_tail = rec.torn.reason if rec is not None and rec.torn else None
        except StorageError as exc:
            self.refused = str(exc)
        self.last_crash = (before, after)
        self._forget_clients()
        self.restarts += 1

    def snapshot(self) -> int:
        """Compact the log to a snapshot of the KV store at its applied slot, durably
        (file, then WAL marker, then old segments released); the slot, or 0 when there
        is nothing new to compact.  A crash inside the disk writes raises out of here."""
        raw, store = self.raw, self.store
        assert raw is not None and store is not None
        index = self.kv.applied_index
        if index <= raw.snap.meta.index or index > raw.applied:
            return 0
        snap = raw.compact(index, self.kv.snapshot())
        store.save_snapshot(snap)
        store.release_to(index)
        self._saved = (self._saved[0], tuple(e for e in self._saved[1] if e.index > index))
        return index

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
        if rd.snapshot is not None:
            node.store.save_snapshot(rd.snapshot)
        node.store.save(rd.hard_state, rd.entries)
        hs, ents = node._saved
        if rd.snapshot is not None:
            ents = tuple(e for e in ents if e.index > rd.snapshot.meta.index)
        if rd.entries:
            first = rd.entries[0].index
            ents = tuple(e for e in ents if e.index < first) + rd.entries
        node._saved = (rd.hard_state or hs, ents)
        return DONE

    def install(self, snapshot: Snapshot) -> None:
        node = self.node
        node.kv.restore(snapshot.data)
        node.installed.append((len(node.newly_applied), snapshot.meta.index))

    def apply(self, entries: Sequence[Entry]) -> None:
        node = self.node
        for entry in entries:
            node.newly_applied.append(entry)
            node.apply_write(entry)
