"""The follower's side: accepting AppendEntries, heartbeats and snapshots (Figure 2).

Every handler here runs on a follower of the sender's term (a candidate that hears from
the leader of its term steps down first: :func:`demote_then`).  Replies are queued in
``r.msgs``; the driver sends them only after persisting what they acknowledge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from quorum.impl.mutants import Mutant

from . import election
from .types import Message, MessageType

if TYPE_CHECKING:
    from .raft import Raft

__all__ = ["demote_then", "handle_append", "handle_heartbeat", "handle_read_index_resp",
           "handle_snapshot", "handle_timeout_now", "on_lower_term"]

MT = MessageType


def demote_then(handler: Callable[[Raft, Message], None]) -> Callable[[Raft, Message], None]:
    """A candidate hearing from a leader of its own term returns to follower (5.2)."""

    def demoted(r: Raft, m: Message) -> None:
        r.become_follower(r.term, m.frm)
        handler(r, m)

    demoted.__name__ = f"demote_then_{handler.__name__}"
    return demoted


def _heard_from_leader(r: Raft, m: Message) -> None:
    r.election_elapsed = 0
    r.lead = m.frm


def handle_append(r: Raft, m: Message) -> None:
    """AppendEntries receiver (Figure 2): check prevLog, truncate conflicts, append.

    A rejection carries etcd's hint: the last index at or below ``m.index`` whose term is
    at most ``m.log_term``, so the leader skips a whole divergent term per round trip.
    """
    _heard_from_leader(r, m)
    if m.index < r.log.committed:
        r.send(MT.APPEND_RESP, m.frm, index=r.log.committed)  # an old, duplicated message
        return
    last = r.log.maybe_append(m.index, m.log_term, m.commit, m.entries,
                              no_truncate=Mutant.NO_TRUNCATE in r.mutants)
    if last is not None:
        r.send(MT.APPEND_RESP, m.frm, index=last)
        return
    hint, hint_term = r.log.find_conflict_by_term(min(m.index, r.log.last_index()), m.log_term)
    r.send(MT.APPEND_RESP, m.frm, index=m.index, reject=True, reject_hint=hint,
           log_term=hint_term)


def handle_heartbeat(r: Raft, m: Message) -> None:
    """A heartbeat: the leader is alive; its commit index is safe up to our match."""
    _heard_from_leader(r, m)
    r.log.commit_to(min(m.commit, r.log.last_index()))
    r.send(MT.HEARTBEAT_RESP, m.frm, context=m.context)


def handle_snapshot(r: Raft, m: Message) -> None:
    """InstallSnapshot receiver (section 7): adopt it unless our log already covers it."""
    _heard_from_leader(r, m)
    snap = m.snapshot
    if snap is None or snap.meta.index <= r.log.committed:
        r.send(MT.APPEND_RESP, m.frm, index=r.log.committed)
        return
    keeps = Mutant.SNAPSHOT_KEEPS_CONFLICT in r.mutants and r.log.last_index() >= snap.meta.index
    if keeps or r.log.match_term(snap.meta.index, snap.meta.term):
        r.log.commit_to(snap.meta.index)  # we have it all: just fast-forward the commit
        r.send(MT.APPEND_RESP, m.frm, index=r.log.committed)
        return
    k, last = snap.meta.index, r.log.last_index()
    suffix = (r.log.slice(k + 1, last + 1, None)
              if Mutant.SNAPSHOT_KEEPS_SUFFIX in r.mutants and last > k else [])
    r.log.restore(snap)
    r.restore_config(snap.meta.conf_state)
    r.log.append(suffix)  # the bug: entries after a conflicting last entry survive
    r.send(MT.APPEND_RESP, m.frm, index=r.log.last_index())


def handle_timeout_now(r: Raft, m: Message) -> None:
    """Leadership transfer (thesis 3.10): campaign now, skipping pre-vote and the lease."""
    election.hup(r, transfer=True)


def handle_read_index_resp(r: Raft, m: Message) -> None:
    r.add_read_state(m.index, m.context)


def on_lower_term(r: Raft, m: Message) -> None:
    """A message from an older term (section 5.1): mostly ignored.

    A stale leader's AppendEntries/heartbeat gets an answer carrying our term, so it
    learns it was deposed (needed with pre-vote and check-quorum, where our term may not
    otherwise reach it); a stale pre-vote is refused explicitly.  The "stale-append"
    mutant instead accepts the AppendEntries (the bug of skipping receiver rule 1).
    """
    if m.type is MT.APPEND and Mutant.STALE_APPEND in r.mutants:
        last = r.log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last is not None:
            r.send(MT.APPEND_RESP, m.frm, term=m.term, index=last)
        return
    if m.type is MT.VOTE_RESP and Mutant.STALE_VOTE_COUNTED in r.mutants:
        election.handle_vote_resp(r, m)  # the bug: a vote of an earlier term counts
    elif m.type in (MT.APPEND, MT.HEARTBEAT) and (r.cfg.check_quorum or r.cfg.pre_vote):
        r.send(MT.APPEND_RESP, m.frm, reject=True)  # Figure 2: "reply false if term < ..."
    elif m.type is MT.PRE_VOTE:
        r.send(MT.PRE_VOTE_RESP, m.frm, reject=True)
