"""The protocol-specific part of a member: which consensus core :class:`~quorum.impl.server.node.Node` drives.

``quorum serve --protocol raft|multipaxos`` picks one of two adapters; the node, the WAL,
the transport, the state machine and the gRPC services are the same for both.  An adapter
builds the core from what the WAL recovered, encodes and decodes the core's peer messages,
reports the core's status in etcd's terms, says which features the core has, and carries
out the node's snapshot loop on the core and the WAL:

* :meth:`CoreAdapter.save` persists one Ready (an installed snapshot included);
* :meth:`CoreAdapter.new_snapshot` builds a snapshot of the state machine at an applied
  index (:meth:`CoreAdapter.snapshot_conf` is read when the state's view is taken);
* :meth:`CoreAdapter.compact` drops the core's log below it, once the node has made that
  snapshot durable (``DiskStorage.save_snapshot``: file, then a fsynced WAL marker), and
  says up to where the WAL's segments may then be released;
* :meth:`CoreAdapter.held_snapshot` is the snapshot the core holds (and sends to a peer
  that lags behind its log).

The node installs a peer's snapshot into the state machine and restores the recovered one
on start the same way for both cores (:meth:`Node.install
<quorum.impl.server.node.Node.install>`, :meth:`Node.start
<quorum.impl.server.node.Node.start>`).

* :class:`RaftCore` (:class:`~quorum.impl.raft.rawnode.RawNode`): membership changes
  through configuration-change entries, snapshots and log compaction that keeps
  ``catchup_entries`` (and at most ``catchup_bytes``) for slow followers, ReadIndex on any
  member (a follower's core forwards it to the leader).  A snapshot installed from the
  leader replaces the whole log.  The core runs without the
  commit notice (``RaftConfig.eager_commit=False``): the node sends it
  :data:`~quorum.impl.server.node.COMMIT_NOTICE_TICKS` of a tick after a commit, unless
  the next AppendEntries carried the commit index first.
* :class:`MultiPaxosCore` (:class:`~quorum.impl.multipaxos.MultiPaxosNode`): a static
  membership (``--initial-cluster``), snapshots and log compaction through the core's own
  :meth:`~quorum.impl.multipaxos.MultiPaxosNode.compact` (its snapshot *is* its compacted
  prefix: every slot up to the snapshot is dropped, so ``catchup_entries`` does not apply,
  and a peer whose acknowledged prefix is below it gets the snapshot in a SNAPSHOT
  message, or with a PROMISE).  A snapshot installed from a peer keeps this acceptor's
  votes above it, in memory and in the WAL: it is saved with ``save_snapshot`` (fsynced)
  before the Ready's votes, never as the Raft save's log-replacing snapshot.  A restart
  recovers the newest snapshot and the votes after it.  A ReadIndex only on the leader.  A
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
from quorum.impl.raft.types import (
    NONE,
    ConfState,
    MessageType,
    Role,
    Snapshot,
    SnapshotMeta,
)
from quorum.impl.server.machine import encode_barrier
from quorum.impl.storage.storage import DiskStorage

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
    membership = False  # does it change its membership through the log?
    #: the message types a leader may send before its own fsync (see quorum.impl.driver)
    early: frozenset[Any] = frozenset()

    def __init__(self, member_id: int, mem: MemoryStorage) -> None:
        self.id, self.mem = member_id, mem

    @property
    def mirror(self) -> MemoryStorage | None:
        """The storage mirror the Ready loop keeps for the core (None: it keeps its own)."""
        return None

    def make(self, hard_state: Any, entries: Sequence[Any], snapshot: Snapshot | None,
             applied: int, voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> Any:
        """Build the core from what the WAL recovered: ``snapshot`` (None or empty: none)
        and the log after it (the node restores the state machine from the snapshot)."""
        raise NotImplementedError

    # --- storage and snapshots (the node's snapshot loop; module docstring) ------------------
    def save(self, disk: DiskStorage, rd: Any) -> bool:
        """Persist one Ready: its hard state, entries and any snapshot installed from a
        peer; returns whether it fsynced."""
        raise NotImplementedError

    def held_snapshot(self) -> Snapshot:
        """The newest snapshot the core holds (``meta.index == 0`` when none)."""
        raise NotImplementedError

    def snapshot_conf(self) -> Any:
        """What the core needs beside the state to build a snapshot at the applied index,
        read when the state machine's view is taken (Raft: the configuration)."""
        return None

    def new_snapshot(self, index: int, conf: Any, data: bytes) -> Snapshot:
        """A snapshot of the state ``data`` at the applied ``index`` (newer than
        :meth:`held_snapshot`); the core's log is unchanged until :meth:`compact`."""
        raise NotImplementedError

    def compact(self, snap: Snapshot, keep_entries: int, keep_bytes: int) -> int:
        """``snap`` (from :meth:`new_snapshot`) is durable: drop the core's log below it,
        keeping up to ``keep_entries`` entries and ``keep_bytes`` bytes for slow peers if
        the core can.  Returns the index the log was compacted up to (the WAL's segments
        up to it may be released), or 0 when nothing was dropped."""
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
    membership = True
    early = frozenset({MessageType.APPEND, MessageType.HEARTBEAT, MessageType.SNAPSHOT})

    raw: RawNode

    @property
    def mirror(self) -> MemoryStorage | None:
        return self.mem

    def make(self, hard_state: Any, entries: Sequence[Any], snapshot: Snapshot | None,
             applied: int, voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> RawNode:
        if snapshot is not None and not snapshot.empty:
            self.mem.apply_snapshot(snapshot)
        self.mem.append([e for e in entries if e.index > applied])
        self.mem.set_hard_state(hard_state)
        self.raw = RawNode(RaftConfig(
            id=self.id, election_tick=election_ticks, heartbeat_tick=1, seed=seed,
            applied=applied, eager_commit=False, mutants=of_layer(mutants, Layer.CORE)),
            self.mem)
        if bootstrap:
            self.raw.bootstrap(voters)
        return self.raw

    def save(self, disk: DiskStorage, rd: Any) -> bool:
        return disk.save(rd.hard_state, rd.entries, rd.snapshot)  # a snapshot replaces the log

    def held_snapshot(self) -> Snapshot:
        return self.mem.snapshot()

    def snapshot_conf(self) -> ConfState:
        return self.raw.status().conf_state

    def new_snapshot(self, index: int, conf: Any, data: bytes) -> Snapshot:
        return self.mem.create_snapshot(index, conf, data)

    def compact(self, snap: Snapshot, keep_entries: int, keep_bytes: int) -> int:
        to = self._compact_point(snap.meta.index, keep_entries, keep_bytes)
        if to < self.mem.first_index():
            return 0
        self.mem.compact(to)
        return to

    def _compact_point(self, applied: int, keep_entries: int, keep_bytes: int) -> int:
        """The index to compact the log up to: keep at most ``keep_entries`` entries
        after it, and at most ``keep_bytes`` bytes of them."""
        to = applied - keep_entries
        lo = max(to + 1, self.mem.first_index())
        kept = 0
        for e in reversed(self.mem.entries(lo, applied + 1) if lo <= applied else []):
            kept += len(e.data)
            if kept > keep_bytes:
                return e.index
        return to

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

    def make(self, hard_state: Any, entries: Sequence[Any], snapshot: Snapshot | None,
             applied: int, voters: tuple[int, ...], election_ticks: int, seed: int,
             mutants: frozenset[Mutant], bootstrap: bool) -> mp.MultiPaxosNode:
        self.raw = mp.MultiPaxosNode(mp.MultiPaxosConfig(
            id=self.id, voters=voters, election_tick=election_ticks, heartbeat_tick=1,
            seed=seed, applied=applied, mutants=of_layer(mutants, Layer.MULTIPAXOS)),
            hard_state, entries, snapshot)
        return self.raw

    def save(self, disk: DiskStorage, rd: Any) -> bool:
        """A snapshot installed from a peer first, durably and keeping the votes above it
        (``save_snapshot``: its file, then a fsynced marker), then the Ready's promise and
        votes (which go on after it)."""
        synced = False
        if rd.snapshot is not None and not rd.snapshot.empty:
            disk.save_snapshot(rd.snapshot)
            synced = True
        return disk.save(rd.hard_state, rd.entries) or synced

    def held_snapshot(self) -> Snapshot:
        return self.raw.snap

    def new_snapshot(self, index: int, conf: Any, data: bytes) -> Snapshot:
        # the meta the core's compact() gives its own snapshot: no term, the static voters
        return Snapshot(SnapshotMeta(index, 0, ConfState(voters=self.raw.voters)), data)

    def compact(self, snap: Snapshot, keep_entries: int, keep_bytes: int) -> int:
        """The core drops every slot up to the snapshot (the snapshot is its compacted
        prefix); nothing is kept for slow peers: they get the snapshot.  Skipped when a
        peer's newer snapshot was installed meanwhile, or when the core has not yet been
        told (``advance``) that the state machine applied that far: the snapshot is
        durable anyway, and the next one compacts."""
        raw, index = self.raw, snap.meta.index
        if not raw.snap.meta.index < index <= raw.applied:
            return 0
        raw.compact(index, snap.data)
        return index

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
