"""One simulated member: the real Raft core, real WAL storage on a crashable disk, real KV store.

A :class:`SimNode` runs the driver loop of :mod:`quorum.impl.raft.rawnode` exactly as the
asyncio server does, only synchronously and over a
:class:`~quorum.impl.storage.memdisk.MemoryDisk`:

1. persist the Ready's hard state, entries and snapshot with one
   :meth:`DiskStorage.save <quorum.impl.storage.storage.DiskStorage.save>` (one fsync), then
   mirror them into the core's :class:`~quorum.impl.raft.storage.MemoryStorage`;
2. hand the messages to the simulated network;
3. apply committed entries to the :class:`~quorum.impl.kv.store.KVStore` and report each
   client request it answers (by request id);
4. serve ReadIndex reads once their index is applied;
5. ``advance``.

A crash (:meth:`crash`) is a power cut of the disk: unsynced bytes are lost and the last
write may be torn.  A crash may also be armed to strike in the middle of a later disk
operation (:meth:`arm_crash`), which is where torn records come from.  :meth:`start`
recovers from the disk alone, as a restarted process would.

``driver_mutants`` holds the driver's test-only bugs switched on (driver members of
:class:`~quorum.impl.mutants.Mutant`): ``ACK_BEFORE_COMMIT`` acknowledges a client's
write as soon as the contact node has made the entry durable locally, before it is
committed (durable on a majority).  ``storage_mutants`` go to ``DiskStorage.open``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from quorum.impl.kv import KVStore, Put, Range, decode
from quorum.impl.kv.commands import CommandDecodeError
from quorum.impl.kv.results import Result
from quorum.impl.mutants import Mutant
from quorum.impl.raft import MemoryStorage, RaftConfig, RawNode
from quorum.impl.raft.codec import conf_change_from_bytes
from quorum.impl.raft.types import ConfState, Entry, EntryType, HardState, Message, Ready, Role
from quorum.impl.storage import DiskStorage, MemoryDisk, SimulatedCrash, recover

__all__ = ["DurableImage", "SimNode"]

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


@dataclass
class PendingRead:
    request_id: int
    key: bytes
    index: int = -1  # the ReadIndex answer; -1 until it arrives


@dataclass
class SimNode:
    id: int
    voters: tuple[int, ...]
    raft_config: RaftConfig
    storage_mutants: frozenset[Mutant] = frozenset()
    driver_mutants: frozenset[Mutant] = frozenset()
    disk: MemoryDisk = field(default_factory=MemoryDisk)
    running: bool = False
    raw: RawNode | None = None
    mem: MemoryStorage | None = None
    store: DiskStorage | None = None
    kv: KVStore = field(default_factory=KVStore)
    reads: dict[bytes, PendingRead] = field(default_factory=dict)
    writes: set[int] = field(default_factory=set)  # request ids proposed here, unanswered
    restarts: int = 0
    #: entries applied since the simulator last cleared it (for observers' ghost state)
    newly_applied: list[Entry] = field(default_factory=list)
    down_image: DurableImage | None = None  # what recovery finds, while crashed
    #: (image saved before, image recovered after) of a crash in this step, for observers
    last_crash: tuple[DurableImage, DurableImage, Ready | None] | None = None

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Recover from the disk (a fresh one: an empty member) and start the core."""
        self.store, state = DiskStorage.open(self.disk, f"/n{self.id}", cluster_id=1,
                                             node_id=self.id, segment_bytes=4096,
                                             mutants=self.storage_mutants)
        mem = MemoryStorage(ConfState(voters=self.voters))
        self.kv = KVStore(dedup=Mutant.RETRY_APPLIED_TWICE not in self.driver_mutants)
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
        self.running = True
        self.reads.clear()
        self.writes.clear()

    def crash(self, rng: random.Random | None, saving: Ready | None = None) -> None:
        """Power cut now: volatile state gone; the disk keeps only what was fsynced.

        ``saving``: the Ready whose save the crash interrupted (it may or may not have
        reached the disk)."""
        before = self.durable()
        self.disk.crash(rng)
        self.running, self.raw, self.mem, self.store = False, None, None, None
        self.down_image = self._recovered_image()
        self.last_crash = (before, self.down_image, saving)
        self.reads.clear()
        self.writes.clear()
        self.restarts += 1

    def arm_crash(self, operations: int) -> None:
        """Crash inside the ``operations``-th next disk operation (a torn write)."""
        self.disk.crash_after(operations)

    # --- the driver loop ----------------------------------------------------------------
    def pump(self, send: Callable[[Message], None], done: Callable[[Completion], None],
             rng: random.Random) -> bool:
        """Run Ready cycles until the core is quiet; False if the node crashed doing so."""
        while self.running and self.raw is not None and self.raw.has_ready():
            rd = self.raw.ready()
            try:
                self._persist(rd)
            except SimulatedCrash:
                self.crash(rng, saving=rd)
                return False
            if Mutant.ACK_BEFORE_COMMIT in self.driver_mutants:
                self._ack_early(rd, done)
            for m in rd.messages:
                send(m)
            self._apply(rd, done)
            self.raw.advance(rd)
        return True

    def _persist(self, rd: Ready) -> None:
        assert self.store is not None and self.mem is not None
        if rd.hard_state is not None or rd.entries or rd.snapshot is not None:
            self.store.save(rd.hard_state, rd.entries, rd.snapshot)
        if rd.snapshot is not None and not rd.snapshot.empty:
            self.mem.apply_snapshot(rd.snapshot)
        self.mem.append(rd.entries)
        if rd.hard_state is not None:
            self.mem.set_hard_state(rd.hard_state)

    def _apply(self, rd: Ready, done: Callable[[Completion], None]) -> None:
        assert self.raw is not None
        if rd.snapshot is not None and not rd.snapshot.empty \
                and rd.snapshot.meta.index > self.kv.applied_index:
            self.kv.restore(rd.snapshot.data)
        for e in rd.committed_entries:
            if e.index <= self.kv.applied_index:
                continue
            self.newly_applied.append(e)
            if e.type is EntryType.CONF_CHANGE:
                self.raw.apply_conf_change(conf_change_from_bytes(e.data))
                self.kv.mark_applied(e.index)
                continue
            applied = self.kv.apply(e.index, e.data)
            if applied is not None and applied.request_id in self.writes:
                self.writes.discard(applied.request_id)
                done((self.id, applied.request_id, applied.result))
        for rs in rd.read_states:
            pr = self.reads.get(rs.context)
            if pr is not None and pr.index < 0:
                pr.index = rs.index
        self._serve_reads(done)

    def _serve_reads(self, done: Callable[[Completion], None]) -> None:
        for ctx, pr in list(self.reads.items()):
            if 0 <= pr.index <= self.kv.applied_index:
                del self.reads[ctx]
                done((self.id, pr.request_id, self.kv.read(Range(pr.key))))

    def _ack_early(self, rd: Ready, done: Callable[[Completion], None]) -> None:
        for e in rd.entries:
            if e.type is not EntryType.NORMAL or not e.data:
                continue
            try:
                req = decode(e.data)
            except CommandDecodeError:
                continue
            rid = req.request_id
            if isinstance(req.command, Put) and rid in self.writes:
                self.writes.discard(rid)
                done((self.id, rid, None))

    # --- what the simulator and the abstraction read ------------------------------------
    @property
    def role(self) -> Role | None:
        return None if self.raw is None else self.raw.raft.role

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
        rec = recover(self.disk, f"/n{self.id}/wal", f"/n{self.id}/snap")
        if rec is None:
            return DurableImage(HardState(), 0, 0, ())
        return DurableImage(rec.hard_state, rec.snapshot_marker[0], rec.snapshot_marker[1],
                            rec.entries)
