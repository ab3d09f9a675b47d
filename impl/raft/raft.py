"""The Raft state machine of one node (Ongaro and Ousterhout, "In Search of an
Understandable Consensus Algorithm", 2014; Ongaro's thesis, 2014).

Theory of operation.  :class:`Raft` holds a node's protocol state: the persistent
``term`` and ``vote``, the log (:class:`~quorum.impl.raft.log.RaftLog`), the volatile role and
leader, and, on a leader, the per-member progress.  It has three kinds of input:

* :meth:`Raft.step` — a message from a peer.  First the term rules common to every role
  (section 5.1: a newer term turns us into a follower; an older term is answered or
  ignored), then a handler chosen from a table by role and message type;
* :meth:`Raft.tick` — one tick of the logical clock (election or heartbeat timer);
* local requests (propose, read index, transfer leadership, campaign) made by
  :class:`~quorum.impl.raft.rawnode.RawNode`.

Its only outputs are ``msgs`` (messages to send once the state they depend on is
durable), ``read_states``, and the log's unstable part and commit index.  Handlers live
in small modules by concern: :mod:`.election`, :mod:`.replication` (leader to
followers), :mod:`.follower` (followers' side of replication), :mod:`.leader` (the
leader's requests).  No clock, socket, thread or randomness: the election timeout is
drawn from ``random.Random`` seeded by the config's ``seed`` and the node id.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from . import confchange, election, follower, leader, replication
from .config import RaftConfig
from .errors import PanicError
from .log import RaftLog
from .progress import ProgressState, ProgressTracker
from .readonly import ReadOnly
from .storage import MemoryStorage
from .types import (
    NONE,
    ConfChange,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Role,
    SoftState,
)

__all__ = ["Raft"]

Handler = Callable[["Raft", Message], None]
MT = MessageType

#: Handlers by role, then by message type; a type missing from a table is ignored.
#: (Vote requests are handled the same way in every role: see :meth:`Raft.step`.)
_FOLLOWER: dict[MessageType, Handler] = {
    MT.APPEND: follower.handle_append,
    MT.HEARTBEAT: follower.handle_heartbeat,
    MT.SNAPSHOT: follower.handle_snapshot,
    MT.TIMEOUT_NOW: follower.handle_timeout_now,
    MT.READ_INDEX_RESP: follower.handle_read_index_resp,
}
_CANDIDATE: dict[MessageType, Handler] = {
    MT.APPEND: follower.demote_then(follower.handle_append),
    MT.HEARTBEAT: follower.demote_then(follower.handle_heartbeat),
    MT.SNAPSHOT: follower.demote_then(follower.handle_snapshot),
    MT.VOTE_RESP: election.handle_vote_resp,
    MT.PRE_VOTE_RESP: election.handle_vote_resp,
}
_LEADER: dict[MessageType, Handler] = {
    MT.APPEND_RESP: replication.handle_append_resp,
    MT.HEARTBEAT_RESP: replication.handle_heartbeat_resp,
    MT.PROPOSE: leader.handle_forwarded_propose,
    MT.READ_INDEX: leader.handle_forwarded_read_index,
}
_STEP: dict[Role, dict[MessageType, Handler]] = {
    Role.FOLLOWER: _FOLLOWER,
    Role.PRE_CANDIDATE: _CANDIDATE,
    Role.CANDIDATE: _CANDIDATE,
    Role.LEADER: _LEADER,
}
#: Messages that carry a leader's authority for their term.
_FROM_LEADER = frozenset({MT.APPEND, MT.HEARTBEAT, MT.SNAPSHOT})


class Raft:
    """One node's Raft state; driven through :class:`~quorum.impl.raft.rawnode.RawNode`."""

    def __init__(self, cfg: RaftConfig, storage: MemoryStorage) -> None:
        cfg.validate()
        self.id = cfg.id
        self.cfg = cfg
        self.mutants = cfg.mutants  # test-only bugs (quorum.impl.mutants), normally empty
        self.log = RaftLog(storage, cfg.max_apply_bytes)
        hs, cs = storage.initial_state()
        self.tracker = ProgressTracker(cfg.max_inflight_msgs, cfg.max_inflight_bytes,
                                       mutants=cfg.mutants)
        self.tracker.set_config(cs, self.log.last_index() + 1)
        self.term, self.vote = hs.term, hs.vote
        self.log.commit_to(hs.commit)
        if cfg.applied:
            self.log.applied_to(max(cfg.applied, self.log.applied))
        self.role = Role.FOLLOWER
        self.lead = NONE
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.read_only = ReadOnly()
        self.pending_reads: list[tuple[int, bytes]] = []  # waiting for a commit in our term
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.bcast_pending = False  # replicate at the next Ready (replication.flush)
        self._rng = random.Random(f"raft:{cfg.seed}:{cfg.id}")
        self.randomized_election_timeout = cfg.election_tick
        self.become_follower(self.term, NONE)

    # -- facts -----------------------------------------------------------------------------
    def hard_state(self) -> HardState:
        return HardState(term=self.term, vote=self.vote, commit=self.log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(leader=self.lead, role=self.role)

    def promotable(self) -> bool:
        """May this node campaign?  Voters only, and not while installing a snapshot."""
        return self.id in self.tracker.voters and self.log.unstable.snapshot is None

    def committed_in_current_term(self) -> bool:
        return self.log.zero_term_on_error(self.log.committed) == self.term

    def persisted_index(self) -> int:
        """Last index both durable and still part of our log."""
        return min(self.log.storage.last_index(), self.log.unstable.offset - 1)

    # -- output ----------------------------------------------------------------------------
    def send(self, type: MessageType, to: int, **fields: object) -> None:
        """Queue a message from us, stamped with our term unless ``term`` is given."""
        fields.setdefault("term", self.term)
        self.msgs.append(Message(type=type, to=to, frm=self.id, **fields))  # type: ignore[arg-type]

    # -- role changes (Raft paper, Figure 4) ----------------------------------------------
    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term, self.vote = term, NONE
        self.lead = NONE
        self.election_elapsed = self.heartbeat_elapsed = 0
        et = self.cfg.election_tick
        self.randomized_election_timeout = et + self._rng.randrange(et)
        self.lead_transferee = NONE
        self.tracker.reset_votes()
        last = self.log.last_index()
        for i, pr in self.tracker.progress.items():
            pr.match, pr.next, pr.recent_active, pr.sent_commit = 0, last + 1, i == self.id, 0
            pr.inflights.reset()
            pr.state, pr.probe_sent, pr.pending_snapshot = ProgressState.PROBE, False, 0
        self.pending_conf_index = 0
        self.bcast_pending = False
        self.read_only.reset()
        self.pending_reads = []

    def become_follower(self, term: int, lead: int) -> None:
        self._reset(term)
        self.lead, self.role = lead, Role.FOLLOWER

    def become_pre_candidate(self) -> None:
        """Pre-vote (thesis 9.6): like a candidate, but neither term nor vote change."""
        if self.role is Role.LEADER:
            raise PanicError("invalid transition: leader -> pre-candidate")
        self.tracker.reset_votes()
        self.lead, self.role = NONE, Role.PRE_CANDIDATE

    def become_candidate(self) -> None:
        if self.role is Role.LEADER:
            raise PanicError("invalid transition: leader -> candidate")
        self._reset(self.term + 1)
        self.vote, self.role = self.id, Role.CANDIDATE

    def become_leader(self) -> None:
        """Win an election: probe every follower and append an empty entry (section 8)."""
        if self.role is not Role.CANDIDATE:
            raise PanicError(f"invalid transition: {self.role.name.lower().replace('_', '-')} -> leader")
        self._reset(self.term)
        self.lead, self.role = self.id, Role.LEADER
        me = self.tracker.progress.get(self.id)
        if me is not None:
            me.match = self.persisted_index()
            me.become_replicate()
        self.append_entries([Entry(term=0, index=0)])
        # No conf change until this empty entry of our term is applied (the 2015 fix).
        self.pending_conf_index = self.log.last_index()

    # -- inputs ----------------------------------------------------------------------------
    def tick(self) -> None:
        if self.role is Role.LEADER:
            leader.tick_heartbeat(self)
        else:
            election.tick_election(self)

    def step(self, m: Message) -> None:
        """Handle a peer's message (section 5.1's term rules, then the role's handler)."""
        if not self._check_term(m):
            return
        if m.type in (MT.VOTE, MT.PRE_VOTE):
            election.handle_vote_request(self, m)
            return
        handler = _STEP[self.role].get(m.type)
        if handler is not None:
            handler(self, m)

    def _check_term(self, m: Message) -> bool:
        """Apply the term rules; False when the message needs no further handling."""
        if m.term > self.term:
            return election.on_higher_term(self, m, m.type in _FROM_LEADER)
        if m.term < self.term:
            follower.on_lower_term(self, m)
            return False
        return True

    def append_entries(self, ents: list[Entry]) -> None:
        """Leader: stamp ``ents`` with our term and the next indexes, append, replicate."""
        li = self.log.last_index()
        t = self.term  # Entry(...) directly: dataclasses.replace costs several times more
        stamped = [Entry(t, li + 1 + k, e.type, e.data) for k, e in enumerate(ents)]
        self.log.append(stamped)
        replication.bcast_append(self)

    def on_persisted(self, index: int, term: int) -> None:
        """The driver made entries up to ``index`` (of ``term``) durable."""
        self.log.stable_to(index, term)
        me = self.tracker.progress.get(self.id)
        if self.role is Role.LEADER and me is not None and self.log.match_term(index, term):
            if me.maybe_update(index) and replication.maybe_commit(self) \
                    and self.cfg.eager_commit:
                replication.bcast_append(self)

    def add_read_state(self, index: int, context: bytes) -> None:
        self.read_states.append(ReadState(index=index, context=context))

    # -- configuration ---------------------------------------------------------------------
    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Adopt a committed, applied conf change; an invalid one changes nothing."""
        try:
            cs = confchange.apply_change(self.tracker.conf_state(), cc)
        except confchange.ConfChangeError:
            return self.tracker.conf_state()
        self.tracker.set_config(cs, self.log.last_index() + 1)
        if self.role is Role.LEADER:
            leader.after_conf_change(self)
        return cs

    def restore_config(self, cs: ConfState) -> None:
        self.tracker = ProgressTracker(self.cfg.max_inflight_msgs, self.cfg.max_inflight_bytes,
                                       mutants=self.cfg.mutants)
        self.tracker.set_config(cs, self.log.last_index() + 1)

    def has_unapplied_conf_change(self) -> bool:
        lo = max(self.log.applied + 1, self.log.first_index())
        ents = self.log.slice(lo, self.log.committed + 1) if lo <= self.log.committed else []
        return any(e.type is EntryType.CONF_CHANGE for e in ents)
