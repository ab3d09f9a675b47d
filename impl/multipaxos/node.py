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
from quorum.impl.raft.types import NONE, Entry, HardState, ReadState, Role, SoftState

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


class MultiPaxosNode:
    """One replica, driven by its owner (see the module docstring).

    ``hard_state`` and ``entries`` are what the replica's storage holds (both empty for a
    new replica): entries contiguous from slot 1, holes as ``term == 0``."""

    def __init__(self, config: MultiPaxosConfig, hard_state: HardState | None = None,
                 entries: Sequence[Entry] = ()) -> None:
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
        for k, e in enumerate(entries):
            if e.index != k + 1:
                raise ConfigError(f"entries must be contiguous from slot 1; slot {e.index} "
                                  f"at position {k}")
        self.cfg = cfg
        self.id = cfg.id
        self.voters = tuple(sorted(cfg.voters))
        self.peers = tuple(v for v in self.voters if v != self.id)
        self.quorum = len(self.voters) // 2 + 1
        self.rng = random.Random(cfg.seed * 1_000_003 + cfg.id)
        # -- durable (acceptor) state
        self.promised = hard_state.term
        self.log: dict[int, Entry] = {e.index: e for e in entries if e.term > 0}
        self.commit = hard_state.commit
        self.stable_last = len(entries)  # highest slot the storage holds (holes included)
        self.last = max(self.log, default=0)  # highest slot holding an accepted value
        if self.commit > self.last or any(s not in self.log for s in range(1, self.commit + 1)):
            raise ConfigError(f"chosen prefix {self.commit} has slots without a value")
        self.applied = min(cfg.applied, self.commit)
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
        self.heartbeat_due = False
        self.elapsed, self.timeout = 0, self._draw_timeout()

    # -- inputs ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the logical clock by one tick."""
        if self.role is Role.LEADER:
            self.heartbeat_elapsed += 1
            self.elapsed += 1
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
            self.campaign()

    def campaign(self) -> None:
        """Run phase 1 now with the next ballot this replica owns above its promise."""
        b = next_ballot(self.promised, self.id, self.voters)
        self.promised = b
        self.role, self.leader, self.ballot = Role.CANDIDATE, NONE, b
        self.elapsed, self.timeout = 0, self._draw_timeout()
        self.match, self.sent, self.reads = {}, {}, {}
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
        if m.ballot > self.promised and m.type in (MT.PREPARE, MT.ACCEPT, MT.REJECT):
            self._promise(m.ballot)
        handler = {MT.PREPARE: self._on_prepare, MT.PROMISE: self._on_promise,
                   MT.ACCEPT: self._on_accept, MT.ACCEPTED: self._on_accepted,
                   MT.REJECT: lambda m: None}[m.type]
        handler(m)

    def _on_prepare(self, m: Message) -> None:
        if m.ballot < self.promised:
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
            return
        if m.ballot == self.promised and self.role is not Role.FOLLOWER:
            return  # our own ballot (cannot come from a peer): ignore
        self.elapsed = 0  # give the candidate its chance before campaigning ourselves
        self._send(Message(MT.PROMISE, m.frm, self.id, ballot=m.ballot, slot=m.slot,
                           entries=self._accepted_from(m.slot), commit=self.commit))

    def _on_promise(self, m: Message) -> None:
        if self.role is not Role.CANDIDATE or m.ballot != self.ballot:
            return
        self.reports[m.frm] = (m.commit, m.entries)
        if len(self.reports) >= self.quorum:
            self._become_leader()

    def _become_leader(self) -> None:
        """Phase 1 is done: recover every slot from the reports and propose it at our ballot."""
        b, first = self.ballot, self.commit + 1
        known: dict[int, Entry] = {}  # slot -> a value some reporter knows chosen
        best: dict[int, Entry] = {}  # slot -> the accepted value of the highest ballot
        top = self.commit
        for commit, entries in self.reports.values():
            for e in entries:
                if e.index < first:
                    continue
                top = max(top, e.index)
                if e.index <= commit:
                    known.setdefault(e.index, e)
                cur = best.get(e.index)
                if cur is None or e.term > cur.term:
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
        self.reports = {}
        self.heartbeat_due = True
        self._maybe_commit()

    def _on_accept(self, m: Message) -> None:
        if m.ballot < self.promised:
            self._send(Message(MT.REJECT, m.frm, self.id, ballot=self.promised))
            return
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
        if self.dirty_from is not None:
            start = min(self.dirty_from, self.stable_last + 1)
            entries = tuple(self.log.get(s) or Entry(0, s) for s in range(start, self.last + 1))
            self.stable_last = self.last  # handed to storage; saves are made in order
        committed = tuple(self.log[s] for s in range(self.applied + 1, self.commit + 1))
        rd = Ready(
            soft_state=soft if soft != self._prev_soft else None,
            hard_state=hard if hard != self._prev_hard else None,
            entries=entries, messages=tuple(self.msgs), committed_entries=committed,
            read_states=tuple(self.read_states),
            must_sync=bool(entries) or (hard.term, hard.vote) != (self._prev_hard.term,
                                                                  self._prev_hard.vote))
        self.msgs, self.read_states, self.dirty_from = [], [], None
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
        if rd.committed_entries:
            self.applied = max(self.applied, rd.committed_entries[-1].index)

    def status(self) -> Status:
        return Status(id=self.id, hard_state=self._hard(), soft_state=self._soft(),
                      ballot=self.ballot, applied=self.applied, last_index=self.last,
                      match=dict(self.match) if self.role is Role.LEADER else {})

    def accepted(self, slot: int) -> Entry | None:
        """The value this acceptor accepted in ``slot`` (its ballot as ``term``), if any."""
        return self.log.get(slot)

