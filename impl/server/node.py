"""The node runtime: one asyncio loop driving a consensus core.

The core is the Raft core (:class:`quorum.impl.raft.rawnode.RawNode`) or, with ``quorum
serve --protocol multipaxos``, the Multi-Paxos core; :mod:`quorum.impl.server.cores` holds
what differs between them (building the core, its wire format, its status, its features:
the Multi-Paxos member has a static membership and serves a follower's linearizable reads
with a read barrier entry; and how a Ready, a snapshot and a compaction reach the core and
the WAL, so the snapshot loop below is the same for both).  Below, "RawNode" is either core.

Theory of operation.  Three kinds of events poke the node: the tick timer, peer messages
(``Transport`` calls :meth:`Node._on_frame`), and client requests (``propose``,
``read_index``, conf changes).  Each only feeds the RawNode and sets ``_wake``; a single
driver task hands every Ready to the Ready loop the simulator runs too,
:class:`quorum.impl.driver.Driver`, which owns the order (persist, then send; apply only
committed entries; release a read only once its read index is applied; then advance).
This node is its :class:`~quorum.impl.driver.Ports`:

* **persist** is one ``DiskStorage.save`` of hard state, entries and any received
  snapshot; when it must fsync, it runs in a worker thread.  While that fsync runs the
  loop keeps accepting requests, which the core appends to its unstable log; the next
  Ready carries them all, so concurrent proposals share one fsync (group commit).
  Meanwhile the Driver sends a leader's AppendEntries (Raft thesis 10.2.1) and applies
  the Ready's committed entries (durable on a majority already);
* **send** encodes each message for the peer ``Transport``;
* **apply** applies a committed entry to the :class:`StateMachine`, answering the
  waiting client of each entry by its request id; a client is acknowledged only here,
  when its entry is committed (durable on a majority) and applied;
* **release** answers the linearizable reads of one ReadIndex request.

After each Ready, the node takes a snapshot (from a copy-on-write view of the state
machine; a large one packed in pieces by a task beside the Ready loop, see
:meth:`Node._maybe_snapshot`) and compacts the log every ``snapshot_count`` entries, or
sooner once the entries applied since the last snapshot hold ``snapshot_bytes`` bytes or,
if it is larger, as many bytes as that snapshot (so the bytes written to snapshots stay
within twice the bytes written to the log); the Raft core's compaction keeps
``catchup_entries`` entries for slow followers, but no more than ``catchup_bytes`` of them,
so the in-memory log stays bounded in bytes too (the Multi-Paxos core drops every slot up
to its snapshot, and a peer behind it gets the snapshot).  Durability comes first: the
snapshot's file is written and fsynced, renamed, its directory fsynced, and then its WAL
marker written and fsynced (``DiskStorage.save_snapshot``), all *before* the core drops
the log below it and before the WAL's segments below it are released; a crash anywhere in
between leaves the old snapshot and the whole log, or the new snapshot and the log.
It also snapshots when the snapshot it holds has become much larger than the state (after a
Compact dropped most of the history), then returns the freed memory to the operating
system (:func:`quorum.impl.server.memory.trim`).

The Raft core sends no message of its own when its commit index moves (``eager_commit``
off): the next AppendEntries carries the new commit index, so under load a write costs one
AppendEntries per follower, and its answer, instead of two.  When the Ready loop goes
quiet with a member still lagging, the node sends it the commit index
``COMMIT_NOTICE_TICKS`` of a tick later (so an idle follower applies within about 20 ms at
the default 100 ms tick; the heartbeat would tell it within a tick anyway).  A leader
answers its own clients once the entry is committed and applied on it, so this delays
only the followers' applying (their serializable reads); a follower's ReadIndex answer is
preceded by the commit index it needs (``impl/raft/readonly.py``).

Linearizable reads use ReadIndex (Raft thesis 6.4), batched: at most one ReadIndex
request is in flight; every read that arrives meanwhile waits for the next one.  The
client requests themselves live in :mod:`quorum.impl.server.requests`.

A :class:`~quorum.impl.raft.errors.PanicError` from the core, whichever input raised it,
stops the member (:meth:`Node.stop_on_panic`): nothing more is stepped into a core whose
state broke, and ``serve`` shuts the member down.  Any other failure of the driver task
stops it too; a failure handling one peer's frame costs only that connection.

``mutants``: members of :class:`~quorum.impl.mutants.Mutant` switched on by tests only
(``quorum serve --unsafe-mutant``): the core's go to its ``RaftConfig``, the driver's to
the shared Ready loop.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from quorum.impl.driver import DONE, Driver, ReadGate
from quorum.impl.mutants import Layer, Mutant, of_layer
from quorum.impl.net import Identity, PeerError, Transport
from quorum.impl.raft.errors import CodecError, PanicError, ProposalDropped
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import (
    ConfChange,
    ConfChangeType,
    Entry,
    Message,
    Ready,
    Role,
    Snapshot,
)
from quorum.impl.server.config import ServerConfig, parse_url
from quorum.impl.server.cores import CoreAdapter, adapter
from quorum.impl.server.corrupt import HASH_PREFIX, Checker
from quorum.impl.server.machine import MachineView, Outcome, StateMachine
from quorum.impl.server.memory import trim
from quorum.impl.storage.disk import OSDisk
from quorum.impl.storage.errors import StorageError
from quorum.impl.storage.storage import DiskStorage

__all__ = ["Node", "describe_os_error"]

log = logging.getLogger("quorum.server")

PROTOCOL_FILE = "protocol"  # in the data directory: which core wrote the WAL
STALE_SLACK = 1024 * 1024  # bytes a held snapshot may exceed twice the state's size by
SNAPSHOT_PIECE = 2000  # keys packed between two turns of the event loop (a few ms)
SNAPSHOT_FINISH_S = 30.0  # how long stop() lets a snapshot under way finish
#: a Raft leader tells members a new commit index this fraction of a tick after the Ready
#: loop goes quiet, unless the next AppendEntries told them first (see the module doc)
COMMIT_NOTICE_TICKS = 0.2


def describe_os_error(exc: OSError) -> str:
    """``[Errno 28] No space left on device: 'x'`` as ``ENOSPC (No space left on device) x``."""
    name = errno.errorcode.get(exc.errno or 0, "")
    what = exc.strerror or str(exc)
    where = f" {exc.filename}" if exc.filename else ""
    return f"{name} ({what}){where}" if name else f"{what}{where}"


class Node:
    """One member's consensus core, state machine, storage and peer transport."""

    def __init__(self, cfg: ServerConfig, mutants: frozenset[Mutant] = frozenset()) -> None:
        self.cfg = cfg
        self.mutants = mutants
        self.id, self.cluster_id = cfg.member_id, cfg.cluster_id
        self.sm = StateMachine({i: nu for i, nu in cfg.initial_members().items()})
        self.mem = MemoryStorage()
        self.core: CoreAdapter = adapter(cfg.protocol, self.id, self.mem)
        if not self.core.membership:  # a static membership: --initial-cluster
            for member_id, (name, urls) in cfg.initial_members().items():
                self.sm.members.add(member_id, urls, name)
        self.raw: Any  # the core: a RawNode or a MultiPaxosNode
        self.driver: Driver[list[asyncio.Future[int]]]
        self.disk: DiskStorage
        self.transport: Transport
        self.leader = 0
        self.term = 0
        self.role = Role.FOLLOWER
        self._proposals: list[bytes] = []  # submitted, not yet handed to the core
        self.stopped = asyncio.Event()
        self.removed = False
        self.panic: PanicError | None = None  # the broken invariant that stopped the member
        self.fatal: str | None = None  # why the member stopped itself (one line), if it did
        self.checker: Checker
        self.corrupt: dict[int, str] = {}  # members the corruption check found corrupt
        self.raise_alarm: Callable[[int], None] | None = None  # CORRUPT alarm for a member
        self.leader_changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._io = ThreadPoolExecutor(1, thread_name_prefix=f"wal-{cfg.name}")
        self._tasks: list[asyncio.Task[Any]] = []
        self._notice: asyncio.TimerHandle | None = None  # a commit notice to send
        self._snap_index = 0
        self._snapshotting = False  # a snapshot task is packing or writing a snapshot
        self._snap_task: asyncio.Task[None] | None = None  # the latest snapshot task
        self._stopping = False
        self._log_bytes = 0  # bytes of the entries applied since the last snapshot
        # client requests waiting for their entry: request id -> future of its Outcome
        self.waiters: dict[int, asyncio.Future[Outcome]] = {}
        # linearizable reads: waiting for the next ReadIndex request; then one batch per
        # request, in the ReadGate until its read index is applied
        self.pending_reads: list[asyncio.Future[int]] = []
        self.reads: ReadGate[list[asyncio.Future[int]]] = ReadGate()
        self._read_ctx = b""  # the request in flight
        self._read_age = 0
        self._read_seq = random.getrandbits(32)
        self._deadlines: deque[tuple[float, asyncio.Future[Any]]] = deque()
        # proposals to submit again while unanswered: (when, every, future, submit)
        self._retries: deque[tuple[float, float, asyncio.Future[Any], Callable[[], None]]] \
            = deque()
        # counters for profiling: Readies handled, fsync batches, entries saved, seconds,
        # snapshots taken, peers' snapshots installed
        self.stats = {"readies": 0, "saves": 0, "entries": 0, "save_s": 0.0, "applied": 0,
                      "messages": 0, "writes": 0, "write_s": 0.0, "batches": 0,
                      "resubmits": 0, "snapshots": 0, "installs": 0, "max_stall_s": 0.0,
                      "snap_stall_s": 0.0}

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover from the data directory, join the peers, and start ticking."""
        loop = asyncio.get_running_loop()
        self.disk, state = await loop.run_in_executor(self._io, self._open_storage)
        fresh = state.snapshot is None and not state.entries and state.hard_state.term == 0
        applied = 0
        if state.snapshot is not None and not state.snapshot.empty:
            self.sm.restore(state.snapshot.data)
            applied = self._snap_index = state.snapshot.meta.index
        self.term = state.hard_state.term  # later terms arrive with each Ready's hard state
        self.raw = self.core.make(
            state.hard_state, state.entries, state.snapshot, applied,
            tuple(sorted(self.cfg.initial_members())),
            self.cfg.election_ticks, random.getrandbits(32), self.mutants,
            bootstrap=fresh and self.cfg.cluster_state == "new")
        self.driver = Driver(self.raw, self.core.mirror, self, self.reads,
                             of_layer(self.mutants, Layer.DRIVER), early=self.core.early)
        host, port = parse_url(self.cfg.listen_peer_urls[0])
        tls = self.cfg.peer_tls
        if tls is not None:
            tls = await loop.run_in_executor(self._io, tls.with_auto_files, self.cfg.data_dir)
        self.transport = Transport(
            Identity(self.cluster_id, self.id, self.cfg.peer_secret, self.cfg.insecure_peers),
            host, port, self._on_frame, tls=tls, on_removed=self._told_removed)
        self._set_peers(self.cfg.initial_members())
        self._apply_peers()  # members known from a snapshot
        await self.transport.start()
        self.checker = Checker(self.id, self.transport.send, self.sm.kv.snapshot,
                               self._on_corrupt, loop.time,
                               timeout=max(5.0, 5 * self.cfg.election_ticks * self.cfg.tick_ms
                                           / 1000))
        self._tasks = [loop.create_task(self._drive()), loop.create_task(self._tick()),
                       loop.create_task(self._corruption_checks())]
        log.info("member %s (%x) of cluster %x started (%s); applied %d", self.cfg.name,
                 self.id, self.cluster_id, self.core.name, applied)

    def _open_storage(self) -> tuple[DiskStorage, Any]:
        self.cfg.data_dir.mkdir(parents=True, exist_ok=True)
        disk, state = DiskStorage.open(OSDisk(), str(self.cfg.data_dir),
                                       cluster_id=self.cluster_id, node_id=self.id)
        fresh = state.snapshot is None and not state.entries and state.hard_state.term == 0
        try:
            self._check_protocol(fresh)
        except BaseException:
            disk.close()
            raise
        return disk, state

    def _check_protocol(self, fresh: bool) -> None:
        """Refuse a data directory another protocol's member wrote (the WAL does not say:
        a file ``protocol`` beside it does; a directory with data and without the file was
        written by a Raft member, the only protocol before the file existed)."""
        path = self.cfg.data_dir / PROTOCOL_FILE
        try:
            had: str | None = path.read_text().strip()
        except FileNotFoundError:
            had = None if fresh else "raft"
        if had is not None and had != self.cfg.protocol:
            raise StorageError(f"{self.cfg.data_dir} holds the data of a --protocol {had} "
                               f"member; this member runs --protocol {self.cfg.protocol}")
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w") as f:
                f.write(self.cfg.protocol + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fd = os.open(self.cfg.data_dir, os.O_RDONLY)  # the name durable before any entry
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _set_peers(self, members: dict[int, tuple[str, tuple[str, ...]]]) -> None:
        for member_id, (_, urls) in members.items():
            if member_id != self.id and urls:
                self.transport.set_peer(member_id, *parse_url(urls[0]))

    def background(self, coro: Any) -> None:
        """Run ``coro`` as a task that stops with the node."""
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.get_running_loop().create_task(coro))

    @property
    def snapshot_index(self) -> int:
        """Index of the newest snapshot of the state machine this member holds."""
        return self._snap_index

    def db_size(self) -> int:
        """The key space's accounted bytes (``KVStore.size_bytes``), which etcd's dbSize
        stands for: it grows with writes and falls when Compact drops old versions."""
        return self.sm.kv.size_bytes

    async def stop(self) -> None:
        self._stopping = True
        snap = self._snap_task
        if snap is not None and not snap.done():  # a snapshot under way is finished first
            try:
                async with asyncio.timeout(SNAPSHOT_FINISH_S):
                    await asyncio.shield(snap)
            except TimeoutError:
                snap.cancel()
            except Exception:
                pass  # the task logged it and set ``fatal``
        for task in self._tasks:
            task.cancel()
        if self._notice is not None:
            self._notice.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.transport.stop()
        try:
            await asyncio.get_running_loop().run_in_executor(self._io, self.disk.close)
        except OSError as exc:  # the disk that failed may fail again while closing
            log.warning("closing the storage failed: %s", describe_os_error(exc))
        self._io.shutdown(wait=True)
        futures: list[asyncio.Future[Any]] = [*self.waiters.values(), *self.pending_reads]
        for batch in self.reads.clear():
            futures += batch
        for fut in futures:
            if not fut.done():
                fut.cancel()
        self.stopped.set()
        log.info("stopped; counters %s", {k: round(v, 3) for k, v in self.stats.items()})

    # --- inputs -----------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def expire_at(self, timeout: float, fut: asyncio.Future[Any]) -> None:
        """Fail ``fut`` with TimeoutError if it is not done within ``timeout`` seconds
        (checked every tick; every caller uses the same timeout, so a FIFO suffices)."""
        self._deadlines.append((asyncio.get_running_loop().time() + timeout, fut))

    def _expire(self) -> None:
        now, d = asyncio.get_running_loop().time(), self._deadlines
        while d and (d[0][0] <= now or d[0][1].done()):
            _, fut = d.popleft()
            if not fut.done():
                fut.set_exception(TimeoutError())

    def resubmit_every(self, every: float, fut: asyncio.Future[Any],
                       submit: Callable[[], None]) -> None:
        """Call ``submit`` again every ``every`` seconds while ``fut`` is not done and a
        leader is known (checked every tick, like :meth:`expire_at`; every caller uses
        the same period, so a FIFO suffices and a write costs no timer of its own)."""
        self._retries.append((asyncio.get_running_loop().time() + every, every, fut, submit))

    def _resubmit(self) -> None:
        now, d = asyncio.get_running_loop().time(), self._retries
        while d and (d[0][0] <= now or d[0][2].done()):
            _, every, fut, submit = d.popleft()
            if fut.done():
                continue
            if self.leader:
                self.stats["resubmits"] += 1
                submit()
            d.append((now + every, every, fut, submit))

    def submit(self, data: bytes) -> None:
        """Queue a proposal.  The driver hands every queued proposal to the core in one
        batch (``RawNode.propose_batch``: one log append, one AppendEntries per follower,
        one write and fsync); the client learns the outcome from its request id, or times
        out if the proposal was dropped.  The batch is whatever arrived since the last
        Ready, so it grows with the load and adds no delay when there is none."""
        self._proposals.append(data)
        self._wake.set()

    def _flush_proposals(self) -> None:
        batch, self._proposals = self._proposals, []
        self.stats["batches"] += 1
        try:
            self.raw.propose_batch(batch)
        except ProposalDropped:
            pass  # no leader, or a transfer: the waiting clients get 'no leader' or time out

    def _on_frame(self, peer: int, body: bytes) -> None:
        if body.startswith(HASH_PREFIX):
            self.checker.on_frame(peer, body, self.sm.applied)
            return
        try:
            msg = self.core.decode(body)
        except CodecError as exc:
            raise PeerError(str(exc)) from None
        if msg.frm != peer or msg.to != self.id:
            raise PeerError(f"message from {msg.frm:x} to {msg.to:x} on {peer:x}'s connection")
        if self.panic is not None:
            return  # stopping: the core's state is not to be trusted
        try:
            self.raw.step(msg)
        except PanicError as exc:
            self.stop_on_panic(exc)
            return
        self._wake.set()

    async def _tick(self) -> None:
        interval = self.cfg.tick_ms / 1000
        loop, st = asyncio.get_running_loop(), self.stats
        last = loop.time()
        try:
            while True:
                await asyncio.sleep(interval)
                now = loop.time()  # how late the tick is: the loop's longest stall
                stall, last = now - last - interval, now
                st["max_stall_s"] = max(st["max_stall_s"], stall)
                if self._snapshotting:
                    st["snap_stall_s"] = max(st["snap_stall_s"], stall)
                self.raw.tick()
                self._expire()
                self._resubmit()
                self.checker.expire()
                self._read_age += 1
                if self._read_age > self.cfg.election_ticks and self._reading():
                    lost = self.reads.forget(self._read_ctx) or []
                    self.pending_reads[:0] = lost  # lost or dropped: ask again
                    self._read_ctx = b""
                self._wake.set()
        except PanicError as exc:
            self.stop_on_panic(exc)

    def stop_on_panic(self, exc: PanicError) -> None:
        """The core found its own state broken (where etcd-raft panics): stop ticking and
        driving it at once; ``serve`` (or whoever awaits :attr:`stopped`) shuts down."""
        if self.panic is None:
            self.panic = exc
            self.fatal = f"raft invariant broken: {exc}"
            log.critical("raft invariant broken; stopping this member: %s", exc)
        for task in self._tasks:
            task.cancel()
        self.stopped.set()

    # --- corruption checks (impl/server/corrupt.py) -----------------------------------------
    def _on_corrupt(self, member: int, message: str) -> None:
        self.corrupt[member] = message
        if self.raise_alarm is not None:
            self.raise_alarm(member)

    async def _corruption_checks(self) -> None:
        """The initial check once caught up, then the leader's every --corrupt-check-time."""
        interval = self.cfg.tick_ms / 1000
        while True:  # caught up: a leader is known and everything committed is applied
            await asyncio.sleep(interval)
            st = self.core.status()
            if self.leader and st.commit and self.sm.applied >= st.commit:
                break
        self._start_check()
        period = self.cfg.corrupt_check_s
        while period > 0:
            await asyncio.sleep(period)
            if self.role is Role.LEADER:
                self._start_check()

    def _start_check(self) -> None:
        members = frozenset(self.sm.members.members) | {self.id}
        self.checker.start(self.core.status().commit, members, self.sm.applied)

    # --- the driver -------------------------------------------------------------------------
    async def _drive(self) -> None:
        """Run the Ready loop; any failure stops the member (never a silent zombie)."""
        try:
            await self._ready_loop()
        except asyncio.CancelledError:
            raise
        except PanicError as exc:
            self.stop_on_panic(exc)
        except OSError as exc:  # ENOSPC, EIO, ...: nothing more can be made durable
            self.fatal = f"storage failed: {describe_os_error(exc)}"
            log.critical("%s; stopping this member", self.fatal)
            self.stopped.set()
        except Exception as exc:
            self.fatal = f"internal error in the Raft driver: {type(exc).__name__}: {exc}"
            log.critical("%s; stopping this member", self.fatal, exc_info=exc)
            self.stopped.set()

    async def _ready_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._proposals:
                self._flush_proposals()
            self._issue_read_index()
            while self.raw.has_ready():
                await self._handle(self.raw.ready())
                if self._proposals:
                    self._flush_proposals()
                self._issue_read_index()
                await self._maybe_snapshot()
            if self._notice is None and self.core.commit_lagging():
                self._notice = asyncio.get_running_loop().call_later(
                    COMMIT_NOTICE_TICKS * self.cfg.tick_ms / 1000, self._send_commit)

    def _send_commit(self) -> None:
        """The commit notice is due: tell the members that still lag (under load the
        next AppendEntries has usually told them already, and this sends nothing)."""
        self._notice = None
        if self.panic is None and not self._stopping:
            self.core.send_commit()
            self._wake.set()

    async def _handle(self, rd: Any) -> None:
        self.stats["readies"] += 1
        self.stats["applied"] += len(rd.committed_entries)
        self.stats["messages"] += len(rd.messages)
        if rd.soft_state is not None:
            self._on_soft_state(rd.soft_state.leader, rd.soft_state.role)
        if rd.hard_state is not None:
            self.term = rd.hard_state.term
        await self.driver.handle(rd)

    # --- the Driver's ports -----------------------------------------------------------------
    def persist(self, rd: Ready) -> Awaitable[None]:
        """One save: in the worker thread when it must fsync, overlapping what follows;
        a commit index only is written here and now, not fsynced."""
        if rd.must_sync:
            loop = asyncio.get_running_loop()
            return loop.run_in_executor(self._io, self._save, rd)
        self._save(rd)
        return DONE

    def _save(self, rd: Ready) -> None:
        """One group commit (one fsync when the batch needs one); in the worker thread
        when it fsyncs."""
        t0 = time.perf_counter()
        synced = self.core.save(self.disk, rd)
        st = self.stats
        st["save_s"] += time.perf_counter() - t0
        st["saves"] += synced
        st["entries"] += len(rd.entries)

    def _on_soft_state(self, leader: int, role: Role) -> None:
        if leader != self.leader:
            log.info("leader is now %x (was %x)", leader, self.leader)
            self.leader_changed.set()
            self.leader_changed = asyncio.Event()
        self.leader, self.role = leader, role

    def send(self, messages: Sequence[Message]) -> None:
        """Encode and hand each message to the transport; the entries of a Ready's
        AppendEntries are packed once for all the followers that get the same run."""
        runs: dict[tuple[int, int, int], bytes] = {}
        for m in messages:
            if not self.transport.send(m.to, self.core.encode(m, runs)):
                self.core.unreachable(m)

    @property
    def applied(self) -> int:
        return self.sm.applied

    def install(self, snap: Snapshot) -> None:
        self.sm.restore(snap.data)
        self._snap_index = snap.meta.index
        self._log_bytes = 0
        self.checker.skipped_to(snap.meta.index)
        self._apply_peers()
        self.stats["installs"] += 1
        log.info("installed the leader's snapshot at index %d", snap.meta.index)

    def apply(self, entries: Sequence[Entry]) -> None:
        """Apply a Ready's run of committed entries in one pass: the state machine, the
        corruption checker when it waits for an index, read barriers, conf changes (fed to
        the core before the next entry is applied), and the waiting writes' futures."""
        sm, checker, waiters = self.sm, self.checker, self.waiters
        size = 0
        for entry in entries:
            size += len(entry.data)
            outcome = sm.apply(entry)
            if checker.waiting:
                checker.applied(sm.applied)
            if outcome is None:
                continue
            if outcome.barrier is not None:  # a read barrier: ours answers its read
                ctx = self.core.own_barrier(*outcome.barrier)
                if ctx is not None:
                    self.reads.answer(ctx, entry.index)
                continue
            if outcome.conf_change is not None:
                self._applied_conf_change(outcome.conf_change)
            if outcome.request_id:
                fut = waiters.pop(outcome.request_id, None)
                if fut is not None and not fut.done():
                    fut.set_result(outcome)
        self._log_bytes += size

    def _applied_conf_change(self, cc: ConfChange) -> None:
        self.raw.apply_conf_change(cc)
        self._apply_peers()
        if cc.type is ConfChangeType.REMOVE_NODE and cc.node_id == self.id:
            log.warning("this member was removed from the cluster; stopping")
            self.removed = True
            self.stopped.set()

    def _told_removed(self, peer: int) -> None:
        """A peer proved it applied our removal (we missed the entry, cut off or lagging):
        stop, as on applying it, rather than campaign leaderless forever (etcd does too)."""
        if not self.removed:
            log.warning("member %x says this member was removed from the cluster; stopping",
                        peer)
            self.removed = True
            self.stopped.set()

    def _apply_peers(self) -> None:
        self.transport.removed = frozenset(self.sm.members.removed)
        members = self.sm.members.members
        for peer in set(self.transport.peers()) - set(members):
            if peer in self.sm.members.removed:
                self.transport.remove_peer(peer)
        self._set_peers({m.id: (m.name, m.peer_urls) for m in members.values()})

    # --- reads ------------------------------------------------------------------------------
    def _reading(self) -> bool:
        """Is a ReadIndex request of ours waiting for its answer?"""
        return bool(self._read_ctx) and self.reads.unanswered(self._read_ctx)

    def _issue_read_index(self) -> None:
        if self._reading() or not self.pending_reads:
            return
        self._read_seq += 1
        ctx = self._read_seq.to_bytes(8, "big")
        try:
            self.core.read_index(ctx)
        except ProposalDropped:
            return  # no leader yet: the reads stay pending until one appears or they time out
        self.reads.expect(ctx, self.pending_reads)
        self._read_ctx, self.pending_reads = ctx, []
        self._read_age = 0
        self._wake.set()

    def release(self, index: int, waiter: list[asyncio.Future[int]]) -> None:
        for fut in waiter:
            if not fut.done():
                fut.set_result(index)

    # --- snapshots --------------------------------------------------------------------------
    async def _maybe_snapshot(self) -> None:
        """Take a snapshot when one is due (module docstring) and none is being taken.

        It is taken from a copy-on-write view of the state machine at the applied index
        (:mod:`quorum.impl.kv.snapview`).  A small key space (one piece) is snapshotted
        at once, within the Ready loop; a larger one is packed in pieces by a task of its
        own, yielding the loop between pieces, so the Ready loop goes on while it is
        packed and written: the longest pause is one piece, not the whole key space (and
        the log may meanwhile outgrow its byte bounds by the entries applied)."""
        applied = self.sm.applied
        if self._snapshotting or applied <= self._snap_index or (
                applied - self._snap_index < self.cfg.snapshot_count
                and self._log_bytes < max(self.cfg.snapshot_bytes,
                                          len(self.core.held_snapshot().data))
                and not self._snapshot_stale()):
            return
        conf = self.core.snapshot_conf()
        view = self.sm.snapshot_view()
        self._snap_index, self._log_bytes = applied, 0
        self._snapshotting = True
        if len(view.kv) <= SNAPSHOT_PIECE:
            await self._snapshot(applied, conf, view)
        else:
            self._snap_task = asyncio.get_running_loop().create_task(
                self._snapshot_beside(applied, conf, view))

    async def _snapshot_beside(self, index: int, conf: Any, view: MachineView) -> None:
        """:meth:`_snapshot` as a task beside the Ready loop, which skipped any snapshot
        falling due meanwhile: check again once it is done."""
        await self._snapshot(index, conf, view)
        if self.fatal is None and self.panic is None and not self._stopping:
            await self._maybe_snapshot()

    async def _snapshot(self, index: int, conf: Any, view: MachineView) -> None:
        """Pack ``view`` (the state at ``index``), make it durable, then compact: the core's
        log (:meth:`CoreAdapter.compact <quorum.impl.server.cores.CoreAdapter.compact>`)
        and the WAL's segments only once the snapshot and its marker are fsynced."""
        loop = asyncio.get_running_loop()
        try:
            for _ in view.kv.pieces(SNAPSHOT_PIECE):
                await asyncio.sleep(0)  # let the Ready loop, clients and peers run
            view.kv.close()  # packed: the store need no longer copy for it
            # the checksum and the one join of the pieces, in a thread (zlib lets go of
            # the GIL), not the WAL's: its fsyncs should not wait for this
            data = await loop.run_in_executor(None, view.finish)
            if index <= self.core.held_snapshot().meta.index:
                return  # a leader's snapshot was installed meanwhile; it is newer
            snap = self.core.new_snapshot(index, conf, data)
            # durable (file, directory, WAL marker: all fsynced) before any log is dropped
            await loop.run_in_executor(self._io, self.disk.save_snapshot, snap)
            compact_to = self.core.compact(snap, self.cfg.catchup_entries,
                                           self.cfg.catchup_bytes)
            if compact_to > 0:
                await loop.run_in_executor(self._io, self.disk.release_to, compact_to)
            trim()
            self.stats["snapshots"] += 1
            log.info("snapshot at index %d; log compacted up to %d", index, max(compact_to, 0))
        except asyncio.CancelledError:
            raise
        except OSError as exc:  # as in _drive: nothing more can be made durable
            self.fatal = f"storage failed: {describe_os_error(exc)}"
            log.critical("%s; stopping this member", self.fatal)
            self.stopped.set()
        except Exception as exc:
            self.fatal = f"internal error taking a snapshot: {type(exc).__name__}: {exc}"
            log.critical("%s; stopping this member", self.fatal, exc_info=exc)
            self.stopped.set()
        finally:
            view.kv.close()
            self._snapshotting = False

    def _snapshot_stale(self) -> bool:
        """Is the snapshot held in memory over twice the state's size (plus 1 MiB)?"""
        return len(self.core.held_snapshot().data) > 2 * self.sm.kv.size_bytes + STALE_SLACK
