"""The deterministic simulator: a whole cluster in one thread, every fault from a schedule.

Theory of operation (after FoundationDB's and TigerBeetle's simulators).  The
:class:`Simulator` owns N :class:`~quorum.impl.sim.node.SimNode` (the real Raft core, WAL
storage and KV store), a network of messages in flight, client sessions, and a
virtual clock.  It executes a :class:`~quorum.impl.sim.schedule.Schedule` one step at a time;
nothing else decides anything: no thread, no wall clock, no unseeded randomness, no
iteration over an unordered set.  So the same schedule always produces the same run,
and the event log (one line per step, hashed with SHA-256) proves it.

After every step the simulator calls its observers with the step's :class:`Event`;
an observer returns ``None`` or a failure (any value: the simulator only stores it in
:attr:`RunResult.failure`), which stops the run; so does an exception from a node's code
(:attr:`RunResult.panic`).  The checks of ``quorum.conformance`` (ghost safety, the
spec's invariants, step refinement) are such observers, wired in by the ``quorum sim``
command and the tests: this package imports neither ``spec/`` nor ``model_checker/``.

Membership: the ``addl``/``addv``/``promote``/``remove`` steps make the leader propose a
single-server configuration change through the core (``RawNode.propose_conf_change``); a
new node starts empty (:meth:`Simulator._propose_change`), a removed one is stopped once
some node applies its removal (:meth:`Simulator._retire_removed`), and steps address the
*live* nodes (:attr:`Simulator.live`) by position, so that without a change every step
means what it always did.

Network semantics: a message is *in flight* from the moment its sender's Ready is
persisted until it is delivered, dropped, or found undeliverable (its link cut or its
destination down at delivery time).  Messages to or from a clogged node stay in
flight, untouchable, until it is unclogged.  ``deliver k`` picks among the deliverable
messages in send order, so k > 0 is a reordering (and a delay of the others).
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from quorum.impl.multipaxos import Message as MPMessage
from quorum.impl.multipaxos import MessageType as MPType
from quorum.impl.multipaxos import MultiPaxosConfig
from quorum.impl.mutants import Layer, Mutant, of_layer
from quorum.impl.raft import NotLeader, ProposalDropped, RaftConfig
from quorum.impl.raft.codec import conf_change_from_bytes
from quorum.impl.raft.confchange import ConfChangeError
from quorum.impl.raft.types import (
    ConfChange,
    ConfChangeType,
    EntryType,
    Message,
    MessageType,
    Role,
)
from quorum.impl.storage import SimulatedCrash, StorageError
from quorum.impl.storage.records import scan

from .clients import Client, OpRecord, key_bytes, make_command, output_of
from .mpnode import MPSimNode
from .node import Completion, PendingRead, SimNode
from .schedule import RAFT_ONLY, Schedule, SimConfig

#: a member running either core
AnyNode = SimNode | MPSimNode

__all__ = ["MAX_NODE_ID", "Event", "Observer", "RunResult", "Simulator", "run_schedule"]

#: membership changes add nodes with fresh ids up to this one (ids are never reused)
MAX_NODE_ID = 9


@dataclass(frozen=True)
class Event:
    """One executed step: its number, the step, what happened, and the message stepped."""

    index: int
    step: tuple[Any, ...]
    text: str
    node: int = 0  # the node that acted (0: none / the network)
    message: Message | None = None
    noop: bool = False


F = TypeVar("F")
#: called after every event; a result other than None is a failure and stops the run
Observer = Callable[["Simulator", Event], "F | None"]


@dataclass
class RunResult(Generic[F]):
    events: int
    noops: int
    hash: str
    failure: F | None  # what the observer that stopped the run returned
    failed_at: int | None  # the event of the failure or of the panic
    log: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    #: ``"ExceptionType: message"`` when a node's code raised (a finding; the run stops)
    panic: str | None = None


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.cfg = config
        ids = tuple(range(1, config.nodes + 1))
        #: the initial voters: every node's configuration at index 0 (new nodes' too)
        self.initial = ids
        self.nodes: dict[int, AnyNode] = {}
        self.multipaxos = config.protocol == "multipaxos"
        #: the nodes steps address, in id order: every node not removed from the cluster
        #: (with no membership change, 1..n, so ``live[k % n]`` is node ``1 + k % n``)
        self.live: list[int] = list(ids)
        self.removed: set[int] = set()
        for i in ids:
            self.nodes[i] = self._new_node(i)
        for node in self.nodes.values():
            node.start()
        #: messages in flight: the Raft core's ``Message`` or, under --protocol multipaxos,
        #: the multipaxos core's
        self.inflight: list[Any] = []
        self.held: dict[int, int] = {}  # id of a delayed message -> virtual time it is due
        self.cut: set[tuple[int, int]] = set()
        self.clogged: set[int] = set()
        self.clients = [Client(c, 1 + c % config.nodes) for c in range(config.clients)]
        self.time = 0
        self.ticks = {i: 0 for i in ids}
        self.index = 0
        self.rng = random.Random(config.seed)
        self.stats: dict[str, int] = {}
        self._by_request: dict[int, OpRecord] = {}
        #: request id of a write -> (kind, key, value, session) it was proposed with (retry)
        self._writes: dict[int, tuple[int, int, int, tuple[int, int]]] = {}
        self._notes: list[str] = []

    def _new_node(self, i: int) -> AnyNode:
        c = self.cfg
        if self.multipaxos:
            mc = MultiPaxosConfig(id=i, voters=self.initial, election_tick=c.election_tick,
                                  heartbeat_tick=c.heartbeat_tick, seed=c.seed,
                                  check_quorum=c.check_quorum, pre_prepare=c.pre_vote,
                                  max_msg_entries=c.max_msg_entries,
                                  mutants=of_layer(c.mutants, Layer.MULTIPAXOS))
            return MPSimNode(i, self.initial, mc,
                             storage_mutants=of_layer(c.mutants, Layer.STORAGE),
                             driver_mutants=of_layer(c.mutants, Layer.DRIVER), send=self._send,
                             done=self._done)
        rc = RaftConfig(id=i, election_tick=c.election_tick, heartbeat_tick=c.heartbeat_tick,
                        seed=c.seed, pre_vote=c.pre_vote, check_quorum=c.check_quorum,
                        max_msg_entries=c.max_msg_entries, eager_commit=c.eager_commit,
                        mutants=of_layer(c.mutants, Layer.CORE))
        return SimNode(i, self.initial, rc, storage_mutants=of_layer(c.mutants, Layer.STORAGE),
                       driver_mutants=of_layer(c.mutants, Layer.DRIVER), send=self._send,
                       done=self._done)

    @property
    def raft_nodes(self) -> dict[int, SimNode]:
        """:attr:`nodes` of a Raft run (what the Raft observers read); TypeError under
        the multipaxos core."""
        if self.multipaxos:
            raise TypeError("this run's nodes run the multipaxos core, not Raft")
        return cast(dict[int, SimNode], self.nodes)

    def _raft(self, i: int) -> SimNode:
        """Node ``i`` of a Raft run (the steps only Raft supports; never reached under
        the multipaxos core, whose steps of those kinds are refused before)."""
        node = self.nodes[i]
        assert isinstance(node, SimNode)
        return node

    def _at(self, k: int) -> int:
        """The node a step's number ``k`` addresses: the k-th live node, cyclically."""
        return self.live[k % len(self.live)]

    def _after(self, i: int) -> int:
        """The live node after id ``i``, cyclically (where a client tries next)."""
        return self.live[bisect_right(self.live, i) % len(self.live)]

    # --- plumbing used by nodes ----------------------------------------------------------
    def _send(self, m: Any) -> None:
        """Put a message of either core in flight."""
        self.inflight.append(m)

    def _done(self, c: Completion) -> None:
        node, rid, result = c
        op = self._by_request.pop(rid, None)
        if op is None or op.ret is not None:
            return
        op.ret, op.output = self.index, output_of(op, result)
        self.clients[op.client].current = None
        self._notes.append(f"c{op.client} returns {op.input[0]}={op.output!r}")

    def _pump(self, i: int) -> None:
        node = self.nodes[i]
        if node.running and not node.pump(self.rng):
            self._abandon(i)
            self._notes.append(f"n{i} crashed mid-write")

    # --- steps -----------------------------------------------------------------------------
    def step(self, step: tuple[Any, ...]) -> Event:
        self.index += 1
        self._notes = []
        #: the receiver's (term, last index, last term) before a delivered message
        self.pre_step: tuple[int, int, int] | None = None
        for n in self.nodes.values():
            n.newly_applied.clear()
            if isinstance(n, MPSimNode):
                n.installed.clear()
            n.last_crash = None
            n.last_start = None
        kind = step[0]
        handler = _HANDLERS[kind]
        if self.multipaxos and kind in RAFT_ONLY:
            text, node, msg, noop = f"{kind}: not supported by the multipaxos core", 0, None, True
        else:
            text, node, msg, noop = handler(self, *step[1:])
        self._retire_removed()
        self._expire_clients()
        if self._notes:
            text += "; " + "; ".join(self._notes)
        self.stats[kind] = self.stats.get(kind, 0) + 1
        return Event(self.index, step, text, node, msg, noop)

    def _deliverable(self) -> list[int]:
        return [p for p, m in enumerate(self.inflight)
                if m.frm not in self.clogged and m.to not in self.clogged
                and self.held.get(id(m), 0) <= self.time]

    def _pick(self, k: int) -> int | None:
        if not self.clogged and not self.held:  # the common case: everything deliverable
            return k % len(self.inflight) if self.inflight else None
        ok = self._deliverable()
        return ok[k % len(ok)] if ok else None

    def do_deliver(self, k: int) -> tuple[str, int, Message | None, bool]:
        p = self._pick(k)
        if p is None:  # an idle network: time passes instead
            text, _, _, _ = self.do_tick()
            return "idle: " + text, 0, None, False
        m = self.inflight.pop(p)
        self._unhold(m)
        node = self.nodes[m.to]
        if (m.frm, m.to) in self.cut or not node.running:
            return f"lost {describe(m)}", 0, None, True
        assert node.raw is not None
        if isinstance(node, SimNode):
            r = node.raw.raft
            self.pre_step = (r.term, r.log.last_index(), r.log.term(r.log.last_index()))
            node.raw.step(m)
        else:
            node.raw.step(cast(MPMessage, m))
        self._pump(m.to)
        return f"deliver {describe(m)}", m.to, m, False

    def do_drop(self, k: int) -> tuple[str, int, Message | None, bool]:
        p = self._pick(k)
        if p is None:
            return "drop: nothing in flight", 0, None, True
        m = self.inflight.pop(p)
        self._unhold(m)
        return f"drop {describe(m)}", 0, None, False

    def do_delay(self, k: int, d: int) -> tuple[str, int, Message | None, bool]:
        p = self._pick(k)
        if p is None:
            return "delay: nothing in flight", 0, None, True
        m = self.inflight[p]
        due = self.time + 1 + d % 64
        self.held[id(m)] = due
        return f"delay {describe(m)} until t={due}", 0, None, False

    def _unhold(self, m: Message) -> None:
        if id(m) in self.held and not any(x is m for x in self.inflight):
            del self.held[id(m)]  # (a duplicate copy shares the hold)

    def do_dup(self, k: int) -> tuple[str, int, Message | None, bool]:
        p = self._pick(k)
        if p is None:
            return "dup: nothing in flight", 0, None, True
        m = self.inflight[p]  # a forwarded PROPOSE too: client sessions make it harmless
        self.inflight.append(m)
        return f"duplicate {describe(m)}", 0, None, False

    def do_tick(self) -> tuple[str, int, Message | None, bool]:
        self.time += 1
        for key in [k for k, due in self.held.items() if due <= self.time]:
            del self.held[key]  # due: deliverable again
        ticked = []
        rates = self.cfg.tick_rates
        for i, node in self.nodes.items():
            due = self.time * rates[(i - 1) % len(rates)] // 4
            if not self.cfg.eager_commit and isinstance(node, SimNode) and node.running \
                    and node.raw is not None and node.raw.commit_lagging():
                node.raw.send_commit()  # the member's commit notice, due within a tick
            while self.ticks[i] < due:
                self.ticks[i] += 1
                if node.running and node.raw is not None:
                    node.raw.tick()
                    ticked.append(i)
            self._pump(i)
        return f"tick t={self.time} nodes={sorted(set(ticked))}", 0, None, False

    def do_part(self, mask: int) -> tuple[str, int, Message | None, bool]:
        ids = self.live
        side = {i for j, i in enumerate(ids) if mask >> j & 1}
        other = set(ids) - side
        if not side or not other:
            return "partition: one side empty", 0, None, True
        for a in side:
            for b in other:
                self.cut |= {(a, b), (b, a)}
        return f"partition {sorted(side)} | {sorted(other)}", 0, None, False

    def do_oneway(self, a: int, b: int) -> tuple[str, int, Message | None, bool]:
        a, b = self._at(a), self._at(b)
        if a == b:
            return "oneway: same node", 0, None, True
        self.cut.add((a, b))
        return f"cut link {a}->{b}", 0, None, False

    def do_heal(self) -> tuple[str, int, Message | None, bool]:
        if not self.cut:
            return "heal: nothing cut", 0, None, True
        self.cut.clear()
        return "heal all links", 0, None, False

    def do_clog(self, n: int) -> tuple[str, int, Message | None, bool]:
        i = self._at(n)
        self.clogged.add(i)
        return f"clog n{i}", 0, None, False

    def do_unclog(self, n: int) -> tuple[str, int, Message | None, bool]:
        i = self._at(n)
        if i not in self.clogged:
            return f"unclog n{i}: not clogged", 0, None, True
        self.clogged.discard(i)
        return f"unclog n{i}", 0, None, False

    def do_crash(self, n: int, s: int) -> tuple[str, int, Message | None, bool]:
        i = self._at(n)
        node = self.nodes[i]
        if not node.running:
            return f"crash n{i}: already down", 0, None, True
        if sum(self.nodes[x].running for x in self.live) <= (len(self.live) - 1) // 2 + 1 \
                and s % 4 == 3:
            return f"crash n{i}: spared (would lose the majority)", 0, None, True
        if s % 2:  # strike inside one of the next disk operations: a torn write
            node.arm_crash(1 + (s >> 1) % 4)
            return f"arm crash of n{i} within {1 + (s >> 1) % 4} disk operations", i, None, False
        node.crash(random.Random(s))
        self._abandon(i)
        return f"crash n{i}", i, None, False

    def do_restart(self, n: int) -> tuple[str, int, Message | None, bool]:
        i = self._at(n)
        node = self.nodes[i]
        if node.running:
            return f"restart n{i}: running", 0, None, True
        try:
            node.start()
        except StorageError as exc:  # a corrupt WAL: the member refuses to start (etcd too)
            return f"restart n{i} refused: {exc}", i, None, False
        self._pump(i)
        return f"restart n{i} term={node.term if node.raw else '?'}", i, None, False

    def do_tear(self, n: int, s: int) -> tuple[str, int, Message | None, bool]:
        """Crash n inside one of its next disk operations, the unsynced tail read back
        as zeros after a prefix (even ``s``) or at full length with its last byte wrong."""
        i = self._at(n)
        node = self.nodes[i]
        if not node.running:
            return f"tear n{i}: down", 0, None, True
        tear = "garbled" if s % 2 else "zeros"
        ops = 1 + (s >> 1) % 4
        node.arm_crash(ops, tear)
        return f"arm a {tear} crash of n{i} within {ops} disk operations", i, None, False

    def do_corrupt(self, n: int, s: int) -> tuple[str, int, Message | None, bool]:
        """Flip one bit of a durable WAL record of n other than the last one (media
        corruption); it shows when n next recovers from its disk."""
        i = self._at(n)
        disk = self.nodes[i].disk.durable_view()
        wal = f"/n{i}/wal"
        spans: list[tuple[str, int]] = []  # (segment, bytes eligible from its start)
        names = sorted(disk.listdir(wal)) if disk.exists(wal) else []
        for k, name in enumerate(names):
            data = disk.read_file(f"{wal}/{name}")
            if k == len(names) - 1:  # spare the last record: a flip there is a torn tail
                records, _ = scan(data)
                size = records[-1].offset if records else 0
            else:
                size = len(data)
            if size:
                spans.append((name, size))
        total = sum(size for _, size in spans)
        if total == 0:
            return f"corrupt n{i}: no older record", 0, None, True
        pos, bit = s % total, (s // total) % 8
        for name, size in spans:
            if pos < size:
                self.nodes[i].disk.corrupt(f"{wal}/{name}", pos, bit)
                return f"corrupt n{i}: bit {bit} of byte {pos} of {name}", i, None, False
            pos -= size
        raise AssertionError("unreachable: pos < total")

    def do_snap(self, n: int) -> tuple[str, int, Message | None, bool]:
        i = self._at(n)
        if self.multipaxos:
            return self._mp_snap(i)
        node = self._raft(i)
        if not node.running or node.raw is None or node.mem is None or node.store is None:
            return f"snapshot n{i}: down", 0, None, True
        applied = node.kv.applied_index
        if applied <= node.mem.snapshot().meta.index:
            return f"snapshot n{i}: nothing new", 0, None, True
        snap = node.mem.create_snapshot(applied, node.raw.status().conf_state, node.kv.snapshot())
        try:
            node.store.save_snapshot(snap)
            node.store.release_to(applied)
        except SimulatedCrash:
            node.crash(self.rng)
            self._abandon(i)
            return f"snapshot n{i} at {applied}: crashed mid-write", i, None, False
        node.mem.compact(applied)
        return f"snapshot n{i} at {applied}", i, None, False

    def _mp_snap(self, i: int) -> tuple[str, int, Message | None, bool]:
        node = self.nodes[i]
        assert isinstance(node, MPSimNode)
        if not node.running or node.raw is None:
            return f"snapshot n{i}: down", 0, None, True
        try:
            index = node.snapshot()
        except SimulatedCrash:
            node.crash(self.rng)
            self._abandon(i)
            return f"snapshot n{i}: crashed mid-write", i, None, False
        if not index:
            return f"snapshot n{i}: nothing new", 0, None, True
        return f"snapshot n{i} at {index}", i, None, False

    def do_op(self, c: int, kind: int, key: int, value: int,
              via: int = 0) -> tuple[str, int, Message | None, bool]:
        free = [cl for cl in self.clients if cl.current is None]
        if not free:
            return "every client busy", 0, None, True
        client = free[c % len(free)]
        i: int | None = self._at(via - 1)
        if via == 0 or not self.nodes[self._at(via - 1)].running:
            i = self._contact(client)
        if i is None:
            return f"c{client.id}: no node up", 0, None, True
        node = self.nodes[i]
        assert node.raw is not None
        rid = client.next_request_id()
        session = (client.session_id(), client.session_seq + 1)
        if Mutant.NO_SESSIONS in self.cfg.mutants:
            session = (0, 0)
        inp, data = make_command(kind % 3, key % self.cfg.keys, value % self.cfg.values, rid,
                                 self.cfg.values, session)
        try:
            if data is None:
                ctx = rid.to_bytes(8, "big")
                node.reads.expect(ctx, PendingRead(rid, key_bytes(inp[1])))
                node.raw.read_index(ctx)
            else:
                node.writes.add(rid)
                node.raw.propose(data)
        except ProposalDropped as exc:
            node.reads.forget(rid.to_bytes(8, "big"))
            node.writes.discard(rid)
            lead = getattr(exc, "leader", 0) or node.lead
            client.leader_hint = lead if lead in self.live else self._after(client.leader_hint)
            return f"c{client.id} {inp} at n{i} refused: no leader", i, None, True
        if data is not None:
            client.session_seq += 1
            self._writes[rid] = (kind % 3, key % self.cfg.keys, value % self.cfg.values, session)
        op = OpRecord(client.id, self.index, inp, rid, i, self.time + self.cfg.client_timeout)
        client.current = op
        client.history.append(op)
        self._by_request[rid] = op
        self._pump(i)
        return f"c{client.id} calls {inp} at n{i}", i, None, False

    # --- steps of the wide profile ----------------------------------------------------------
    def _leader(self) -> int | None:
        """The running leader of the highest term (None: no leader)."""
        best: tuple[int, int] | None = None
        for i, node in self.nodes.items():
            if node.raw is not None and node.role is Role.LEADER:
                if best is None or node.term > best[0]:
                    best = (node.term, i)
        return None if best is None else best[1]

    def do_lpart(self, k: int) -> tuple[str, int, Message | None, bool]:
        lead, n = self._leader(), len(self.live)
        if lead is None or n < 2:
            return "leader partition: no leader", 0, None, True
        others = [i for i in self.live if i != lead]
        extra = k % max(1, (n - 1) // 2)  # the leader's side stays a minority
        side = {lead, *(others[(lead + j) % len(others)] for j in range(extra))}
        for a in side:
            for b in set(self.live) - side:
                self.cut |= {(a, b), (b, a)}
        return f"leader partition {sorted(side)} | {sorted(set(self.live) - side)}", lead, None, False

    def do_lsnap(self) -> tuple[str, int, Message | None, bool]:
        lead = self._leader()
        if lead is None:
            return "leader snapshot: no leader", 0, None, True
        return self.do_snap(lead - 1)

    def do_transfer(self, k: int) -> tuple[str, int, Message | None, bool]:
        lead = self._leader()
        if lead is None or len(self.live) < 2:
            return "transfer: no leader", 0, None, True
        others = [i for i in self.live if i != lead]
        to = others[k % len(others)]
        raw = self._raft(lead).raw
        assert raw is not None
        try:
            raw.transfer_leader(to)
        except (NotLeader, ProposalDropped) as exc:
            return f"transfer n{lead} -> n{to} refused: {exc}", lead, None, True
        self._pump(lead)
        return f"transfer leadership n{lead} -> n{to}", lead, None, False

    def do_retry(self, c: int, n: int) -> tuple[str, int, Message | None, bool]:
        busy = [cl.current for cl in self.clients
                if cl.current is not None and cl.current.request_id in self._writes]
        if not busy:
            return "retry: no write outstanding", 0, None, True
        op = busy[c % len(busy)]
        i = self._at(n)
        node = self.nodes[i]
        if not node.running or node.raw is None:
            return f"retry c{op.client} at n{i}: down", 0, None, True
        kind, key, value, session = self._writes[op.request_id]
        _, data = make_command(kind, key, value, op.request_id, self.cfg.values, session)
        assert data is not None
        try:
            node.raw.propose(data)
        except ProposalDropped:
            return f"retry c{op.client} {op.input} at n{i} refused: no leader", i, None, True
        node.writes.add(op.request_id)
        self._pump(i)
        return f"c{op.client} retries {op.input} at n{i}", i, None, False

    # --- membership changes (single-server, thesis 4.1) ------------------------------------
    def _propose_change(self, what: str, cc: ConfChange, new: bool
                        ) -> tuple[str, int, Message | None, bool]:
        """The leader proposes ``cc``; a ``new`` node is started empty once it is accepted."""
        lead = self._leader()
        if lead is None:
            return f"{what}: no leader", 0, None, True
        raw = self._raft(lead).raw
        assert raw is not None
        try:
            raw.propose_conf_change(cc)
        except (ProposalDropped, ConfChangeError) as exc:
            return f"{what} at n{lead} refused: {exc}", lead, None, True
        if new:  # a new member: empty disk, the initial configuration at index 0
            i = cc.node_id
            self.nodes[i] = node = self._new_node(i)
            self.live.append(i)
            rate = self.cfg.tick_rates[(i - 1) % len(self.cfg.tick_rates)]
            self.ticks[i] = self.time * rate // 4
            node.start()
        self._pump(lead)
        return f"{what}: n{lead} proposes {cc.type.name} n{cc.node_id}", lead, None, False

    def _fresh_id(self) -> int | None:
        i = max(self.nodes) + 1
        return i if i <= MAX_NODE_ID else None

    def do_addl(self) -> tuple[str, int, Message | None, bool]:
        """A new node joins as a learner (it catches up before it may vote)."""
        i = self._fresh_id()
        if i is None:
            return "add learner: no free node id", 0, None, True
        return self._propose_change("add learner", ConfChange(ConfChangeType.ADD_LEARNER, i), True)

    def do_addv(self) -> tuple[str, int, Message | None, bool]:
        """A new, empty node joins as a voter at once."""
        i = self._fresh_id()
        if i is None:
            return "add voter: no free node id", 0, None, True
        return self._propose_change("add voter", ConfChange(ConfChangeType.ADD_NODE, i), True)

    def do_promote(self, k: int) -> tuple[str, int, Message | None, bool]:
        """The leader promotes the k-th learner of its configuration to voter."""
        lead = self._leader()
        raw = self._raft(lead).raw if lead is not None else None
        learners = raw.raft.tracker.learners if raw is not None else ()
        if not learners:
            return "promote: no learner", 0, None, True
        target = learners[k % len(learners)]
        return self._propose_change("promote", ConfChange(ConfChangeType.ADD_NODE, target), False)

    def do_remove(self, k: int) -> tuple[str, int, Message | None, bool]:
        """The leader proposes removing the k-th voter of its configuration (itself too)."""
        lead = self._leader()
        raw = self._raft(lead).raw if lead is not None else None
        voters = raw.raft.tracker.voters if raw is not None else ()
        if len(voters) < 2:
            return "remove: no leader, or a single voter", 0, None, True
        target = voters[k % len(voters)]
        return self._propose_change("remove", ConfChange(ConfChangeType.REMOVE_NODE, target),
                                    False)

    def _retire_removed(self) -> None:
        """Stop every node whose removal some node applied (so it is committed), as an
        operator stops a removed member; its disk stays, for the checks' durable images."""
        for node in list(self.nodes.values()):
            for e in node.newly_applied:
                if e.type is not EntryType.CONF_CHANGE:
                    continue
                cc = conf_change_from_bytes(e.data)
                i = cc.node_id
                if cc.type is not ConfChangeType.REMOVE_NODE or i in self.removed \
                        or i not in self.nodes or len(self.live) < 2:
                    continue
                self.removed.add(i)
                self.live.remove(i)
                self.clogged.discard(i)
                if self.nodes[i].running:
                    self.nodes[i].stop()
                    self._abandon(i)
                self._notes.append(f"n{i} removed and stopped")

    # --- clients ---------------------------------------------------------------------------
    def _contact(self, client: Client) -> int | None:
        live = self.live
        start = bisect_left(live, client.leader_hint)
        for d in range(len(live)):
            i = live[(start + d) % len(live)]
            if self.nodes[i].running:
                return i
        return None

    def _abandon(self, i: int) -> None:
        """The contact node crashed: its clients' operations stay pending (ret None)."""
        for client in self.clients:
            op = client.current
            if op is not None and op.node == i:
                self._by_request.pop(op.request_id, None)
                client.current = None
                client.new_session()
                client.leader_hint = self._after(i)

    def _expire_clients(self) -> None:
        for client in self.clients:
            op = client.current
            if op is not None and self.time > op.deadline:
                self._by_request.pop(op.request_id, None)
                client.current = None
                client.new_session()
                client.leader_hint = self._after(op.node)
                self._notes.append(f"c{client.id} gives up on {op.input[0]}")

    def history(self) -> list[dict[str, Any]]:
        ops = [op for c in self.clients for op in c.history]
        ops.sort(key=lambda o: (o.call, o.client))
        return [op.to_json() for op in ops]


_HANDLERS: dict[str, Callable[..., tuple[str, int, Message | None, bool]]] = {
    "deliver": Simulator.do_deliver, "drop": Simulator.do_drop, "dup": Simulator.do_dup,
    "tick": Simulator.do_tick, "delay": Simulator.do_delay, "part": Simulator.do_part, "oneway": Simulator.do_oneway,
    "heal": Simulator.do_heal, "clog": Simulator.do_clog, "unclog": Simulator.do_unclog,
    "crash": Simulator.do_crash, "restart": Simulator.do_restart, "snap": Simulator.do_snap,
    "op": Simulator.do_op, "lpart": Simulator.do_lpart, "lsnap": Simulator.do_lsnap,
    "transfer": Simulator.do_transfer, "retry": Simulator.do_retry,
    "addl": Simulator.do_addl, "addv": Simulator.do_addv, "promote": Simulator.do_promote,
    "remove": Simulator.do_remove, "tear": Simulator.do_tear, "corrupt": Simulator.do_corrupt,
}


def describe(m: Message | MPMessage) -> str:
    """A message in one line, for the event log (deterministic)."""
    if isinstance(m, MPMessage):
        s = f"{m.type.name} {m.frm}->{m.to} b{m.ballot}"
        if m.entries:
            s += f" slots={m.entries[0].index}..{m.entries[-1].index}"
        if m.type is MPType.ACCEPTED and m.slot:
            s += f" slots={m.slot}..{m.last}"
        if m.type in (MPType.ACCEPT, MPType.ACCEPTED, MPType.PROMISE):
            s += f" c={m.commit}"
        return s
    s = f"{MessageType(m.type).name} {m.frm}->{m.to} t{m.term}"
    if m.type in (MessageType.APPEND, MessageType.SNAPSHOT):
        s += f" prev={m.index}/{m.log_term} n={len(m.entries)} c={m.commit}"
    elif m.type in (MessageType.VOTE, MessageType.PRE_VOTE):
        s += f" last={m.index}/{m.log_term}"
    elif m.reject or m.index:
        s += f" {'reject' if m.reject else 'ok'} i={m.index}"
    return s


def run_schedule(schedule: Schedule, observers: Sequence[Observer[F]] | None = None,
                 keep_log: bool = True) -> RunResult[F]:
    """Run every step (stopping at the first observer failure or panic); hash the event log."""
    sim = Simulator(schedule.config)
    h = hashlib.sha256()
    log: list[str] = []
    failure: F | None = None
    failed_at: int | None = None
    panic: str | None = None
    noops = 0
    for step in schedule.steps:
        try:
            ev = sim.step(tuple(step))
        except Exception as exc:  # a node's code failed: that is a finding, not a crash
            panic, failed_at = f"{type(exc).__name__}: {exc}", sim.index
            h.update(f"{sim.index} panic\n".encode())
            log.append(f"{sim.index} {step} -> panic {type(exc).__name__}: {exc}")
            break
        line = f"{ev.index} {ev.text}"
        h.update(line.encode() + b"\n")
        if keep_log:
            log.append(line)
        noops += ev.noop
        for obs in observers or ():
            failure = obs(sim, ev)
            if failure is not None:
                break
        if failure is not None:
            failed_at = ev.index
            break
    return RunResult(sim.index, noops, h.hexdigest(), failure, failed_at, log,
                     sim.history(), dict(sorted(sim.stats.items())), panic)
