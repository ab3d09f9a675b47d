"""The public, synchronous API of the Raft core (etcd-raft's ``RawNode``).

A driver (the asyncio runtime, the deterministic simulator, a test harness) owns one
:class:`RawNode` and a :class:`~quorum.impl.raft.storage.MemoryStorage` and runs this loop::

    node.tick()                      # every tick of its clock
    node.step(message)               # every message from a peer
    node.propose(data) / node.propose_batch(datas) / node.read_index(ctx) / ...
    if node.has_ready():
        rd = node.ready()
        # 1. persist rd.hard_state, rd.entries, rd.snapshot (one fsync if rd.must_sync),
        #    then copy them into the MemoryStorage (append / set_hard_state / apply_snapshot)
        # 2. send rd.messages
        # 3. apply rd.snapshot (if any) and rd.committed_entries to the state machine; for
        #    a CONF_CHANGE entry call node.apply_conf_change(decode(entry.data))
        # 4. serve reads whose rd.read_states index is now applied
        node.advance(rd)

Nothing in here blocks, reads a clock, touches a socket or draws a random number the
driver did not seed.  Call ``advance(rd)`` before the next ``ready()``.  Local requests that
cannot be served raise :class:`~quorum.impl.raft.errors.ProposalDropped` (or its subclass
:class:`~quorum.impl.raft.errors.NotLeader`); a peer's message never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import codec, confchange, election, leader, replication
from .config import RaftConfig
from .errors import ConfigError
from .progress import ProgressState
from .raft import Raft
from .storage import MemoryStorage
from .types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    Ready,
    Role,
    SoftState,
)

__all__ = ["ProgressStatus", "RaftConfig", "RawNode", "Status"]


@dataclass(frozen=True, slots=True)
class ProgressStatus:
    """A leader's view of one member (Raft paper's matchIndex and nextIndex)."""

    match: int
    next: int
    state: ProgressState
    learner: bool
    recent_active: bool


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot of a node's state, for monitoring, the simulator and tests."""

    id: int
    hard_state: HardState
    soft_state: SoftState
    applied: int
    last_index: int
    last_term: int
    conf_state: ConfState
    lead_transferee: int
    votes: dict[int, bool] = field(default_factory=dict)  # the current election's votes
    progress: dict[int, ProgressStatus] = field(default_factory=dict)  # leaders only


