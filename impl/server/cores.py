"""The protocol-specific part of a member: which consensus core :class:`~quorum.impl.server.node.Node` drives.

``quorum serve --protocol raft|multipaxos`` picks one of two adapters; the node, the WAL,
the transport, the state machine and the gRPC services are the same for both.  An adapter
builds the core from what the WAL recovered, encodes and decodes the core's peer messages,
reports the core's status in etcd's terms, and says which features the core has:

* :class:`RaftCore` (:class:`~quorum.impl.raft.rawnode.RawNode`): membership changes
  through configuration-change entries, snapshots and log compaction, ReadIndex on any
  member (a follower's core forwards it to the leader).  The core runs without the
  commit notice (``RaftConfig.eager_commit=False``): the node sends it
  :data:`~quorum.impl.server.node.COMMIT_NOTICE_TICKS` of a tick after a commit, unless
  the next AppendEntries carried the commit index first.
* :class:`MultiPaxosCore` (:class:`~quorum.impl.multipaxos.MultiPaxosNode`): a static
  membership (``--initial-cluster``), no snapshots (the log is never compacted, and a
  restarted member replays it from slot 1), and a ReadIndex only on the leader.  A
  follower serves a linearizable read with a *read barrier*: it proposes an entry that
  changes nothing (:data:`~quorum.impl.server.machine.BARRIER_PREFIX`, through its leader
  like any proposal; it names the member, a random nonce of this run of the process and
  the read, so a barrier replayed from the log after a restart answers nothing) and reads
  once it has applied that entry.  Any write acknowledged
  before the read started is chosen in a lower slot (a leader places new proposals above
  every slot a majority may have chosen), so the read reflects it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quorum.impl import multipaxos as mp
from quorum.impl.multipaxos import codec as mp_codec
from quorum.impl.mutants import Layer, Mutant, of_layer
from quorum.impl.raft import codec as raft_codec
from quorum.impl.raft.config import RaftConfig
from quorum.impl.raft.errors import ProposalDropped
from quorum.impl.raft.rawnode import RawNode
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import NONE, MessageType, Role
from quorum.impl.server.machine import encode_barrier

__all__ = ["PROTOCOLS", "CoreAdapter", "CoreStatus", "MultiPaxosCore", "RaftCore", "adapter"]

PROTOCOLS = ("raft", "multipaxos")


@dataclass(frozen=True, slots=True)
class CoreStatus:
    """What etcd's Status RPC and the corruption check need of a core."""

    term: int  # Raft's term; Multi-Paxos's promised ballot
    last_index: int  # the last log index (slot) held
    commit: int  # the commit index (chosen prefix)
    learner: bool


