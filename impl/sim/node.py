"""One simulated member: the real Raft core, real WAL storage on a crashable disk, real KV store.

A :class:`SimNode` runs the same Ready loop as the asyncio server,
:class:`quorum.impl.driver.Driver` (persist, send, apply, release reads, advance), only
synchronously and over a :class:`~quorum.impl.storage.memdisk.MemoryDisk`.  Its ports
(:class:`_Ports`) save with one
:meth:`DiskStorage.save <quorum.impl.storage.storage.DiskStorage.save>` (one fsync)
before returning, hand messages to the simulated network, apply committed entries to the
:class:`~quorum.impl.kv.store.KVStore` reporting each client request it answers (by
request id), and answer ReadIndex reads from the store.

A crash (:meth:`crash`) is a power cut of the disk: unsynced bytes are lost and the last
write may be torn.  A crash may also be armed to strike in the middle of a later disk
operation (:meth:`arm_crash`), which is where torn records come from: the save raises
:class:`~quorum.impl.storage.SimulatedCrash` out of the Ready loop, and whatever the loop
had done before the save (a leader's early AppendEntries) stays done.  :meth:`start`
recovers from the disk alone, as a restarted process would.

``driver_mutants`` holds the driver's test-only bugs switched on (driver members of
:class:`~quorum.impl.mutants.Mutant`), for the shared Ready loop and for this module:
``ACK_BEFORE_COMMIT`` acknowledges a client's write as soon as the contact node has
made the entry durable locally, before it is committed (durable on a majority).
``storage_mutants`` go to ``DiskStorage.open``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from quorum.impl.driver import DONE, Driver, ReadGate, run_now
from quorum.impl.kv import KVStore, Put, Range, decode
from quorum.impl.kv.commands import CommandDecodeError
from quorum.impl.kv.results import Result
from quorum.impl.mutants import Mutant
from quorum.impl.raft import MemoryStorage, RaftConfig, RawNode
from quorum.impl.raft.codec import conf_change_from_bytes
from quorum.impl.raft.types import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    Ready,
    Role,
    Snapshot,
)
from quorum.impl.storage import DiskStorage, MemoryDisk, SimulatedCrash, StorageError, recover
from quorum.impl.storage.storage import State as RecoveredState

__all__ = ["DurableImage", "MemberPorts", "SimMember", "SimNode"]

#: (node id, request id, result or None for "write acknowledged without a result")
Completion = tuple[int, int, Result | None]


@dataclass(frozen=True)
class DurableImage:
    """A node's log and hard state as a restart would find them.

    For a running node this is what its driver handed to ``DiskStorage.save`` (the
    core's ``MemoryStorage`` mirror); every save that carries a term, a vote or entries
    is fsynced before anything depends on it.  For a crashed node it is what recovery
    reads back from the crashed disk.
    """

    hard_state: HardState
    snap_index: int
    snap_term: int
    entries: tuple[Entry, ...]  # consecutive, from snap_index + 1

    def term(self, index: int) -> int | None:
        """Term of the entry at ``index``; the snapshot's at its index; None otherwise."""
        if index == self.snap_index:
            return self.snap_term
        k = index - self.snap_index - 1
        return self.entries[k].term if 0 <= k < len(self.entries) else None


@dataclass(frozen=True)
class PendingRead:
    """A client's linearizable read, waiting in its contact node's :class:`ReadGate`."""

    request_id: int
    key: bytes


@dataclass
class SimMember:
    """What the two simulated members share (:class:`SimNode` runs the Raft core,
    :class:`~quorum.impl.sim.mpnode.MPSimNode` the Multi-Paxos one): their storage, the
    Ready loop's pump, and the client side of applying and reading.  Each subclass adds
    its core's configuration, the core (``raw``) and its crash bookkeeping."""

    id: int
    voters: tuple[int, ...]
    storage_mutants: frozenset[Mutant] = field(default=frozenset(), kw_only=True)
    driver_mutants: frozenset[Mutant] = field(default=frozenset(), kw_only=True)
    disk: MemoryDisk = field(default_factory=MemoryDisk, kw_only=True)
    running: bool = field(default=False, kw_only=True)
    driver: Driver[PendingRead] | None = field(default=None, kw_only=True)
    store: DiskStorage | None = field(default=None, kw_only=True)
    kv: KVStore = field(default_factory=KVStore, kw_only=True)
    #: where messages go and completions are reported (the simulator's)
    send: Callable[[Any], None] = field(default=lambda m: None, repr=False, kw_only=True)
    done: Callable[[Completion], None] = field(default=lambda c: None, repr=False,
                                               kw_only=True)
    reads: ReadGate[PendingRead] = field(default_factory=ReadGate, kw_only=True)
    writes: set[int] = field(default_factory=set, kw_only=True)  # proposed here, unanswered
    restarts: int = field(default=0, kw_only=True)
    #: entries applied since the simulator last cleared it (for observers' ghost state)
    newly_applied: list[Entry] = field(default_factory=list, kw_only=True)
    #: why the disk was refused at the last start or crash (a corrupt WAL), else None
    refused: str | None = field(default=None, kw_only=True)
    #: why recovery after the last crash cut a torn tail off the WAL (None: it cut none)
    torn_tail: str | None = field(default=None, kw_only=True)
    raw: Any = field(default=None, init=False)

    def _open(self) -> RecoveredState:
        """Open the node's WAL (recovering what the disk holds) and a fresh key space."""
        self.store, state = DiskStorage.open(self.disk, f"/n{self.id}", cluster_id=1,
                                             node_id=self.id, segment_bytes=4096,
                                             mutants=self.storage_mutants)
        self.kv = KVStore(dedup=Mutant.RETRY_APPLIED_TWICE not in self.driver_mutants)
        return state

    def _forget_clients(self) -> None:
        """A start, stop or crash: no read or write waits on this node any longer."""
        self.reads.clear()
        self.writes.clear()

    def arm_crash(self, operations: int, tear: str = "prefix") -> None:
        """Crash inside the ``operations``-th next disk operation (a torn write, torn as
        ``tear`` says: see :class:`~quorum.impl.storage.MemoryDisk`)."""
        self.disk.crash_after(operations, tear)

    def crash(self, rng: random.Random | None, saving: Any = None) -> None:
        """A power cut (``saving``: the Ready whose save it interrupted); each member
        keeps its own crash bookkeeping, so each defines it."""
        raise NotImplementedError

    def pump(self, rng: random.Random) -> bool:
        """Run Ready cycles until the core is quiet; False if the node crashed doing so."""
        while self.running and self.raw is not None and self.raw.has_ready():
            assert self.driver is not None
            rd = self.raw.ready()
            try:
                run_now(self.driver.handle(rd))
            except SimulatedCrash:
                self.crash(rng, saving=rd)
                return False
        return True

    def apply_write(self, entry: Entry) -> None:
        """Apply one committed client entry; answer its client if it was proposed here."""
        applied = self.kv.apply(entry.index, entry.data)
        if applied is not None and applied.request_id in self.writes:
            self.writes.discard(applied.request_id)
            self.done((self.id, applied.request_id, applied.result))

    def release_read(self, waiter: PendingRead) -> None:
        """Answer a linearizable read from the key space (its index is applied)."""
        self.done((self.id, waiter.request_id, self.kv.read(Range(waiter.key))))


@dataclass
class SimNode(SimMember):
    raft_config: RaftConfig
    raw: RawNode | None = field(default=None, init=False)
    mem: MemoryStorage | None = None
    down_image: DurableImage | None = None  # what recovery finds, while crashed
    #: (image saved before, image recovered after) of a crash in this step, for observers
    last_crash: tuple[DurableImage, DurableImage, Ready | None] | None = None
    #: (image expected, image started from) of a restart in this step, for observers: the
    #: image the last crash left (None for a first start) and what recovery produced
    last_start: tuple[DurableImage | None, DurableImage] | None = None

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the disk (a fresh one: an empty member) and start the core.

        Raises :class:`~quorum.impl.storage.StorageError` (``CorruptionError``) when the
        disk holds damage that is not a torn tail: the member refuses to start, as etcd's
        does, and stays down (:attr:`refused` says why)."""
        try:
            self._start()
        except StorageError as exc:
            self.refused = str(exc)
            raise
        self.refused = None
        self.last_start = (self.down_image, self.durable())

    def _start(self) -> None:
        state = self._open()
        mem = MemoryStorage(ConfState(voters=self.voters))
        applied = 0
        if state.snapshot is not None and not state.snapshot.empty:
            mem.apply_snapshot(state.snapshot)
            self.kv.restore(state.snapshot.data)
            applied = state.snapshot.meta.index
        mem.append([e for e in state.entries if e.index > applied])
        mem.set_hard_state(state.hard_state)
        self.mem = mem
        cfg = RaftConfig(**{**self.raft_config.__dict__, "applied": applied})
        self.raw = RawNode(cfg, mem)
        self.driver = Driver(self.raw, mem, _Ports(self), self.reads, self.driver_mutants)
        self.running = True
        self._forget_clients()

    def crash(self, rng: random.Random | None, saving: Ready | None = None) -> None:
        """Power cut now: volatile state gone; the disk keeps only what was fsynced.

        ``saving``: the Ready whose save the crash interrupted (it may or may not have
        reached the disk)."""
        before = self.durable()
        self.disk.crash(rng)
        self.running, self.raw, self.mem, self.store = False, None, None, None
        self.driver = None
        try:
            self.down_image = self._recovered_image()
        except StorageError as exc:  # corruption of what it had saved: it will not start
            self.refused = str(exc)
            self.down_image = before
        self.last_crash = (before, self.down_image, saving)
        self._forget_clients()
        self.restarts += 1

    def stop(self) -> None:
        """A clean shutdown (a removed member): everything saved stays, nothing is torn."""
        self.down_image = self.durable()
        self.running, self.raw, self.mem, self.store = False, None, None, None
        self.driver = None
        self._forget_clients()

    # --- what the simulator and the abstraction read ------------------------------------
    @property
    def role(self) -> Role | None:
        return None if self.raw is None else self.raw.raft.role

    @property
    def term(self) -> int:
        """The core's current term (0 when down)."""
        return 0 if self.raw is None else self.raw.raft.term

    @property
    def lead(self) -> int:
        """The leader the core knows (0: none, or down)."""
        return 0 if self.raw is None else self.raw.raft.lead

    def durable_version(self) -> tuple[int, ...]:
        """Changes whenever :meth:`durable` may have changed (cheap to compute)."""
        if self.mem is None:
            return (id(self.down_image),)
        last = self.mem.last_index()
        return (id(self.mem), self.mem.first_index(), last, self.mem.term(last))

    def durable(self) -> DurableImage:
        """The node's :class:`DurableImage` now."""
        if self.mem is None:
            return self.down_image or DurableImage(HardState(), 0, 0, ())
        first, last = self.mem.first_index(), self.mem.last_index()
        ents = tuple(self.mem.entries(first, last + 1)) if last >= first else ()
        return DurableImage(self.mem.hard_state, first - 1, self.mem.term(first - 1), ents)

    def _recovered_image(self) -> DurableImage:
        self.torn_tail = None
        rec = recover(self.disk, f"/n{self.id}/wal", f"/n{self.id}/snap")
        self.torn_tail = rec.torn.reason if rec is not None and rec.torn is not None else None
        if rec is None:
            return DurableImage(HardState(), 0, 0, ())
        return DurableImage(rec.hard_state, rec.snapshot_marker[0], rec.snapshot_marker[1],
                            rec.entries)


class MemberPorts:
    """The ports both simulated members plug into the shared Ready loop alike
    (:class:`quorum.impl.driver.Ports`): messages to the simulated network, the applied
    index and linearizable reads from the key space."""

    node: SimMember

    def send(self, messages: Sequence[Any]) -> None:
        for m in messages:
            self.node.send(m)

    @property
    def applied(self) -> int:
        return self.node.kv.applied_index

    def release(self, index: int, waiter: PendingRead) -> None:
        self.node.release_read(waiter)


class _Ports(MemberPorts):
    """A :class:`SimNode`'s side of the shared Ready loop (:class:`quorum.impl.driver.Ports`)."""

    def __init__(self, node: SimNode) -> None:
        self.node: SimNode = node

    def persist(self, rd: Ready) -> Awaitable[None]:
        """Save at once (the simulator's disk has no worker thread): done on return."""
        node = self.node
        assert node.store is not None
        node.store.save(rd.hard_state, rd.entries, rd.snapshot)
        if Mutant.ACK_BEFORE_COMMIT in node.driver_mutants:
            self._ack_early(rd)
        return DONE

    def install(self, snapshot: Snapshot) -> None:
        self.node.kv.restore(snapshot.data)

    def apply(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self._apply_one(entry)

    def _apply_one(self, entry: Entry) -> None:
        node = self.node
        assert node.raw is not None
        node.newly_applied.append(entry)
        if entry.type is EntryType.CONF_CHANGE:
            node.raw.apply_conf_change(conf_change_from_bytes(entry.data))
            node.kv.mark_applied(entry.index)
            return
        node.apply_write(entry)

    def _ack_early(self, rd: Ready) -> None:
        node = self.node
        for e in rd.entries:
            if e.type is not EntryType.NORMAL or not e.data:
                continue
            try:
                req = decode(e.data)
            except CommandDecodeError:
                continue
            rid = req.request_id
            if isinstance(req.command, Put) and rid in node.writes:
                node.writes.discard(rid)
                node.done((node.id, rid, None))
