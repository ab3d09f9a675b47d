"""The simulated Multi-Paxos cluster, seen as the state of ``quorum.spec.multipaxos``.

Step refinement of the multipaxos core (:mod:`quorum.conformance.mpsteps`) compares the
simulator's replicas with MultiPaxos.tla's ``node`` variable and its messages with the
spec's ``msgs``.  This module holds the mapping; the spec's own action functions
(:mod:`quorum.spec.multipaxos.tla.actions`) take the steps.

* **Replicas**: node ``i`` of the simulator is the spec's replica ``i - 1`` (``s<i>``).
* **Bounds** (:class:`Bounds`, what the actions read of a ``Config``): the spec's
  ``Config`` bounds a model for the checker (at most 3 writes, ballots up to 4); a run
  needs as many ballots and slots as it uses, so the refinement hands the actions a
  :class:`Bounds` with ``max_ballot`` the ballot being taken, ``commands`` the slots
  (:data:`SLOT_CHUNK` at first, grown in chunks: every replica's ``insts`` and every
  PrepareReply's ``votes`` are padded with empty slots, which changes nothing the actions
  decide), majorities of the cluster, ``notice_ballot`` on (the core's notice names its
  ballot) and the reference's :data:`~quorum.spec.multipaxos.rules.MULTIPAXOS` rules.
* **Commands** (:class:`Commands`): a spec command is an int; 0 is ``nil``, the no-op a
  new leader proposes in a slot nobody voted in (the core's no-op is an entry with empty
  data).  Every other command is numbered when the spec first takes it
  (``TakeNewRequest``), one number per proposal: the spec puts a command in one slot only,
  while the core may propose the same bytes twice (a client's retry) and fills every hole
  with the same empty no-op.  A vote is compared by its bytes.
* **Compared** (:func:`project`, :func:`vote_matches`): each replica's promise
  (``HardState.term``) is ``balMaxKnown``; its vote in every slot above its snapshot
  (``Entry(term=b, data=v)``) is ``insts[s].voted``; a leader of ballot ``b`` is a node
  with ``leader = self`` and ``balPrepared = balMaxKnown = b``, a candidate one with
  ``leader = self`` and ``balPrepared = 0``, any other replica one whose ``leader`` is not
  itself.  Its chosen prefix (``commit``) is ``commitUpTo``, and every slot above its
  snapshot up to it has ``status = COMMITTED`` (slots up to the snapshot are compacted).
* **Not compared**, history of the spec path only: ``status`` of the other slots, ``cmd``,
  ``kvalue``, ``pending``, ``observed`` (the client side: a replica's store is judged by
  :mod:`quorum.conformance.mpsafety` and by linearizability; the refinement empties
  ``observed`` after each learner step, so the abstract state does not grow with the run).
* **Messages** (:func:`image`): ``msgs`` is every message ever sent (loss, duplication
  and delay are free in the spec).  A PREPARE of ballot ``b`` is ``Prepare(owner, b)``; a
  PROMISE is the ``PrepareReply`` its acceptor's step sent; an ACCEPT's entry for slot
  ``s`` is ``Accept(src, b, s, cmd)`` with ``cmd``'s bytes the entry's; an ACCEPTED for
  slots ``slot..last`` is one ``AcceptReply(src, b, s)`` per slot; the chosen prefix ``c``
  an ACCEPT of ballot ``b`` carries (a heartbeat's too) is one ``CommitNotice(s, b)`` per
  slot ``s <= c`` its leader holds at ``b`` (a follower learns only those from it).
  REJECT, PROPOSE, PRE_PREPARE, PRE_PROMISE, SNAPSHOT, the votes of an ACCEPT without
  entries (a heartbeat) and an ACCEPTED of no slot have no image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quorum.impl.multipaxos import MultiPaxosNode
from quorum.impl.raft.types import Role
from quorum.spec.common import majority
from quorum.spec.multipaxos.rules import MULTIPAXOS, Rules
from quorum.spec.multipaxos.tla.state import (
    EMPTY,
    PREPARE_REPLY,
    Inst,
    MultiPaxosState,
    Node,
    PrepareReply,
)

__all__ = ["SLOT_CHUNK", "Bounds", "Commands", "Projection", "grow", "initial", "project",
           "vote_matches"]

#: the spec's slots at the start of a run; grown by as many when a slot beyond is used
SLOT_CHUNK = 64

EMPTY_INST = Inst(EMPTY, 0, 0, 0)


@dataclass(frozen=True)
class Bounds:
    """What :mod:`quorum.spec.multipaxos.tla.actions` reads of a ``Config``, unbounded."""

    replicas: int
    commands: int  # slots
    max_ballot: int = 0
    any_request: bool = False
    notice_ballot: bool = True
    rules: Rules = MULTIPAXOS

    @property
    def quorum(self) -> int:
        return majority(self.replicas)

    def is_write(self, c: int) -> bool:
        return c > 0  # kvalue is not compared: any command may "write" it


@dataclass
class Commands:
    """Spec command numbers and the bytes each stands for (0: nil, the empty no-op)."""

    data: list[bytes] = field(default_factory=lambda: [b""])

    def fresh(self, value: bytes) -> int:
        """A new command number for ``value`` (one per proposal)."""
        self.data.append(value)
        return len(self.data) - 1

    def of(self, c: int) -> bytes:
        return self.data[c]


@dataclass(frozen=True)
class Projection:
    """A running replica's compared state: promise, role, ballot, votes above the snapshot,
    chosen prefix."""

    promised: int
    role: Role
    ballot: int
    base: int  # the snapshot's slot (votes up to it are compacted)
    votes: dict[int, tuple[int, bytes]]  # slot -> (ballot, value)
    commit: int = 0  # the chosen prefix: slots up to it are known chosen (commitUpTo)


def project(raw: MultiPaxosNode) -> Projection:
    return Projection(raw.promised, raw.role, raw.ballot, raw.snap.meta.index,
                      {s: (e.term, e.data) for s, e in raw.log.items()}, raw.commit)


def vote_matches(inst: Inst, vote: tuple[int, bytes] | None, cmds: Commands) -> bool:
    """The spec's vote in a slot is the core's (``None``: no vote there)."""
    if vote is None:
        return inst.vbal == 0
    return inst.vbal == vote[0] and cmds.of(inst.vcmd) == vote[1]


def initial(n: int, slots: int = SLOT_CHUNK) -> MultiPaxosState:
    """MultiPaxos.tla's Init for ``n`` replicas and ``slots`` slots (nothing pending: the
    refinement hands ``TakeNewRequest`` the one command it takes)."""
    null = Node(-1, 0, 0, 0, 0, (EMPTY_INST,) * slots)
    return MultiPaxosState(frozenset(), (null,) * n, (), (), (False,) * n)


def pad_reply(m: Any, slots: int) -> Any:
    if m.type == PREPARE_REPLY and len(m.votes) < slots:
        return PrepareReply(PREPARE_REPLY, m.src, m.bal, m.votes + ((0, 0),) * (slots - len(m.votes)))
    return m


def grow(s: MultiPaxosState, slots: int) -> MultiPaxosState:
    """``s`` with ``slots`` slots: empty instances and empty votes appended."""
    nodes = tuple(n._replace(insts=n.insts + (EMPTY_INST,) * (slots - len(n.insts)))
                  for n in s.node)
    return s._replace(node=nodes, msgs=frozenset(pad_reply(m, slots) for m in s.msgs))
