"""Pending linearizable reads (ReadIndex, Ongaro's thesis, section 6.4).

Theory of operation.  To serve a read without writing to the log, the leader

1. records its commit index as the request's *read index* — only once it has committed an
   entry of its current term, so that index covers every write committed before the read
   (the leader's empty entry on election guarantees this happens soon);
2. confirms it is still the leader: it sends a heartbeat round carrying the request's
   context, and waits for acknowledgements from a majority;
3. hands the read index back; the requester serves the read once its state machine has
   applied up to it.

This module is only the bookkeeping of step 2: requests in arrival order, each with the
set of members that acknowledged a heartbeat carrying its context.  A heartbeat
acknowledged for a later request confirms every earlier one too (it was sent after them).
Contexts must be unique among pending requests; a duplicate is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quorum.impl.mutants import Mutant

from . import replication
from .quorum import VoteResult
from .types import NONE, MessageType

if TYPE_CHECKING:
    from .raft import Raft

__all__ = ["ReadOnly", "ReadRequest", "ack_read_index", "release_pending", "serve_read_index"]


@dataclass
class ReadRequest:
    index: int  # the leader's commit index when the request arrived
    context: bytes
    frm: int  # who asked: the leader itself, or a follower that forwarded it
    acks: set[int] = field(default_factory=set)


class ReadOnly:
    """Read requests waiting for a quorum of heartbeat acknowledgements."""

    def __init__(self) -> None:
        self._pending: dict[bytes, ReadRequest] = {}  # insertion order = arrival order

    def __len__(self) -> int:
        return len(self._pending)

    def add_request(self, index: int, context: bytes, frm: int) -> bool:
        """Queue a request; False (and nothing queued) for a duplicate context."""
        if context in self._pending:
            return False
        self._pending[context] = ReadRequest(index=index, context=context, frm=frm)
        return True

    def recv_ack(self, frm: int, context: bytes) -> set[int] | None:
        """Record that ``frm`` acknowledged the heartbeat for ``context``; the acks so far."""
        req = self._pending.get(context)
        if req is None:
            return None
        req.acks.add(frm)
        return req.acks

    def advance(self, context: bytes) -> list[ReadRequest]:
        """Pop and return every request up to and including ``context``."""
        if context not in self._pending:
            return []
        done: list[ReadRequest] = []
        for ctx in list(self._pending):
            done.append(self._pending.pop(ctx))
            if ctx == context:
                break
        return done

    def last_pending_context(self) -> bytes | None:
        return next(reversed(self._pending), None) if self._pending else None

    def reset(self) -> None:
        self._pending.clear()


# -- the leader's side, on a Raft instance -----------------------------------------------------
def serve_read_index(r: Raft, frm: int, context: bytes) -> None:
    """Leader: start a ReadIndex for ``frm`` (ourselves or a follower that forwarded it)."""
    if Mutant.LOCAL_READ in r.mutants:
        _answer(r, frm, r.log.committed, context)  # the mutant: no leadership check
        return
    if not r.committed_in_current_term():
        r.pending_reads.append((frm, context))  # our commit index may still be stale
        return
    if r.tracker.is_singleton():
        _answer(r, frm, r.log.committed, context)
        return
    if r.read_only.add_request(r.log.committed, context, frm):
        r.read_only.recv_ack(r.id, context)
        replication.bcast_heartbeat(r, context)


def ack_read_index(r: Raft, frm: int, context: bytes) -> None:
    """A heartbeat acknowledgement for ``context``: answer the reads a quorum confirmed."""
    acks = r.read_only.recv_ack(frm, context)
    if acks is None or r.tracker.vote_result({i: True for i in acks}) is not VoteResult.WON:
        return
    for req in r.read_only.advance(context):
        _answer(r, req.frm, req.index, req.context)


def release_pending(r: Raft) -> None:
    """Our first entry of this term is committed: start the reads that waited for it."""
    pending, r.pending_reads = r.pending_reads, []
    for frm, ctx in pending:
        serve_read_index(r, frm, ctx)


def _answer(r: Raft, frm: int, index: int, context: bytes) -> None:
    if frm in (NONE, r.id):
        r.add_read_state(index, context)
        return
    pr = r.tracker.progress.get(frm)
    if not r.cfg.eager_commit and pr is not None and pr.sent_commit < index:
        # Without eager commit notices a follower may not know ``index`` is committed
        # yet; its read waits until it has applied ``index``, so tell it now, first.
        replication.send_append(r, frm)
    r.send(MessageType.READ_INDEX_RESP, frm, index=index, context=context)
