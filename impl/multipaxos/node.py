"""One Multi-Paxos replica (proposer, acceptor and learner), driven like the Raft core.

A driver owns one :class:`MultiPaxosNode` and runs the Raft core's loop::

    node.tick() / node.step(message) / node.propose(data) / node.propose_batch(datas)
    node.read_index(ctx)
    if node.has_ready():
        rd = node.ready()
        # 1. persist rd.hard_state and rd.entries (one fsync if rd.must_sync);
        # 2. send rd.messages (a leader's ACCEPTs may go before its own fsync: it counts
        #    itself only once advance() reports them durable);
        # 3. apply rd.committed_entries; serve reads of rd.read_states once applied;
        node.advance(rd)

The protocol is MultiPaxos.tla's (``spec/multipaxos/tla/actions.py``): a replica whose
election timeout fires picks the next ballot it owns above its promise and runs phase 1
once for every slot from its first unchosen one (PREPARE); each acceptor that promises
reports every value it accepted from there on and its chosen prefix (PROMISE).  With a
majority of promises (its own included) the candidate leads: it recovers each slot from
the reports (a slot some reporter knows chosen takes that value; otherwise the value of
the highest ballot; a hole below the highest reported slot is filled with a no-op), writes
them at its own ballot and runs phase 2 for them and for every new proposal, pipelined,
one ACCEPT per peer per Ready.  A slot is chosen once a majority accepted it at the
leader's ballot; the chosen prefix (``commit``) goes out with every ACCEPT, and a follower
marks a slot chosen when it holds that slot at the leader's ballot.  The leader's
heartbeat repairs lost accepts from each peer's acknowledged prefix (``match``), which is
also how a lagging or restarted acceptor catches up with slots chosen long ago: the leader
re-proposes their chosen values at its own ballot (the only value Paxos lets it propose
there).  A higher ballot in any message makes a replica promise it and follow; an ACCEPT or
PREPARE below the promise is answered with REJECT, which deposes the old leader.

Leader stickiness (``pre_prepare``, on by default; Raft's pre-vote and check-quorum lease):
a replica whose timeout fires first becomes a pre-candidate and asks its peers whether
they would promise its next ballot (PRE_PREPARE, which changes no promise); a peer that
heard from a live leader within an election timeout stays silent.  Only with a majority
of yeses does it run phase 1, so a member that was cut off or restarted never raises a
ballot that would depose a leader the others still follow.

Log compaction: once the state machine executed every slot up to ``k``, the driver may
:meth:`MultiPaxosNode.compact` the log to a snapshot of the state at ``k``; those slots
are chosen, so their votes are no longer needed.  A peer whose acknowledged prefix is
below the snapshot gets it in a SNAPSHOT message instead of the compacted slots, and an
acceptor asked in phase 1 about compacted slots sends its snapshot with its PROMISE (the
candidate installs it: it never re-proposes into a compacted, chosen prefix).  A replica
that installs a snapshot keeps its votes above it.  A restart recovers the snapshot and
the votes after it.

Nothing in here blocks, reads a clock, does I/O or draws an unseeded random number.  A
peer's message never raises; a local request that cannot be served raises
:class:`~quorum.impl.raft.errors.ProposalDropped` or :class:`~quorum.impl.raft.errors.NotLeader`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from quorum.impl.mutants import Layer, Mutant, foreign, names
from quorum.impl.raft.errors import ConfigError, NotLeader, ProposalDropped
from quorum.impl.raft.types import (
    NONE,
    ConfState,
    Entry,
    HardState,
    ReadState,
    Role,
    Snapshot,
    SnapshotMeta,
    SoftState,
)

from .types import Message, MessageType, MultiPaxosConfig, Ready

__all__ = ["MultiPaxosNode", "Status", "next_ballot", "owner"]

MT = MessageType


def owner(ballot: int, voters: Sequence[int]) -> int:
    """The replica that owns ``ballot`` (ballots are dealt round-robin over the sorted
    voters, so two replicas never propose with the same one); 0 for ballot 0."""
    return 0 if ballot == 0 else sorted(voters)[(ballot - 1) % len(voters)]


def next_ballot(above: int, me: int, voters: Sequence[int]) -> int:
    """The smallest ballot greater than ``above`` that ``me`` owns."""
    ordered = sorted(voters)
    pos, n = ordered.index(me), len(ordered)
    rounds = above // n  # ballots round*n+1 .. round*n+n
    b = rounds * n + pos + 1
    return b if b > above else b + n


@dataclass(frozen=True, slots=True)
class Status:
    """A replica's state, for monitoring, the simulator and tests."""

    id: int
    hard_state: HardState
    soft_state: SoftState
    ballot: int  # the ballot it leads or campaigns with (0: none)
    applied: int
    last_index: int
    match: dict[int, int] = field(default_factory=dict)  # leaders only
    snapshot_index: int = 0  # the compacted prefix: every slot up to it chosen and executed