class CoreAdapter:
    """One protocol's core behind a member (module docstring)."""

    name = ""
    snapshots = False  # does the core take and install snapshots (and compact its log)?
    membership = False  # does it change its membership through the log?
    #: the message types a leader may send before its own fsync (see quorum.impl.driver)
    early: frozenset[Any] = frozenset()

    def __init__(self, member_id: int, mem: MemoryStorage) -> None:
        self.id, self.mem = member_id, mem

    @property
    def mirror(self) -> MemoryStorage | None:
        """The storage mirror the Ready loop keeps for the core (None: it keeps its own)."""
        return None

    def make(self, hard_state: Any, entries: Sequence[Any], applied: int,
             voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> Any:
        raise NotImplementedError

    def decode(self, body: bytes) -> Any:
        """A peer's message; raises CodecError for bytes that are not one."""
        raise NotImplementedError

    def encode(self, message: Any, runs: dict[Any, bytes] | None = None) -> bytes:
        """``message`` as bytes; ``runs`` caches packed entry runs shared by the messages of
        one Ready (a core may ignore it)."""
        raise NotImplementedError

    def unreachable(self, message: Any) -> None:
        """The transport could not take ``message`` (its peer is down)."""

    def read_index(self, context: bytes) -> None:
        """Ask for a read index for ``context`` (answered in a ReadState, or, for a read
        barrier, by applying it); ProposalDropped while no leader is known."""
        raise NotImplementedError

    def status(self) -> CoreStatus:
        raise NotImplementedError

    def commit_lagging(self) -> bool:
        """Leader: is a member not yet told a commit index it could adopt?  (A core that
        never leaves the commit notice out answers False.)"""
        return False

    def send_commit(self) -> None:
        """Leader: queue the commit notice for the members that lag."""

    def own_barrier(self, member: int, payload: bytes) -> bytes | None:
        """The read context of an applied read barrier if this member proposed it in this
        life, else None."""
        return None


class RaftCore(CoreAdapter):
    name = "raft"
    snapshots = True
    membership = True
    early = frozenset({MessageType.APPEND, MessageType.HEARTBEAT, MessageType.SNAPSHOT})

    raw: RawNode

    @property
    def mirror(self) -> MemoryStorage | None:
        return self.mem

    def make(self, hard_state: Any, entries: Sequence[Any], applied: int,
             voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> RawNode:
        self.mem.append([e for e in entries if e.index > applied])
        self.mem.set_hard_state(hard_state)
        self.raw = RawNode(RaftConfig(
            id=self.id, election_tick=election_ticks, heartbeat_tick=1, seed=seed,
            applied=applied, eager_commit=False, mutants=of_layer(mutants, Layer.CORE)),
            self.mem)
        if bootstrap:
            self.raw.bootstrap(voters)
        return self.raw

    def decode(self, body: bytes) -> Any:
        return raft_codec.decode_message(body)

    def encode(self, message: Any, runs: dict[Any, bytes] | None = None) -> bytes:
        return raft_codec.encode_message(message, runs)

    def unreachable(self, message: Any) -> None:
        if message.type is MessageType.SNAPSHOT:
            self.raw.report_snapshot(message.to, False)
        self.raw.report_unreachable(message.to)

    def read_index(self, context: bytes) -> None:
        self.raw.read_index(context)

    def status(self) -> CoreStatus:
        st = self.raw.status()
        return CoreStatus(st.hard_state.term, st.last_index, st.hard_state.commit,
                          self.id in st.conf_state.learners)

    def commit_lagging(self) -> bool:
        return self.raw.commit_lagging()

    def send_commit(self) -> None:
        self.raw.send_commit()


class MultiPaxosCore(CoreAdapter):
    name = "multipaxos"
    early = frozenset({mp.MessageType.ACCEPT})

    raw: mp.MultiPaxosNode

    def __init__(self, member_id: int, mem: MemoryStorage) -> None:
        super().__init__(member_id, mem)
        # a barrier names this life of the member: one replayed from the log after a
        # restart never answers a read of the new life whose context happens to match
        self.nonce = os.urandom(8)

    def make(self, hard_state: Any, entries: Sequence[Any], applied: int,
             voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> mp.MultiPaxosNode:
        self.raw = mp.MultiPaxosNode(mp.MultiPaxosConfig(
            id=self.id, voters=voters, election_tick=election_ticks, heartbeat_tick=1,
            seed=seed, applied=applied, mutants=of_layer(mutants, Layer.MULTIPAXOS)),
            hard_state, entries)
        return self.raw

    def decode(self, body: bytes) -> Any:
        return mp_codec.decode_message(body)

    def encode(self, message: Any, runs: dict[Any, bytes] | None = None) -> bytes:
        return mp_codec.encode_message(message)

    def read_index(self, context: bytes) -> None:
        raw = self.raw
        if raw.role is Role.LEADER:
            raw.read_index(context)
        elif raw.leader == NONE:
            raise ProposalDropped("no leader known: read dropped")
        else:  # a read barrier through the leader (module docstring)
            raw.propose_batch((encode_barrier(self.id, self.nonce + context),))

    def status(self) -> CoreStatus:
        st = self.raw.status()
        return CoreStatus(st.hard_state.term, st.last_index, st.hard_state.commit, False)

    def own_barrier(self, member: int, payload: bytes) -> bytes | None:
        if member != self.id or not payload.startswith(self.nonce):
            return None
        return payload[len(self.nonce):]


def adapter(protocol: str, member_id: int, mem: MemoryStorage) -> CoreAdapter:
    """The adapter of ``protocol`` (one of :data:`PROTOCOLS`)."""
    kinds: dict[str, type[CoreAdapter]] = {"raft": RaftCore, "multipaxos": MultiPaxosCore}
    return kinds[protocol](member_id, mem)
