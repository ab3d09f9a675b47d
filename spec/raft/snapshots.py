"""Log compaction (Ongaro's dissertation, chapter 5): a layer on top of raft.tla's ``Next``.

raft.tla has no snapshots.  This layer adds them the way :mod:`quorum.spec.raft.etcd` adds
etcd's steps: it composes a ``Next`` underneath (raft.tla's, or raft.tla with etcd's
extensions) with the steps of compaction, and restricts the steps underneath where a
snapshot changes what a server may do.  It is switched on by ``Config.snapshots``
(``quorum check raft --snapshots``); off, the model is raft.tla exactly.

The state (:class:`SnapState`) is raft.tla's variables plus ``snapshotIndex[i]``: the
last index server i has compacted into its snapshot.  The snapshot's content is the
prefix ``log[i][1..snapshotIndex[i]]`` itself: the model's state machine is the sequence
of the commands it applied, so a snapshot of it *is* that sequence, and its last
included index and term are ``snapshotIndex[i]`` and the term of that entry.  Keeping the
compacted prefix in ``log`` keeps raft.tla's index arithmetic for the entries after the
snapshot (index k is still ``log[i][k]``); what compaction changes is what a server may
no longer do with the compacted entries:

* ``Snapshot(i, index)``: server i compacts its log up to any committed index beyond its
  current snapshot (a snapshot holds only committed entries, §5.1);
* a leader cannot send ``AppendEntries(i, j)`` from a ``nextIndex`` at or below its
  snapshot index (the entry before it, whose term the request carries, is compacted;
  the last included entry's term is kept): it sends ``InstallSnapshot(i, j)`` instead,
  with the snapshot's last index, last term and content (§5.1, Figure 5.3);
* the receiver of an InstallSnapshot of its term (Figure 5.3): if it holds an entry with
  the snapshot's last index and term, it keeps the entries after it; otherwise it
  discards its whole log; either way its log becomes the snapshot followed by what it
  kept, its snapshot index and commit index the snapshot's last index
  (``Rules.snapshot_retains``); under ``Rules.snapshot_fast_forward`` (etcd's restore, for
  trace validation) a receiver that holds the snapshot's last entry only advances its
  commit index, keeping its log and its own snapshot index.  A snapshot at or below its commit index holds nothing
  new and is ignored (etcd's restore refuses it).  It answers with a successful
  AppendEntries response acknowledging ``max(lastIndex, commitIndex)`` (etcd's MsgAppResp;
  the dissertation's leader then sets nextIndex and matchIndex, as for AppendEntries);
* no step deletes a compacted entry (a conflicting entry at or below the snapshot index
  is a committed entry lost: such a step is not enabled), and a server's commit index
  is never below its snapshot index (a restart recovers the snapshot, so it restarts
  with its snapshot index committed, where raft.tla's commitIndex restarts at 0).

The five properties of Figure 3 then read the whole log, snapshot included, so they
compare servers' logs at the same indexes whatever each has compacted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from quorum.spec.raft.tla.actions import Context, Label, label
from quorum.spec.raft.tla.actions import receive_one as _receive_one
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NIL,
    AppendEntriesResponse,
    Bag,
    Log,
    State,
    replace_at,
    reply,
    with_message,
    with_messages,
)

__all__ = ["INSTALL_SNAPSHOT_REQUEST", "InstallSnapshotRequest", "SnapState", "allowed",
           "compacted", "floor_commit", "handle_install_snapshot_request", "initial_snap_state",
           "install_snapshot", "layer", "receive", "receive_one", "snapshot"]

#: the message type of InstallSnapshot (after raft.tla's four)
INSTALL_SNAPSHOT_REQUEST = 4


class InstallSnapshotRequest(NamedTuple):
    """InstallSnapshot (Figure 5.3) in one message: the snapshot's last included index and
    term and its content (the compacted entries)."""

    mtype: int
    mterm: int
    mlast_index: int
    mlast_term: int
    mdata: Log
    msource: int
    mdest: int


class SnapState(NamedTuple):
    """raft.tla's variables plus ``snapshotIndex``; the bag stays the last field."""

    current_term: tuple[int, ...]
    role: tuple[int, ...]
    voted_for: tuple[int, ...]
    log: tuple[Log, ...]
    commit_index: tuple[int, ...]
    votes_responded: tuple[int, ...]
    votes_granted: tuple[int, ...]
    next_index: tuple[tuple[int, ...], ...]
    match_index: tuple[tuple[int, ...], ...]
    snapshot_index: tuple[int, ...]
    messages: Bag


assert SnapState._fields[:-2] == State._fields[:-1] and SnapState._fields[-1] == "messages"


def initial_snap_state(n: int) -> SnapState:
    """raft.tla's ``Init`` with no snapshot anywhere."""
    return SnapState((1,) * n, (FOLLOWER,) * n, (NIL,) * n, ((),) * n, (0,) * n, (0,) * n,
                     (0,) * n, ((1,) * n,) * n, ((0,) * n,) * n, (0,) * n, ())


def compacted(s: Any, i: int) -> int:
    """Server i's snapshot index (0 for raft.tla's State, which has no snapshots)."""
    return s.snapshot_index[i] if isinstance(s, SnapState) else 0