class MultiPaxosNode:
    """One replica, driven by its owner (see the module docstring).

    ``hard_state``, ``entries`` and ``snapshot`` are what the replica's storage holds (all
    empty for a new replica): entries contiguous from the slot after the snapshot's (slot
    1 without one), holes as ``term == 0``."""

    def __init__(self, config: MultiPaxosConfig, hard_state: HardState | None = None,
                 entries: Sequence[Entry] = (), snapshot: Snapshot | None = None) -> None:
        cfg = config
        hard_state = hard_state or HardState()
        if cfg.id <= 0 or cfg.id not in cfg.voters or len(set(cfg.voters)) != len(cfg.voters) \
                or any(v <= 0 for v in cfg.voters):
            raise ConfigError(f"id {cfg.id} must be one of the positive, distinct voters "
                              f"{cfg.voters}")
        if not 0 < cfg.heartbeat_tick < cfg.election_tick or cfg.max_msg_entries <= 0:
            raise ConfigError("need 0 < heartbeat_tick < election_tick and max_msg_entries > 0")
        bad = foreign(cfg.mutants, Layer.MULTIPAXOS)
        if bad:
            raise ConfigError(f"unknown multipaxos mutants {', '.join(bad)}; known: "
                              f"{', '.join(names(Layer.MULTIPAXOS))}")
        snap = snapshot if snapshot is not None and not snapshot.empty else Snapshot()
        base = snap.meta.index
        for k, e in enumerate(entries):
            if e.index != base + k + 1:
                raise ConfigError(f"entries must be contiguous from slot {base + 1}; slot "
                                  f"{e.index} at position {k}")
        self.cfg = cfg
        self.id = cfg.id
        self.voters = tuple(sorted(cfg.voters))
        self.peers = tuple(v for v in self.voters if v != self.id)
        self.quorum = len(self.voters) // 2 + 1
        self.rng = random.Random(cfg.seed * 1_000_003 + cfg.id)
        # -- durable (acceptor) state
        self.promised = hard_state.term
        self.log: dict[int, Entry] = {e.index: e for e in entries if e.term > 0}
        self.snap = snap  # the compacted prefix (slots up to snap.meta.index) and its state
        self.commit = max(hard_state.commit, base)
        self.stable_last = base + len(entries)  # highest slot the storage holds (holes too)
        self.last = max(self.log, default=base)  # highest slot holding an accepted value
        if self.commit > self.last or any(s not in self.log
                                          for s in range(base + 1, self.commit + 1)):
            raise ConfigError(f"chosen prefix {self.commit} has slots without a value")
        self.applied = min(max(cfg.applied, base), self.commit)
        # -- volatile state
        self.role = Role.FOLLOWER
        self.leader = NONE
        self.ballot = 0  # the ballot this replica campaigns with or leads
        self.elapsed = 0
        self.heartbeat_elapsed = 0
        self.timeout = self._draw_timeout()
        self.reports: dict[int, tuple[int, tuple[Entry, ...]]] = {}  # PROMISEs: commit, entries
        self.match: dict[int, int] = {}  # leader: per peer, the prefix it holds at our ballot
        self.sent: dict[int, int] = {}  # leader: per peer, the last slot sent
        self.self_match = 0  # leader: our own durable prefix at our ballot
        self.recent: set[int] = set()  # leader: peers heard from in this election timeout
        self.reads: dict[bytes, tuple[int, set[int]]] = {}  # leader: ctx -> (index, acks)
        self.grants: set[int] = set()  # pre-candidate: peers that would promise self.ballot
        self.snap_wait: dict[int, int] = {}  # leader: ticks before a peer's snapshot may go again
        self.pending_snapshot: Snapshot | None = None  # installed from a peer, for the Ready
        self.dirty_from: int | None = None  # lowest slot changed since the last Ready
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.heartbeat_due = False
        self._prev_hard = HardState(self.promised, owner(self.promised, self.voters), self.commit)
        self._prev_soft = SoftState(NONE, Role.FOLLOWER)

    # -- helpers ---------------------------------------------------------------------------
    def _draw_timeout(self) -> int:
        return self.cfg.election_tick + self.rng.randrange(self.cfg.election_tick)

    def _send(self, m: Message) -> None:
        self.msgs.append(m)

    def _write(self, e: Entry) -> None:
        """Accept ``e`` (in memory; durable once a Ready carrying it is persisted)."""
        if self.log.get(e.index) == e:
            return
        self.log[e.index] = e
        self.last = max(self.last, e.index)
        self.dirty_from = e.index if self.dirty_from is None else min(self.dirty_from, e.index)

    def _promise(self, ballot: int) -> None:
        """Promise ``ballot`` (higher than any before) and follow; the leader is unknown
        until one of its ACCEPTs arrives."""
        self.promised = ballot
        if self.role is not Role.FOLLOWER:
            self._become_follower(NONE)
        else:
            self.leader = NONE

    def _become_follower(self, leader: int) -> None:
        self.role, self.leader, self.ballot = Role.FOLLOWER, leader, 0
        self.reports, self.match, self.sent, self.reads = {}, {}, {}, {}
        self.grants, self.snap_wait = set(), {}
        self.heartbeat_due = False
        self.elapsed, self.timeout = 0, self._draw_timeout()

    # -- inputs ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the logical clock by one tick."""
        if self.role is Role.LEADER:
            self.heartbeat_elapsed += 1
            self.elapsed += 1
            for p, w in self.snap_wait.items():
                self.snap_wait[p] = max(0, w - 1)
            if self.elapsed >= self.cfg.election_tick:
                self.elapsed = 0
                if self.cfg.check_quorum and len(self.recent) + 1 < self.quorum:
                    self._become_follower(NONE)
                    return
                self.recent = set()
            if self.heartbeat_elapsed >= self.cfg.heartbeat_tick:
                self.heartbeat_elapsed = 0
                self.heartbeat_due = True
            return
        self.elapsed += 1
        if self.elapsed >= self.timeout:
            if self.cfg.pre_prepare:
                self._pre_campaign()
            else:
                self.campaign()

    def _in_lease(self) -> bool:
        """Has this replica heard from a live leader within an election timeout (or is it
        the leader)?  Then it would not help a candidate depose that leader."""
        return self.role is Role.LEADER or (
            self.leader != NONE and self.elapsed < self.cfg.election_tick)

    def _pre_campaign(self) -> None:
        """Ask the peers whether they would promise our next ballot (promising nothing)."""
        b = next_ballot(self.promised, self.id, self.voters)
        self.role, self.leader, self.ballot = Role.PRE_CANDIDATE, NONE, b
        self.elapsed, self.timeout = 0, self._draw_timeout()
        self.grants = set()
        for p in self.peers:
            self._send(Message(MT.PRE_PREPARE, p, self.id, ballot=b))
        if self.quorum == 1:
            self.campaign()

    def campaign(self) -> None:
        """Run phase 1 now with the next ballot this replica owns above its promise."""
        b = next_ballot(self.promised, self.id, self.voters)
        self.promised = b
        self.role, self.leader, self.ballot = Role.CANDIDATE, NONE, b
        self.elapsed, self.timeout = 0, self._draw_timeout()
        self.match, self.sent, self.reads, self.grants = {}, {}, {}, set()
        first = self.commit + 1
        self.reports = {self.id: (self.commit, self._accepted_from(first))}
        for p in self.peers:
            self._send(Message(MT.PREPARE, p, self.id, ballot=b, slot=first))
        if len(self.reports) >= self.quorum:
            self._become_leader()

    def _accepted_from(self, first: int) -> tuple[Entry, ...]:
        return tuple(self.log[s] for s in sorted(self.log) if s >= first)

    def step(self, m: Message) -> None:
        """Handle a message from a peer (already validated by the codec); never raises."""
        if m.to != self.id or m.frm == self.id:
            return
        if m.type is MT.PROPOSE:
            if self.role is Role.LEADER:
                self._append([e.data for e in m.entries])
            return  # dropped elsewhere: the client times out and retries
        if m.ballot > self.promised and m.type in (MT.PREPARE, MT.ACCEPT, MT.REJECT,
                                                    MT.SNAPSHOT):
            self._promise(m.ballot)
        handler = {MT.PREPARE: self._on_prepare, MT.PROMISE: self._on_promise,
                   MT.ACCEPT: self._on_accept, MT.ACCEPTED: self._on_accepted,
                   MT.REJECT: lambda m: None, MT.PRE_PREPARE: self._on_pre_prepare,
                   MT.PRE_PROMISE: self._on_pre_promise, MT.SNAPSHOT: self._on_snapshot,
                   }[m.type]
        handler(m)

    def _on_pre_prepare(self, m: Message) -> None:
        if m.ballot <= self.promised:  # its phase 1 would fail: tell it the promise
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
        elif not self._in_lease():
            self._send(Message(MT.PRE_PROMISE, m.frm, self.id, ballot=m.ballot))

    def _on_pre_promise(self, m: Message) -> None:
        if self.role is not Role.PRE_CANDIDATE or m.ballot != self.ballot:
            return
        self.grants.add(m.frm)
        if len(self.grants) + 1 >= self.quorum:
            self.campaign()

    def _on_prepare(self, m: Message) -> None:
        if m.ballot < self.promised:
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
            return
        if m.ballot == self.ballot and self.role in (Role.CANDIDATE, Role.LEADER):
            return  # our own ballot (cannot come from a peer): ignore
        if self.role is Role.PRE_CANDIDATE:
            self._become_follower(NONE)
        self.elapsed = 0  # give the candidate its chance before campaigning ourselves
        base = self.snap.meta.index
        if base >= m.slot:  # slots it asks about were compacted: they are chosen, here
            self._send(Message(MT.PROMISE, m.frm, self.id, ballot=m.ballot, slot=m.slot,
                               last=base, entries=self._accepted_from(m.slot),
                               commit=self.commit, snapshot=self.snap.data))
            return
        self._send(Message(MT.PROMISE, m.frm, self.id, ballot=m.ballot, slot=m.slot,
                           entries=self._accepted_from(m.slot), commit=self.commit))

    def _on_promise(self, m: Message) -> None:
        if self.role is not Role.CANDIDATE or m.ballot != self.ballot:
            return
        if m.last > self.commit:  # it compacted slots we lack: its snapshot has them
            self._install(m.last, m.snapshot)
        self.reports[m.frm] = (m.commit, m.entries)
        if len(self.reports) >= self.quorum:
            self._become_leader()

    def _become_leader(self) -> None:
        """Phase 1 is done: recover every slot from the reports and propose it at our ballot."""
        b, first = self.ballot, self.commit + 1
        known: dict[int, Entry] = {}  # slot -> a value some reporter knows chosen
        best: dict[int, Entry] = {}  # slot -> the accepted value of the highest ballot
        top = self.commit
        # the mutant: each slot keeps the vote of the last PROMISE to arrive
        by_arrival = Mutant.MP_RECOVERY_BY_ARRIVAL in self.cfg.mutants
        for commit, entries in self.reports.values():
            for e in entries:
                if e.index < first:
                    continue
                top = max(top, e.index)
                if e.index <= commit:
                    known.setdefault(e.index, e)
                cur = best.get(e.index)
                if cur is None or e.term > cur.term or by_arrival:
                    best[e.index] = e
        chosen_to = max(c for c, _ in self.reports.values())
        self.role, self.leader = Role.LEADER, self.id
        self.elapsed = self.heartbeat_elapsed = 0
        for s in range(first, top + 1):
            src = known.get(s) or best.get(s)
            data = b"" if src is None else src.data
            self._write(Entry(term=b, index=s, data=data))
        # slots a reporter knows chosen are chosen; the rest need phase 2 at ballot b
        c = self.commit
        while c + 1 <= min(chosen_to, top) and c + 1 in self.log:
            c += 1
        self.commit = c
        self.self_match = self.commit
        self.match = {p: self.reports[p][0] if p in self.reports else 0 for p in self.peers}
        self.sent = {p: self.reports[p][0] if p in self.reports else self.commit
                     for p in self.peers}
        self.recent = {p for p in self.reports if p != self.id}
        self.reports, self.snap_wait = {}, {}
        self.heartbeat_due = True
        self._maybe_commit()

    def _on_accept(self, m: Message) -> None:
        if m.ballot < self.promised:
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
            return
        if self.role is Role.PRE_CANDIDATE:
            self._become_follower(m.frm)  # a live leader at our promise: follow it
        if self.role is not Role.FOLLOWER:
            return  # our own ballot: a replica never gets its own ACCEPT
        self.leader, self.elapsed = m.frm, 0
        for e in m.entries:
            if e.index > self.commit:  # a chosen slot keeps its value (the same, by Paxos)
                self._write(e)
        c = self.commit
        any_ballot = Mutant.MP_CHOSEN_ANY_BALLOT in self.cfg.mutants
        while c + 1 <= m.commit and (held := self.log.get(c + 1)) is not None \
                and (held.term == m.ballot or any_ballot):
            c += 1
        self.commit = c
        first, last = (m.entries[0].index, m.entries[-1].index) if m.entries else (0, 0)
        self._send(Message(MT.ACCEPTED, m.frm, self.id, ballot=m.ballot, slot=first,
                           last=last, commit=self.commit, context=m.context))

    def _on_snapshot(self, m: Message) -> None:
        """The leader's snapshot: every slot up to ``m.last`` is chosen; install it if it
        covers more than our chosen prefix, and acknowledge our prefix."""
        if m.ballot < self.promised:
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
            return
        if self.role is Role.PRE_CANDIDATE:
            self._become_follower(m.frm)
        if self.role is not Role.FOLLOWER:
            return
        self.leader, self.elapsed = m.frm, 0
        if m.last > self.commit:
            self._install(m.last, m.snapshot)
        self._send(Message(MT.ACCEPTED, m.frm, self.id, ballot=m.ballot, commit=self.commit))

    def _install(self, index: int, data: bytes) -> None:
        """Take a peer's snapshot at ``index`` (above our chosen prefix): slots up to it
        are chosen with the state ``data``; our votes above it stay."""
        self.snap = Snapshot(SnapshotMeta(index, 0, ConfState(voters=self.voters)), data)
        self.pending_snapshot = self.snap
        for s in [s for s in self.log if s <= index]:
            del self.log[s]
        self.commit = index  # a vote above it is not known chosen until a notice says so
        self.last = max(self.last, index)
        self.stable_last = max(self.stable_last, index)  # the save keeps storage contiguous

    def compact(self, index: int, data: bytes) -> Snapshot:
        """The state machine executed every slot up to ``index`` and its state is ``data``:
        drop the votes up to ``index`` (chosen: no phase 1 needs them again).  Returns the
        snapshot, which the driver makes durable before releasing the WAL's segments.
        ``index`` must be applied and above the current snapshot."""
        if not self.snap.meta.index < index <= self.applied:
            raise ValueError(f"compact({index}): need {self.snap.meta.index} < index <= "
                             f"applied {self.applied}")
        self.snap = Snapshot(SnapshotMeta(index, 0, ConfState(voters=self.voters)), data)
        for s in [s for s in self.log if s <= index]:
            del self.log[s]
        return self.snap

    def _on_accepted(self, m: Message) -> None:
        if self.role is not Role.LEADER or m.ballot != self.ballot or m.frm not in self.match:
            return
        self.recent.add(m.frm)
        p = m.frm
        match = max(self.match[p], min(m.commit, self.last))
        if m.slot and m.slot <= match + 1:
            match = max(match, m.last)
        self.match[p] = match
        if m.context and m.context in self.reads:
            index, acks = self.reads[m.context]
            acks.add(p)
            if len(acks) + 1 >= self.quorum:
                del self.reads[m.context]
                self.read_states.append(ReadState(index, m.context))
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if self.role is not Role.LEADER:
            return
        matches = sorted([self.self_match, *self.match.values()], reverse=True)
        c = min(matches[self.quorum - 1], self.last)
        if c > self.commit:
            self.commit = c

    def _append(self, datas: Sequence[bytes]) -> None:
        for d in datas:
            self._write(Entry(term=self.ballot, index=self.last + 1, data=d))

    def propose(self, data: bytes) -> None:
        """Propose a command; the same as ``propose_batch([data])``."""
        self.propose_batch((data,))

    def propose_batch(self, batch: Sequence[bytes]) -> None:
        """Propose commands in order, in consecutive slots; a follower that knows its leader
        forwards them (one PROPOSE), otherwise raises :class:`ProposalDropped`."""
        if not batch:
            return
        if self.role is Role.LEADER:
            self._append(batch)
        elif self.leader != NONE:
            self._send(Message(MT.PROPOSE, self.leader, self.id,
                               entries=tuple(Entry(0, 0, data=d) for d in batch)))
        else:
            raise ProposalDropped("no leader known: proposal dropped")

    def read_index(self, context: bytes) -> None:
        """Leader only: a linearizable read point, answered as a ``ReadState`` once a
        majority acknowledged a heartbeat sent after the request (they promised nothing
        higher, so no other leader chose anything); its index is the last slot proposed.
        A follower raises :class:`NotLeader` naming its leader."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader, "read index")
        if context in self.reads:
            return
        if self.quorum == 1:
            self.read_states.append(ReadState(self.last, context))
            return
        self.reads[context] = (self.last, set())
        for p in self.peers:
            self._send(Message(MT.ACCEPT, p, self.id, ballot=self.ballot, commit=self.commit,
                               context=context))

    # -- outputs ---------------------------------------------------------------------------
    def _hard(self) -> HardState:
        return HardState(self.promised, owner(self.promised, self.voters), self.commit)

    def _soft(self) -> SoftState:
        return SoftState(self.leader, self.role)

    def has_ready(self) -> bool:
        """Is there anything to persist, send, apply or report?"""
        return bool(self.msgs or self.read_states or self.dirty_from is not None
                    or self.pending_snapshot is not None
                    or self.heartbeat_due or self.applied < self.commit
                    or self._hard() != self._prev_hard or self._soft() != self._prev_soft
                    or (self.role is Role.LEADER
                        and any(self.sent[p] < self.last for p in self.peers)))

    def _flush(self) -> None:
        """A leader's ACCEPTs: every peer gets the slots after the last one sent to it (on
        a heartbeat, after the last one it acknowledged), or an empty heartbeat."""
        if self.role is not Role.LEADER:
            self.heartbeat_due = False
            return
        beat, self.heartbeat_due = self.heartbeat_due, False
        for p in self.peers:
            if beat:
                self.sent[p] = min(self.sent[p], self.match[p])
            start = self.sent[p] + 1
            if start <= self.snap.meta.index:  # it needs compacted slots: the snapshot
                if self.snap_wait.get(p, 0) > 0:  # one is on its way: wait for its answer
                    self.sent[p] = max(self.sent[p], self.last)
                    continue
                self.snap_wait[p] = self.cfg.election_tick
                self.sent[p] = self.snap.meta.index
                self._send(Message(MT.SNAPSHOT, p, self.id, ballot=self.ballot,
                                   last=self.snap.meta.index, commit=self.commit,
                                   snapshot=self.snap.data))
                start = self.sent[p] + 1
            if start > self.last and not beat:
                continue
            end = min(self.last, start + self.cfg.max_msg_entries - 1)
            ents = tuple(Entry(self.ballot, s, data=self.log[s].data)
                         for s in range(start, end + 1))
            self.sent[p] = max(self.sent[p], end)
            self._send(Message(MT.ACCEPT, p, self.id, ballot=self.ballot, entries=ents,
                               commit=self.commit))

    def ready(self) -> Ready:
        """What to persist, send and apply now (see the module docstring for the order)."""
        self._flush()
        hard, soft = self._hard(), self._soft()
        entries: tuple[Entry, ...] = ()
        base, snap = self.snap.meta.index, self.pending_snapshot
        if self.dirty_from is not None:
            start = max(min(self.dirty_from, self.stable_last + 1), base + 1)
            entries = tuple(self.log.get(s) or Entry(0, s) for s in range(start, self.last + 1))
            self.stable_last = self.last  # handed to storage; saves are made in order
        done = self.applied if snap is None else max(self.applied, snap.meta.index)
        committed = tuple(self.log[s] for s in range(done + 1, self.commit + 1))
        rd = Ready(
            soft_state=soft if soft != self._prev_soft else None,
            hard_state=hard if hard != self._prev_hard else None,
            entries=entries, snapshot=snap, messages=tuple(self.msgs),
            committed_entries=committed, read_states=tuple(self.read_states),
            must_sync=bool(entries) or snap is not None
            or (hard.term, hard.vote) != (self._prev_hard.term, self._prev_hard.vote))
        self.msgs, self.read_states, self.dirty_from = [], [], None
        self.pending_snapshot = None
        self._prev_hard, self._prev_soft = hard, soft
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver has persisted, sent and applied everything in ``rd``."""
        if rd.entries and self.role is Role.LEADER:
            s = self.self_match  # count ourselves for the slots now durable at our ballot
            for e in rd.entries:
                if e.index == s + 1 and e.term == self.ballot:
                    s = e.index
            self.self_match = s
            self._maybe_commit()
        if rd.snapshot is not None:
            self.applied = max(self.applied, rd.snapshot.meta.index)
        if rd.committed_entries:
            self.applied = max(self.applied, rd.committed_entries[-1].index)

    def status(self) -> Status:
        return Status(id=self.id, hard_state=self._hard(), soft_state=self._soft(),
                      ballot=self.ballot, applied=self.applied, last_index=self.last,
                      match=dict(self.match) if self.role is Role.LEADER else {},
                      snapshot_index=self.snap.meta.index)

    def accepted(self, slot: int) -> Entry | None:
        """The value this acceptor accepted in ``slot`` (its ballot as ``term``), if any."""
        return self.log.get(slot)

