"""The decisions of raft.tla that the known Raft bugs get wrong, as a table.

The actions in :mod:`quorum.spec.raft.tla.actions` follow raft.tla line by line, except at
the few places where a known bug lives: there they ask a :class:`Rules` object.
:data:`RAFT` holds raft.tla's own answers; each mutant in
:mod:`quorum.spec.raft.mutants` swaps one or two of them, so the difference between the
correct protocol and a bug is a single, named function.

The table's last fields are etcd's extensions: decisions raft.tla never takes, asked only
by the layer :mod:`quorum.spec.raft.etcd` on top of raft.tla's ``Next`` (for trace
validation of the store), where their defaults make that layer raft.tla itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quorum.spec.common import majority
from quorum.spec.raft.tla.state import (
    CANDIDATE,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    Log,
    RequestVoteRequest,
    last_term,
)

__all__ = [
    "ACCEPT",
    "RAFT",
    "REJECT",
    "STEP_DOWN",
    "Rules",
    "append_branch",
    "append_log_ok",
    "can_append",
    "commit_term_ok",
    "commits_after_restart",
    "entry_present",
    "follower_commit",
    "is_config_entry",
    "may_change_config",
    "match_after_success",
    "may_take_requests",
    "reply_match",
    "snapshot_retains",
    "vote_after_restart",
    "vote_log_ok",
]

# The outcome of HandleAppendEntriesRequest before looking at the entries.
REJECT, STEP_DOWN, ACCEPT = "reject", "return to follower", "accept"


def vote_log_ok(log: Log, m: RequestVoteRequest) -> bool:
    """The candidate's log is at least as up-to-date as the voter's (Raft §5.4.1)."""
    lt = last_term(log)
    return m.mlast_log_term > lt or (m.mlast_log_term == lt and m.mlast_log_index >= len(log))


def append_log_ok(log: Log, m: AppendEntriesRequest) -> bool:
    """The AppendEntries consistency check (Raft §5.3): the follower holds the
    entry that precedes the new ones, with the same term."""
    k = m.mprev_log_index
    return k == 0 or (0 < k <= len(log) and log[k - 1][0] == m.mprev_log_term)


def append_branch(role: int, term: int, m: AppendEntriesRequest, log_ok: bool) -> str | None:
    """Which branch of HandleAppendEntriesRequest applies (m.mterm <= term).

    A stale request is rejected; a candidate of the request's term returns to
    follower; a follower accepts when the consistency check passes.  A leader
    receiving a request of its own term has no enabled branch (``None``)."""
    if m.mterm < term or (role == FOLLOWER and not log_ok):
        return REJECT
    if role == CANDIDATE:
        return STEP_DOWN
    if role == FOLLOWER:
        return ACCEPT
    return None


def entry_present(log: Log, index: int, entry: tuple[int, int]) -> bool:
    """The follower already holds the entry at ``index`` (same term)."""
    return len(log) >= index and log[index - 1][0] == entry[0]


def can_append(log: Log, m: AppendEntriesRequest) -> bool:
    """The new entry goes right after the follower's last entry."""
    return len(log) == m.mprev_log_index


def commit_term_ok(entry_term: int, current_term: int) -> bool:
    """A leader commits by counting replicas only entries of its own term (Raft §5.4.2)."""
    return entry_term == current_term


def may_take_requests(role: int) -> bool:
    """Only a leader appends client requests to its log (§5.3)."""
    return role == LEADER


def vote_after_restart(voted_for: int) -> int:
    """votedFor is on stable storage: a restart keeps it (Raft Figure 2)."""
    return voted_for


# --- etcd's extensions: raft.tla's behaviour, asked only by quorum.spec.raft.etcd ----------
# raft.tla's actions (quorum.spec.raft.tla.actions) never ask these: they are the places
# where etcd departs from raft.tla, safely (docs/refinement.md, "The etcd rules"), and the
# etcd layer on top of raft.tla's Next asks them.  The defaults are raft.tla's answers, so
# that the layer under RAFT is raft.tla itself; quorum.spec.raft.etcd.ETCD holds etcd's.

def commits_after_restart(commit_index: int) -> tuple[int, ...]:
    """commitIndex is volatile: a restart resets it to 0 (raft.tla's ``Restart``)."""
    return (0,)


def follower_commit(commit_index: int, mcommit_index: int) -> int:
    """A follower takes the request's commit index (raft.tla; it may go down)."""
    return mcommit_index


