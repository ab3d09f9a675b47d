"""Values exchanged between the Multi-Paxos core and its drivers.

The core reuses the Raft core's protocol-neutral values (:class:`Entry`, :class:`HardState`,
:class:`SoftState`, :class:`Role`, :class:`ReadState`) with this mapping (the design is in
``docs/multipaxos.md``, "The store's Multi-Paxos core"):

* a ballot is one positive int, owned round-robin by the sorted voters
  (:func:`~quorum.impl.multipaxos.node.owner`), so no two replicas ever use the same one;
* ``HardState.term`` is the acceptor's promised ballot, ``HardState.vote`` the owner of that
  ballot, ``HardState.commit`` the chosen prefix (every slot up to it is chosen and known);
* ``Entry(term=b, index=s, data=v)`` is "this acceptor accepted value ``v`` at ballot ``b``
  in slot ``s``"; ``term == 0`` (and empty data) is a hole: nothing accepted in that slot.
  The log the WAL stores is therefore contiguous; a no-op is a chosen entry with empty data.

:class:`Ready` has the Raft core's field names and the same ordering rule: persist
``hard_state`` and ``entries`` (one fsync if ``must_sync``), then send ``messages``, apply
``committed_entries``, serve ``read_states``, then ``advance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from quorum.impl.mutants import Mutant
from quorum.impl.raft.types import Entry, HardState, ReadState, Snapshot, SoftState

__all__ = ["Message", "MessageType", "MultiPaxosConfig", "Ready"]


class MessageType(IntEnum):
    """The messages of MultiPaxos.tla (``spec/multipaxos/tla/actions.py``), plus forwarding."""

    PREPARE = 1  # phase 1a: ballot; slot = the first slot asked about (candidate's commit + 1)
    PROMISE = 2  # phase 1b: ballot; entries = every accepted (slot, ballot, value) from slot on;
    #              commit = the acceptor's chosen prefix
    ACCEPT = 3  # phase 2a for consecutive slots (entries, each at the message ballot) and the
    #             chosen notice (commit); with no entries, the heartbeat
    ACCEPTED = 4  # phase 2b: slots slot..last accepted at ballot (0..0: none); commit = the
    #               acceptor's chosen prefix; context echoes a read's
    REJECT = 5  # a PREPARE or ACCEPT below the promise; ballot = the promised ballot
    PROPOSE = 6  # a follower forwards proposals (entries, values only) to its leader
    PRE_PREPARE = 7  # pre-vote: "would you promise ballot?"; promises nothing (``pre_prepare``)
    PRE_PROMISE = 8  # pre-vote granted: no live leader heard within an election timeout
    SNAPSHOT = 9  # the leader's snapshot: every slot up to last chosen, state in snapshot


@dataclass(frozen=True, slots=True)
class Message:
    type: MessageType
    to: int
    frm: int
    ballot: int = 0
    slot: int = 0
    last: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    context: bytes = b""  # a ReadIndex request's context, on ACCEPT and ACCEPTED
    #: SNAPSHOT, and a PROMISE whose acceptor compacted slots asked about: the state
    #: machine's state once every slot up to ``last`` (all chosen) was executed
    snapshot: bytes = b""


@dataclass(frozen=True, slots=True)
class Ready:
    """What to persist, send and apply now (the Raft core's ``Ready``, field for field).

    ``snapshot`` is one this replica got from a peer (a leader's SNAPSHOT, or a PROMISE
    during its own phase 1): persist it with the entries (it does not replace the log:
    the votes above its index stay), then install it in the state machine before applying
    ``committed_entries``, which start right after it."""

    soft_state: SoftState | None = None
    hard_state: HardState | None = None  # None: unchanged since the last Ready
    entries: tuple[Entry, ...] = ()  # contiguous; they replace the WAL's suffix from the first
    snapshot: Snapshot | None = None
    messages: tuple[Message, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    read_states: tuple[ReadState, ...] = ()
    must_sync: bool = False


@dataclass(frozen=True)
class MultiPaxosConfig:
    """Knobs of one replica; times in ticks of the driver's clock.

    * ``voters``: every replica of the (fixed) configuration; majorities are
      ``len(voters) // 2 + 1``; ballots are dealt round-robin over the sorted voters.
    * ``election_tick``: a replica that hears from no leader for a randomized timeout in
      ``[election_tick, 2 * election_tick)`` runs phase 1 with a higher ballot of its own;
      ``seed`` makes the draw deterministic.
    * ``heartbeat_tick``: a leader sends an ACCEPT to every peer this often (heartbeat,
      chosen notice and repair of lost accepts from the peer's acknowledged prefix).
    * ``check_quorum``: a leader that heard from no majority in an election timeout steps
      down.  ``pre_prepare`` (leader stickiness, the pre-vote of Raft): a replica whose
      election timeout fires first asks every peer whether it would promise a higher
      ballot (PRE_PREPARE, promising nothing) and runs phase 1 only once a majority said
      yes; a replica says no while it has heard from a live leader within an election
      timeout, so a member cut off or restarted cannot depose a healthy leader.  Safety
      never depends on it.  ``max_msg_entries``: slots per ACCEPT.  ``applied``: on
      restart, the slot the state machine already reflects (at least the snapshot's: the
      driver restores the snapshot it recovered before starting the core).  ``mutants``:
      Multi-Paxos members of :class:`~quorum.impl.mutants.Mutant`, known bugs for the
      mutant tests only.
    """

    id: int
    voters: tuple[int, ...]
    election_tick: int = 10
    heartbeat_tick: int = 1
    seed: int = 0
    check_quorum: bool = True
    pre_prepare: bool = True
    max_msg_entries: int = 256
    applied: int = 0
    mutants: frozenset[Mutant] = field(default_factory=frozenset)
