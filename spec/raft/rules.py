"""The decisions of raft.tla that the known Raft bugs get wrong, as a table.

The actions in :mod:`spec.raft.actions` follow raft.tla line by line, except at
the few places where a known bug lives: there they ask a :class:`Rules` object.
:data:`RAFT` holds raft.tla's own answers; each mutant in
:mod:`spec.raft.mutants` swaps one or two of them, so the difference between the
correct protocol and a bug is a single, named function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spec.common import majority
from spec.raft.state import (
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
    "entry_present",
    "may_take_requests",
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


@dataclass(frozen=True)
class Rules:
    """The bug-prone decisions, plus the quorum size (``None``: a majority)."""

    vote_log_ok: Callable[[Log, RequestVoteRequest], bool] = vote_log_ok
    append_log_ok: Callable[[Log, AppendEntriesRequest], bool] = append_log_ok
    append_branch: Callable[[int, int, AppendEntriesRequest, bool], str | None] = append_branch
    entry_present: Callable[[Log, int, tuple[int, int]], bool] = entry_present
    can_append: Callable[[Log, AppendEntriesRequest], bool] = can_append
    commit_term_ok: Callable[[int, int], bool] = commit_term_ok
    vote_after_restart: Callable[[int], int] = vote_after_restart
    may_take_requests: Callable[[int], bool] = may_take_requests
    quorum_size: Callable[[int], int] = majority


RAFT = Rules()
