"""What a leader knows about each follower's log (etcd-raft's ``tracker``).

Theory of operation.  A leader keeps one :class:`Progress` per member:

* ``match``: highest index known to be replicated there (Raft paper's matchIndex);
* ``next``: next index to send (nextIndex);
* ``state``:
  - ``PROBE``: we do not know where the follower's log matches ours; send one
    AppendEntries at a time (``probe_sent`` pauses until a reply or heartbeat reply);
  - ``REPLICATE``: the follower is in sync; send optimistically, advancing ``next`` as
    soon as a message is sent (pipelining), limited by the :class:`Inflights` window
    (flow control);
  - ``SNAPSHOT``: the entries it needs are compacted away; a snapshot is in flight and
    nothing else is sent until it is acknowledged or reported failed.

:class:`ProgressTracker` holds the configuration (voters, learners), the progress map and
the votes of the current election, and answers quorum questions through
:mod:`quorum.impl.raft.quorum`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

from quorum.impl.mutants import Mutant

from . import quorum
from .errors import PanicError
from .types import ConfState

__all__ = ["Inflights", "Progress", "ProgressState", "ProgressTracker"]


class ProgressState(IntEnum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2


class Inflights:
    """The window of AppendEntries sent but not yet acknowledged (by last index sent)."""

    def __init__(self, capacity: int, max_bytes: int = 0) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes  # 0: no byte limit
        self._q: deque[tuple[int, int]] = deque()  # (last index, payload bytes)
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._q)

    def add(self, index: int, size: int) -> None:
        if self.full():
            raise PanicError(f"sending index {index} into a full inflights window")
        self._q.append((index, size))
        self.bytes += size

    def free_le(self, index: int) -> None:
        """Forget every message whose last index is ``<= index`` (it was acknowledged)."""
        while self._q and self._q[0][0] <= index:
            self.bytes -= self._q.popleft()[1]

    def free_first_one(self) -> None:
        if self._q:
            self.bytes -= self._q.popleft()[1]

    def full(self) -> bool:
        return len(self._q) >= self.capacity or (
            self.max_bytes > 0 and self.bytes >= self.max_bytes
        )

    def reset(self) -> None:
        self._q.clear()
        self.bytes = 0


@dataclass
class Progress:
    """The leader's view of one member's log (see the module docstring)."""

    match: int
    next: int
    inflights: Inflights
    state: ProgressState = ProgressState.PROBE
    learner: bool = False
    probe_sent: bool = False  # PROBE: one message is out, wait for its answer
    pending_snapshot: int = 0  # SNAPSHOT: index of the snapshot in flight
    snapshot_ticks: int = 0  # SNAPSHOT: leader ticks since it was sent
    recent_active: bool = False  # heard from since the last check-quorum round
    sent_commit: int = 0  # the highest commit index sent to it (AppendEntries, heartbeat)

    def _reset(self, state: ProgressState) -> None:
        self.state = state
        self.probe_sent = False
        self.pending_snapshot = 0
        self.snapshot_ticks = 0
        self.inflights.reset()

    def become_probe(self) -> None:
        """Probe from the match index, or from just after an acknowledged snapshot."""
        snap = self.pending_snapshot if self.state is ProgressState.SNAPSHOT else 0
        self._reset(ProgressState.PROBE)
        self.next = max(self.match + 1, snap + 1)

    def become_replicate(self) -> None:
        self._reset(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, index: int) -> None:
        self._reset(ProgressState.SNAPSHOT)
        self.pending_snapshot = index

    def maybe_update(self, n: int) -> bool:
        """The member acknowledged index ``n``; False when that is old news."""
        updated = n > self.match
        if updated:
            self.match = n
            self.probe_sent = False
        self.next = max(self.next, n + 1)
        return updated

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """The member rejected an append at ``rejected``; back ``next`` off (Figure 7).

        Returns False when the rejection is stale (answers an older message).
        """
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def is_paused(self) -> bool:
        """Must the leader hold back AppendEntries to this member?"""
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return self.inflights.full()
        return True

    def sent_entries(self, last_index: int | None, size: int) -> None:
        """Account for an AppendEntries just sent (``last_index`` None: no entries)."""
        if self.state is ProgressState.REPLICATE and last_index is not None:
            self.next = last_index + 1
            self.inflights.add(last_index, size)
        elif self.state is ProgressState.PROBE:
            self.probe_sent = True


@dataclass
class ProgressTracker:
    """Configuration, per-member progress and the votes of the current election."""

    max_inflight: int
    max_inflight_bytes: int = 0
    voters: tuple[int, ...] = ()
    voters_outgoing: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    progress: dict[int, Progress] = field(default_factory=dict)
    votes: dict[int, bool] = field(default_factory=dict)
    mutants: frozenset[Mutant] = frozenset()  # RaftConfig.mutants (ceil-majority is read here)

    def conf_state(self) -> ConfState:
        return ConfState(voters=self.voters, learners=self.learners,
                         voters_outgoing=self.voters_outgoing)

    def set_config(self, cs: ConfState, next_index: int) -> None:
        """Adopt ``cs``; keep progress of members that stay, start new ones at probe."""
        self.voters = tuple(sorted(cs.voters))
        self.voters_outgoing = tuple(sorted(cs.voters_outgoing))
        self.learners = tuple(sorted(cs.learners))
        members = set(self.voters) | set(self.voters_outgoing) | set(self.learners)
        self.progress = {i: self.progress.get(i) or self._new_progress(next_index)
                         for i in sorted(members)}
        for i, pr in self.progress.items():
            pr.learner = i in self.learners

    def _new_progress(self, next_index: int) -> Progress:
        return Progress(match=0, next=next_index, recent_active=True,
                        inflights=Inflights(self.max_inflight, self.max_inflight_bytes))

    def is_voter(self, i: int) -> bool:
        return i in self.voters or i in self.voters_outgoing

    def is_singleton(self) -> bool:
        return len(self.voters) == 1 and not self.voters_outgoing

    def committed(self) -> int:
        """Highest index stored on a quorum (section 5.3); 0 with no voters."""
        acked = {i: pr.match for i, pr in self.progress.items()}
        return quorum.joint_committed_index(self.voters, self.voters_outgoing, acked,
                                            self._ceil())

    def vote_result(self, votes: dict[int, bool]) -> quorum.VoteResult:
        return quorum.joint_vote_result(self.voters, self.voters_outgoing, votes, self._ceil())

    def _ceil(self) -> bool:
        return Mutant.CEIL_MAJORITY in self.mutants

    def record_vote(self, i: int, granted: bool) -> None:
        self.votes.setdefault(i, granted)

    def tally(self) -> tuple[int, int, quorum.VoteResult]:
        granted = sum(1 for v in self.votes.values() if v)
        return granted, len(self.votes) - granted, self.vote_result(self.votes)

    def reset_votes(self) -> None:
        self.votes = {}

    def quorum_active(self) -> bool:
        """Has a quorum been heard from recently (check-quorum, thesis section 6.2)?"""
        active = {i: pr.recent_active for i, pr in self.progress.items() if not pr.learner}
        return self.vote_result(active) is quorum.VoteResult.WON
