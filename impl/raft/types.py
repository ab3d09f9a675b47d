"""Values exchanged between the sans-IO Raft core and its drivers.

These frozen dataclasses are the contract between ``quorum.impl.raft`` (the protocol core),
``quorum.impl.storage`` (what is made durable), the asyncio runtime (what is sent) and the
deterministic simulator.  Node ids are positive ints; 0 means "none".

Ordering rule of a :class:`Ready` (etcd-raft's, and the reason the type exists):
1. persist ``hard_state``, ``entries`` and ``snapshot`` (fsync, one group commit);
2. only then send ``messages`` (they may promise what step 1 made durable);
3. apply ``committed_entries`` to the state machine (they are durable on a majority);
4. call ``RawNode.advance(ready)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "NONE",
    "ConfState",
    "ConfChange",
    "ConfChangeType",
    "Entry",
    "EntryType",
    "HardState",
    "Message",
    "MessageType",
    "ReadState",
    "Ready",
    "Role",
    "Snapshot",
    "SnapshotMeta",
    "SoftState",
]

NONE = 0


class EntryType(IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1


class Role(IntEnum):
    FOLLOWER = 0
    PRE_CANDIDATE = 1
    CANDIDATE = 2
    LEADER = 3


class MessageType(IntEnum):
    """Messages between peers (and local messages the core sends itself)."""

    APPEND = 0  # AppendEntries request (also the heartbeat when entries is empty)
    APPEND_RESP = 1
    VOTE = 2  # RequestVote
    VOTE_RESP = 3
    PRE_VOTE = 4  # pre-vote (Ongaro's thesis, section 9.6)
    PRE_VOTE_RESP = 5
    SNAPSHOT = 6  # InstallSnapshot
    HEARTBEAT = 7
    HEARTBEAT_RESP = 8
    TIMEOUT_NOW = 9  # leadership transfer (thesis, section 3.10)
    READ_INDEX = 10  # a follower forwards a ReadIndex request to the leader
    READ_INDEX_RESP = 11
    PROPOSE = 12  # a follower forwards a proposal to the leader


class ConfChangeType(IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    ADD_LEARNER = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    type: ConfChangeType
    node_id: int
    context: bytes = b""  # e.g. the new member's peer URLs, for the application


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HardState:
    """What must be durable before any message that depends on it is sent."""

    term: int = 0
    vote: int = NONE
    commit: int = 0


@dataclass(frozen=True, slots=True)
class ConfState:
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    voters_outgoing: tuple[int, ...] = ()  # non-empty only in a joint configuration


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    index: int = 0
    term: int = 0
    conf_state: ConfState = field(default_factory=ConfState)


@dataclass(frozen=True, slots=True)
class Snapshot:
    meta: SnapshotMeta = field(default_factory=SnapshotMeta)
    data: bytes = b""  # the state machine's serialized state at meta.index

    @property
    def empty(self) -> bool:
        return self.meta.index == 0


@dataclass(frozen=True, slots=True)
class Message:
    type: MessageType
    to: int
    frm: int
    term: int = 0
    log_term: int = 0  # term of the entry at `index` (prevLogTerm), or the candidate's last term
    index: int = 0  # prevLogIndex, or the candidate's last index, or the match index in replies
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""  # ReadIndex request context; campaign type for transfers


@dataclass(frozen=True, slots=True)
class ReadState:
    """A ReadIndex answer: reads for `context` may be served once applied >= `index`."""

    index: int
    context: bytes


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile facts the application may want (not persisted)."""

    leader: int = NONE
    role: Role = Role.FOLLOWER


@dataclass(frozen=True, slots=True)
class Ready:
    """Everything the core asks its driver to do; see the module docstring for the order."""

    soft_state: SoftState | None = None
    hard_state: HardState | None = None  # None: unchanged since the last Ready
    entries: tuple[Entry, ...] = ()  # to append to stable storage (may overwrite a suffix)
    snapshot: Snapshot | None = None  # to install (replaces the log up to its index)
    messages: tuple[Message, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    read_states: tuple[ReadState, ...] = ()
    must_sync: bool = False  # True when hard_state/entries changed and need an fsync
