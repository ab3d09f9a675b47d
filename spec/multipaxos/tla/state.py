"""The variables of MultiPaxos.tla and its messages.

State (one field per TLA+ variable): ``msgs``, the set of every message ever sent (so
loss, delay, duplication and reordering come for free); ``node``, one :class:`Node` per
replica; ``pending``, the client requests not yet acknowledged, in the order they will
be offered; ``observed``, the client-visible events (requests and acknowledgements) in
the order they happened; and ``done``, PlusCal's ``pc`` (``True`` for ``"Done"``: the
replica saw the run terminate and left its loop).

A replica's :class:`Node` holds who it believes leads (``leader``, -1 for none), the
value of the single key after executing its log (``kvalue``, 0 for nil), how far it has
executed (``commitUpTo``), the ballot it prepared as leader (``balPrepared``, 0 while it
is not a prepared leader), the highest ballot it has seen (``balMaxKnown``), and one
:class:`Inst` per slot: a status (``EMPTY``, ``PREPARING``, ``ACCEPTING``,
``COMMITTED``), the command it holds, and its vote (``vbal``, ``vcmd``).
"""

from __future__ import annotations

from typing import NamedTuple

from quorum.spec.multipaxos.config import Config

__all__ = ["ACCEPT", "ACCEPTING", "ACCEPT_REPLY", "ACK", "COMMITTED", "COMMIT_NOTICE", "EMPTY",
           "PREPARE", "PREPARE_REPLY", "PREPARING", "REQ", "STATUS_NAMES", "Accept",
           "AcceptReply", "CommitNotice", "Event", "Inst", "Label", "Message", "MultiPaxosState",
           "Node", "Prepare", "PrepareReply", "initial_state"]

EMPTY, PREPARING, ACCEPTING, COMMITTED = 0, 1, 2, 3
STATUS_NAMES = ("Empty", "Preparing", "Accepting", "Committed")

PREPARE, PREPARE_REPLY, ACCEPT, ACCEPT_REPLY, COMMIT_NOTICE = 0, 1, 2, 3, 4
REQ, ACK = 0, 1

Label = tuple[str, tuple[tuple[str, object], ...]]


class Inst(NamedTuple):
    """One slot of a replica's log."""

    status: int
    cmd: int
    vbal: int  # voted.bal
    vcmd: int  # voted.cmd


class Node(NamedTuple):
    leader: int
    kvalue: int
    commitUpTo: int
    balPrepared: int
    balMaxKnown: int
    insts: tuple[Inst, ...]


class Prepare(NamedTuple):
    """Phase 1a: ``src`` asks to lead with ballot ``bal`` (for every slot at once)."""

    type: int  # PREPARE
    src: int
    bal: int


class PrepareReply(NamedTuple):
    """Phase 1b: ``src`` joins ballot ``bal`` and reports its vote in every slot,
    ``votes[s-1] = (bal, cmd)`` (``(0, 0)``: none)."""

    type: int  # PREPARE_REPLY
    src: int
    bal: int
    votes: tuple[tuple[int, int], ...]


class Accept(NamedTuple):
    """Phase 2a: the leader ``src`` of ballot ``bal`` proposes ``cmd`` for ``slot``."""

    type: int  # ACCEPT
    src: int
    bal: int
    slot: int
    cmd: int


class AcceptReply(NamedTuple):
    """Phase 2b: ``src`` voted in ballot ``bal`` for the command proposed in ``slot``."""

    type: int  # ACCEPT_REPLY
    src: int
    bal: int
    slot: int


class CommitNotice(NamedTuple):
    """The leader tells the followers that slots up to ``upto`` are committed.  ``bal``
    is 0 in the reference; with ``Config.notice_ballot`` it is the leader's ballot, and a
    follower executes the slot only if it voted in that ballot (see tla/actions.py)."""

    type: int  # COMMIT_NOTICE
    upto: int
    bal: int


Message = Prepare | PrepareReply | Accept | AcceptReply | CommitNotice

#: ``(REQ, cmd)`` or ``(ACK, cmd, val)`` (val: the key's value before the command)
Event = tuple[int, ...]


class MultiPaxosState(NamedTuple):
    msgs: frozenset[Message]
    node: tuple[Node, ...]
    pending: tuple[int, ...]
    observed: tuple[Event, ...]
    done: tuple[bool, ...]


def initial_state(cfg: Config) -> MultiPaxosState:
    """Init: no messages, every node NullNode, every request pending (writes first, then
    reads: the reference's InitPending), nothing observed, every replica in its loop."""
    null = Node(-1, 0, 0, 0, 0, (Inst(EMPTY, 0, 0, 0),) * cfg.commands)
    return MultiPaxosState(frozenset(), (null,) * cfg.replicas,
                           tuple(range(1, cfg.commands + 1)), (), (False,) * cfg.replicas)