def snapshot(s: Any, c: Context) -> Iterator[tuple[Label, Any]]:
    """Snapshot(i, index): i compacts its log up to a committed index beyond its snapshot."""
    for i in range(c.n):
        for k in range(s.snapshot_index[i] + 1, s.commit_index[i] + 1):
            yield label("Snapshot", i=i, index=k), s._replace(
                snapshot_index=replace_at(s.snapshot_index, i, k))


def install_snapshot(s: Any, c: Context) -> Iterator[tuple[Label, Any]]:
    """InstallSnapshot(i, j): leader i sends j its snapshot, j's nextIndex being at or below
    the snapshot index (the entries j needs next are compacted)."""
    for i in range(c.n):
        k = s.snapshot_index[i]
        if s.role[i] != LEADER or k == 0:
            continue
        log = s.log[i]
        for j in range(c.n):
            if j != i and s.next_index[i][j] <= k:
                m = InstallSnapshotRequest(INSTALL_SNAPSHOT_REQUEST, s.current_term[i], k,
                                           log[k - 1][0], log[:k], i, j)
                yield label("InstallSnapshot", i=i, j=j), with_messages(
                    s, with_message(s.messages, m))  # type: ignore[arg-type]


def handle_install_snapshot_request(s: Any, c: Context, i: int, j: int, m: Any
                                    ) -> Any:
    """The receiver of Figure 5.3 (m.mterm <= currentTerm[i]; UpdateTerm came first)."""
    term = s.current_term[i]
    if m.mterm < term:  # a stale leader's: refused, as a stale AppendEntries is
        response = AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, term, False, 0, i, j)
        return with_messages(s, reply(s.messages, response, m))
    if s.role[i] == CANDIDATE:  # a leader of its term exists: back to follower
        return s._replace(role=replace_at(s.role, i, FOLLOWER))
    if s.role[i] == LEADER:  # no other leader of its term
        return None
    k, commit, log = m.mlast_index, s.commit_index[i], s.log[i]
    match = max(k, commit)
    response = AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, term, True, match, i, j)
    if k <= commit:  # nothing it has not committed already: ignored
        return with_messages(s, reply(s.messages, response, m))
    retains = c.rules.snapshot_retains(log, k, m.mlast_term)
    if retains and c.rules.snapshot_fast_forward:  # etcd: it holds it all; commit only
        return s._replace(commit_index=replace_at(s.commit_index, i, k),
                          messages=reply(s.messages, response, m))
    kept = log[k:] if retains else ()
    return s._replace(
        log=replace_at(s.log, i, m.mdata + kept),
        commit_index=replace_at(s.commit_index, i, k),
        snapshot_index=replace_at(s.snapshot_index, i, k),
        messages=reply(s.messages, response, m),
    )


_HANDLERS = {INSTALL_SNAPSHOT_REQUEST: (handle_install_snapshot_request, False)}


def receive_one(s: Any, c: Context, m: Any) -> Any:
    """Receive(m) of one InstallSnapshot m: UpdateTerm first, as raft.tla's Receive; None
    when not enabled."""
    return _receive_one(s, c, m, _HANDLERS)  # type: ignore[arg-type]


def receive(s: Any, c: Context) -> Iterator[tuple[Label, Any]]:
    """Receive(m) of each InstallSnapshot in the bag."""
    for m, _ in s.messages:
        if m.mtype == INSTALL_SNAPSHOT_REQUEST:
            t = receive_one(s, c, m)
            if t is not None:
                yield label("Receive", m=m), t


def allowed(s: Any, lb: Label, t: Any) -> bool:
    """Whether a step of the Next underneath remains a step with snapshots (module doc)."""
    name, params = lb
    if name == "AppendEntries":
        p = dict(params)
        if s.next_index[p["i"]][p["j"]] <= s.snapshot_index[p["i"]]:
            return False
    elif name == "Restart":
        p = dict(params)
        if p.get("commitIndex", s.snapshot_index[p["i"]]) < s.snapshot_index[p["i"]]:
            return False  # etcd's recovered commit index: never below the snapshot
    return all(len(log) >= k for log, k in zip(t.log, t.snapshot_index, strict=True))


def floor_commit(t: Any) -> Any:
    """A commit index is never below the snapshot index (module doc)."""
    if all(ci >= k for ci, k in zip(t.commit_index, t.snapshot_index, strict=True)):
        return t
    return t._replace(commit_index=tuple(
        max(ci, k) for ci, k in zip(t.commit_index, t.snapshot_index, strict=True)))


def layer(inner: Callable[[Any, Context], Iterator[tuple[Label, Any]]]
          ) -> Callable[[Any, Context], Iterator[tuple[Label, Any]]]:
    """The ``Next`` with snapshots over ``inner`` (raft.tla's or etcd's ``successors``):
    inner's steps restricted, then ``Snapshot``, ``InstallSnapshot`` and the receipt of an
    InstallSnapshot."""

    def successors(s: Any, c: Context) -> Iterator[tuple[Label, Any]]:
        for lb, t in inner(s, c):
            if allowed(s, lb, t):
                yield lb, floor_commit(t)
        yield from snapshot(s, c)
        yield from install_snapshot(s, c)
        yield from receive(s, c)

    return successors
