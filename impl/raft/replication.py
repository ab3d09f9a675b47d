"""Log replication from the leader's side (Raft paper, sections 5.3-5.4; thesis 3.5, 10.2).

The leader sends each member AppendEntries from that member's ``next`` index, batched by
``max_msg_entries`` / ``max_msg_bytes``.  A member in ``REPLICATE`` state is sent to
optimistically (``next`` advances when a message is *sent*: pipelining) while its
:class:`~quorum.impl.raft.progress.Inflights` window has room (flow control); a member in
``PROBE`` state gets one message at a time until its log is found to match (Figure 7's
repair, with etcd's term-skipping hint); a member whose ``next`` entry was compacted away
gets the snapshot (InstallSnapshot, section 7).

Commit rule (section 5.4.2, Figure 8): the leader advances its commit index to the
highest index stored on a majority *only if that entry is of the leader's current term*;
earlier entries become committed with it, indirectly.  The leader counts itself only for
entries it has persisted (``Raft.on_persisted``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quorum.impl.mutants import Mutant

from . import readonly
from .errors import StorageError
from .progress import Progress, ProgressState
from .types import Message, MessageType, Role

if TYPE_CHECKING:
    from .raft import Raft

__all__ = ["bcast_append", "bcast_heartbeat", "commit_lagging", "flush", "handle_append_resp",
           "handle_heartbeat_resp", "maybe_commit", "send_append", "send_commit",
           "send_timeout_now"]

MT = MessageType


def send_append(r: Raft, to: int, send_if_empty: bool = True) -> bool:
    """Send ``to`` the entries from its ``next`` index (or the snapshot); False if none."""
    pr = r.tracker.progress.get(to)
    if pr is None or pr.is_paused():
        return False
    prev = pr.next - 1
    try:
        prev_term = r.log.term(prev)
        ents = r.log.entries_from(pr.next, r.cfg.max_msg_bytes, r.cfg.max_msg_entries)
    except StorageError:
        return _send_snapshot(r, to, pr)
    if not ents and not send_if_empty:
        return False
    pr.sent_entries(ents[-1].index if ents else None, sum(len(e.data) for e in ents))
    commit = r.log.committed
    # what the member may commit from this message: no further than what it carries
    pr.sent_commit = max(pr.sent_commit, min(commit, ents[-1].index if ents else prev))
    r.send(MT.APPEND, to, index=prev, log_term=prev_term, entries=tuple(ents), commit=commit)
    return True


def _send_snapshot(r: Raft, to: int, pr: Progress) -> bool:
    """Section 7: the entries ``to`` needs are compacted; send the latest snapshot."""
    if not pr.recent_active:
        return False  # do not ship a snapshot to a member we have not heard from
    try:
        snap = r.log.snapshot()
    except StorageError:
        return False  # the application is producing one; retry on a later heartbeat
    if snap.meta.index == 0:
        return False
    pr.become_snapshot(snap.meta.index)
    r.send(MT.SNAPSHOT, to, snapshot=snap)
    return True


def bcast_append(r: Raft) -> None:
    """Replicate new entries / the new commit index to every member, at the next Ready.

    Deferred, so that everything proposed or committed between two ``ready()`` calls
    leaves in one AppendEntries per member (batching) instead of one per event.
    """
    r.bcast_pending = True


def flush(r: Raft) -> None:
    """Send the AppendEntries that :func:`bcast_append` asked for (``ready()`` calls it)."""
    if not r.bcast_pending:
        return
    r.bcast_pending = False
    if r.role is Role.LEADER:
        for to in r.tracker.progress:
            if to != r.id:
                send_append(r, to)


def _lags(r: Raft, to: int, pr: Progress) -> bool:
    """Could ``to`` commit more than we told it, and may we send to it now?"""
    return to != r.id and pr.sent_commit < min(pr.match, r.log.committed) \
        and not pr.is_paused()


def commit_lagging(r: Raft) -> bool:
    """Leader: is a member not told of a commit index it holds the entries for?

    The leader does not send a notice of its own when its commit index moves (one
    message per member and write, and the member's answer): the members learn it from
    the next AppendEntries or heartbeat, or from :func:`send_commit`, which the driver
    calls a short while after this turns true (less than a heartbeat interval), so that
    under load the notice rides on the next AppendEntries instead.
    """
    return r.role is Role.LEADER and any(_lags(r, to, pr)
                                         for to, pr in r.tracker.progress.items())


def send_commit(r: Raft) -> None:
    """Leader: send the members that lag (:func:`commit_lagging`) the commit index, in
    an AppendEntries from their ``next`` index (empty when they have every entry)."""
    if r.role is not Role.LEADER:
        return
    for to, pr in r.tracker.progress.items():
        if _lags(r, to, pr):
            send_append(r, to)


def bcast_heartbeat(r: Raft, context: bytes = b"") -> None:
    """Heartbeats carry ``min(match, commit)``: never a commit index beyond a member's
    matching prefix; ``context`` ties acknowledgements to a pending ReadIndex."""
    for to, pr in r.tracker.progress.items():
        if to != r.id:
            commit = min(pr.match, r.log.committed)
            pr.sent_commit = max(pr.sent_commit, commit)
            r.send(MT.HEARTBEAT, to, commit=commit, context=context)


def send_timeout_now(r: Raft, to: int) -> None:
    r.send(MT.TIMEOUT_NOW, to)


def maybe_commit(r: Raft) -> bool:
    """Advance the commit index by the commit rule; release reads waiting for it.

    Without ``eager_commit`` the members learn the new commit index later
    (:func:`commit_lagging`), except when it covers a configuration change or the
    leader's first entry, which they learn at once."""
    any_term = Mutant.COMMIT_OLD_TERM in r.mutants
    before = r.log.committed
    if not r.log.maybe_commit(r.tracker.committed(), r.term, any_term):
        return False
    if before < r.pending_conf_index <= r.log.committed:
        # a configuration change (or our term's first entry) is committed: tell every
        # member now, as a member removed by it hears from us no more after we apply it
        bcast_append(r)
    if r.pending_reads and r.committed_in_current_term():
        readonly.release_pending(r)
    return True


def handle_append_resp(r: Raft, m: Message) -> None:
    """A member answered AppendEntries (or InstallSnapshot)."""
    pr = r.tracker.progress.get(m.frm)
    if pr is None or m.index > r.log.last_index():
        return  # not a member, or acknowledging entries we never sent (a lying peer)
    pr.recent_active = True
    if m.reject:
        _on_reject(r, m, pr)
        return
    was_paused = pr.is_paused()
    if m.index < pr.match and Mutant.MATCH_INDEX_BACKWARDS in r.mutants:
        pr.match = m.index  # the bug: a stale acknowledgement taken as news
    if not pr.maybe_update(m.index):
        return
    _promote(r, pr, m.index)
    if maybe_commit(r) and r.cfg.eager_commit:
        bcast_append(r)
    elif was_paused:
        send_append(r, m.frm)
    while send_append(r, m.frm, send_if_empty=False):
        pass  # pipelining: fill the inflight window
    if m.frm == r.lead_transferee and pr.match == r.log.last_index():
        send_timeout_now(r, m.frm)


def _promote(r: Raft, pr: Progress, acked: int) -> None:
    if pr.state is ProgressState.PROBE:
        pr.become_replicate()
    elif pr.state is ProgressState.SNAPSHOT and pr.match + 1 >= r.log.first_index():
        pr.become_probe()
        pr.become_replicate()
    elif pr.state is ProgressState.REPLICATE:
        pr.inflights.free_le(acked)


def _on_reject(r: Raft, m: Message, pr: Progress) -> None:
    """Figure 7's repair: back ``next`` off, skipping a term per round trip."""
    hint = m.reject_hint
    if m.log_term > 0:
        hint, _ = r.log.find_conflict_by_term(m.reject_hint, m.log_term)
    if pr.maybe_decr_to(m.index, hint):
        if pr.state is ProgressState.REPLICATE:
            pr.become_probe()
        send_append(r, m.frm)


def handle_heartbeat_resp(r: Raft, m: Message) -> None:
    """A member answered a heartbeat: it is alive; resume sending; count read acks."""
    pr = r.tracker.progress.get(m.frm)
    if pr is None:
        return
    pr.recent_active = True
    pr.probe_sent = False
    if pr.state is ProgressState.REPLICATE and pr.inflights.full():
        pr.inflights.free_first_one()
    if pr.match < r.log.last_index():
        send_append(r, m.frm)
    if m.context:
        readonly.ack_read_index(r, m.frm, m.context)