def reply_match(m: AppendEntriesRequest, last_new: int, commit_index: int) -> int:
    """A follower acknowledges the last entry the request carried (raft.tla)."""
    return last_new


def match_after_success(match_index: int, mmatch_index: int) -> int:
    """A leader takes the response's match index (raft.tla; it may go down)."""
    return mmatch_index


# --- snapshots and membership: asked only by quorum.spec.raft.snapshots / .membership ----

def is_config_entry(entry: tuple[int, int]) -> bool:
    """A configuration entry (quorum.spec.raft.membership) carries ``~members`` (< 0) as
    its value; a client value is >= 0."""
    return entry[1] < 0


def snapshot_retains(log: Log, last_index: int, last_term: int) -> bool:
    """InstallSnapshot's receiver (Ongaro's dissertation, Figure 5.3): the follower keeps
    the entries after the snapshot only if it holds the snapshot's last entry (same index
    and term); otherwise it discards its whole log."""
    return len(log) >= last_index and log[last_index - 1][0] == last_term


def may_change_config(log: Log, commit_index: int, current_term: int) -> bool:
    """A leader may append a configuration entry (dissertation §4.1) only when no
    configuration entry of its log is uncommitted (one change at a time) and, Ongaro's fix
    of July 2015 (raft-dev), once it has committed an entry of its own term."""
    if any(is_config_entry(e) for e in log[commit_index:]):
        return False
    return commit_index > 0 and log[commit_index - 1][0] == current_term


@dataclass(frozen=True)
class Rules:
    """The bug-prone decisions, plus the quorum size (``None``: a majority), then etcd's
    extensions (asked only by :mod:`quorum.spec.raft.etcd`; raft.tla's by default)."""

    vote_log_ok: Callable[[Log, RequestVoteRequest], bool] = vote_log_ok
    append_log_ok: Callable[[Log, AppendEntriesRequest], bool] = append_log_ok
    append_branch: Callable[[int, int, AppendEntriesRequest, bool], str | None] = append_branch
    entry_present: Callable[[Log, int, tuple[int, int]], bool] = entry_present
    can_append: Callable[[Log, AppendEntriesRequest], bool] = can_append
    commit_term_ok: Callable[[int, int], bool] = commit_term_ok
    vote_after_restart: Callable[[int], int] = vote_after_restart
    may_take_requests: Callable[[int], bool] = may_take_requests
    quorum_size: Callable[[int], int] = majority
    # etcd's extensions (quorum.spec.raft.etcd)
    commits_after_restart: Callable[[int], tuple[int, ...]] = commits_after_restart
    follower_commit: Callable[[int, int], int] = follower_commit
    reply_match: Callable[[AppendEntriesRequest, int, int], int] = reply_match
    match_after_success: Callable[[int, int], int] = match_after_success
    #: a leader may also send ``Heartbeat(i, j)`` (see quorum.spec.raft.etcd.heartbeat)
    heartbeats: bool = False
    #: a candidate returns to follower (same term, same vote) once so many servers have
    #: refused it that no quorum can grant (etcd's VoteLost); raft.tla's waits for a timeout
    lost_elections: bool = False
    #: etcd's pre-vote (Ongaro's thesis, §9.6), seen through raft.tla's variables: the
    #: steps ``PreCampaign(i)`` and ``LearnTerm(i, t)`` (see quorum.spec.raft.etcd)
    pre_vote: bool = False
    # snapshots (quorum.spec.raft.snapshots) and membership (quorum.spec.raft.membership)
    snapshot_retains: Callable[[Log, int, int], bool] = snapshot_retains
    may_change_config: Callable[[Log, int, int], bool] = may_change_config
    #: etcd's rule: a server uses the latest configuration it has *applied* (committed),
    #: not the latest in its log (the dissertation's)
    config_on_apply: bool = False
    #: etcd's restore: the receiver of an InstallSnapshot that already holds the snapshot's
    #: last entry only advances its commit index (its log and snapshot stay as they are);
    #: the dissertation's (Figure 5.3) also saves the snapshot, compacting its log
    snapshot_fast_forward: bool = False
    #: etcd's learners (the dissertation's non-voting members, §4.2.1): AddLearner steps
    #: and configurations of voters plus learners (quorum.spec.raft.membership)
    learners: bool = False
    #: etcd's leader may propose its own removal (RemoveServer(i, i); the dissertation's
    #: steps down once it commits, which this spec leaves out)
    leader_removes_itself: bool = False


#: raft.tla's own answers
RAFT = Rules()