class RawNode:
    """One Raft node, driven by its owner (see the module docstring)."""

    def __init__(self, config: RaftConfig, storage: MemoryStorage) -> None:
        self.raft = Raft(config, storage)
        self.storage = storage
        self._prev_soft = self.raft.soft_state()
        self._prev_hard = storage.hard_state

    def bootstrap(self, voters: tuple[int, ...]) -> None:
        """Start a brand-new cluster: log the initial members as committed conf changes.

        Like etcd-raft's bootstrap: entries ``1..n`` of term 1, each adding one voter, so
        that a member added later learns the whole history from the log.  The storage must
        be empty.  (Alternatively give ``MemoryStorage(conf_state=...)`` a configuration.)
        """
        r = self.raft
        if self.storage.last_index() != 0 or r.term != 0 or r.tracker.voters:
            raise ConfigError("bootstrap needs an empty storage and no configuration")
        if not voters or any(v <= 0 for v in voters):
            raise ConfigError(f"bootstrap needs positive voter ids, got {voters}")
        ccs = [ConfChange(ConfChangeType.ADD_NODE, v) for v in voters]
        r.become_follower(1, 0)
        r.log.append([Entry(term=1, index=i + 1, type=EntryType.CONF_CHANGE,
                            data=codec.conf_change_to_bytes(cc)) for i, cc in enumerate(ccs)])
        r.log.commit_to(len(ccs))
        for cc in ccs:  # applied again, harmlessly, when the application applies them
            r.apply_conf_change(cc)

    # -- inputs ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the logical clock by one tick."""
        self.raft.tick()

    def step(self, message: Message) -> None:
        """Handle a message from a peer (already validated by the codec)."""
        self.raft.step(message)

    def propose(self, data: bytes) -> None:
        """Propose a command; forwarded to the leader from a follower (see ``leader.py``).
        The same as ``propose_batch([data])``."""
        self.propose_batch((data,))

    def propose_batch(self, batch: Sequence[bytes]) -> None:
        """Propose several commands at once, in order: a leader appends them as one run of
        consecutive entries (one unstable append, one AppendEntries per follower, and so
        one write and one fsync in the driver's next Ready); a follower forwards them as one
        ``PROPOSE``.  All or none: raises like :meth:`propose`, and then none is taken."""
        if batch:
            leader.propose(self.raft, [Entry(term=0, index=0, data=d) for d in batch])

    def propose_conf_change(self, cc: ConfChange) -> None:
        """Propose adding/removing one member (single-server change, thesis 4.1).

        Raises :class:`~quorum.impl.raft.confchange.ConfChangeError` for a change that cannot
        apply, :class:`~quorum.impl.raft.errors.ProposalDropped` while another is pending.
        """
        confchange.apply_change(self.raft.tracker.conf_state(), cc)  # validate it now
        data = codec.conf_change_to_bytes(cc)
        leader.propose(self.raft, [Entry(term=0, index=0, type=EntryType.CONF_CHANGE,
                                         data=data)])

    def read_index(self, context: bytes) -> None:
        """Ask for a linearizable read point; answered later as a ``ReadState``.

        ``context`` must be unique among pending requests (a duplicate is ignored).
        """
        leader.read_index(self.raft, context)

    def transfer_leader(self, to: int) -> None:
        """Leader only: hand leadership to voter ``to`` (thesis 3.10)."""
        leader.transfer_leader(self.raft, to)

    def campaign(self) -> None:
        """Start an election now (with pre-vote first when enabled)."""
        election.hup(self.raft)

    def report_unreachable(self, to: int) -> None:
        leader.report_unreachable(self.raft, to)

    def report_snapshot(self, to: int, ok: bool) -> None:
        leader.report_snapshot(self.raft, to, ok)

    def commit_lagging(self) -> bool:
        """Leader: does a member not know of a commit index it could adopt?  The core
        sends no message of its own when its commit index moves: the members learn it
        from the next AppendEntries or heartbeat.  A driver that wants them to learn it
        sooner calls :meth:`send_commit` a short while (less than a heartbeat interval)
        after this turns true; under load the next AppendEntries carries it first."""
        return replication.commit_lagging(self.raft)

    def send_commit(self) -> None:
        """Leader: tell every lagging member (:meth:`commit_lagging`) the commit index,
        in the next Ready's messages."""
        replication.send_commit(self.raft)

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Adopt a committed conf change as the application applies it; the new config.

        An inapplicable change (e.g. removing the last voter) leaves it unchanged.
        """
        return self.raft.apply_conf_change(cc)

    # -- outputs ---------------------------------------------------------------------------
    def has_ready(self) -> bool:
        """Is there anything to persist, send, apply or report?"""
        r, ph, ps = self.raft, self._prev_hard, self._prev_soft
        return bool(
            r.bcast_pending or r.msgs or r.read_states or r.log.unstable.entries
            or r.log.unstable.snapshot is not None or r.log.has_next_committed()
            or (r.term, r.vote, r.log.committed) != (ph.term, ph.vote, ph.commit)
            or (r.lead, r.role) != (ps.leader, ps.role)
        )

    def ready(self) -> Ready:
        """What to persist, send and apply now (see ``types.py`` for the order)."""
        r = self.raft
        replication.flush(r)
        soft, hard = r.soft_state(), r.hard_state()
        entries = tuple(r.log.unstable_entries())
        rd = Ready(
            soft_state=soft if soft != self._prev_soft else None,
            hard_state=hard if hard != self._prev_hard else None,
            entries=entries,
            snapshot=r.log.unstable.snapshot,
            messages=tuple(r.msgs),
            committed_entries=tuple(r.log.next_committed()),
            read_states=tuple(r.read_states),
            must_sync=bool(entries) or r.log.unstable.snapshot is not None
            or (hard.term, hard.vote) != (self._prev_hard.term, self._prev_hard.vote),
        )
        r.msgs, r.read_states = [], []
        self._prev_soft, self._prev_hard = soft, hard
        return rd

    def advance(self, rd: Ready) -> None:
        """The driver has persisted, sent and applied everything in ``rd``."""
        r = self.raft
        if rd.snapshot is not None:
            r.log.stable_snap_to(rd.snapshot.meta.index)
            if rd.snapshot.meta.index > r.log.applied:
                r.log.applied = rd.snapshot.meta.index
        if rd.entries:
            last = rd.entries[-1]
            r.on_persisted(last.index, last.term)
        if rd.committed_entries:
            r.log.applied_to(max(r.log.applied, rd.committed_entries[-1].index))

    def status(self) -> Status:
        r = self.raft
        progress = {}
        if r.role is Role.LEADER:
            progress = {i: ProgressStatus(pr.match, pr.next, pr.state, pr.learner,
                                          pr.recent_active)
                        for i, pr in r.tracker.progress.items()}
        return Status(id=r.id, hard_state=r.hard_state(), soft_state=r.soft_state(),
                      applied=r.log.applied, last_index=r.log.last_index(),
                      last_term=r.log.last_term(), conf_state=r.tracker.conf_state(),
                      lead_transferee=r.lead_transferee, votes=dict(r.tracker.votes),
                      progress=progress)
