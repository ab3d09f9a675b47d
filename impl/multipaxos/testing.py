"""An in-process cluster of Multi-Paxos replicas on the real WAL, for tests and examples.

:class:`Cluster` owns one :class:`~quorum.impl.multipaxos.node.MultiPaxosNode` per replica,
each saving its Readies with :class:`~quorum.impl.storage.DiskStorage` on its own crashable
:class:`~quorum.impl.storage.MemoryDisk`, so a crash loses exactly what was not fsynced and
a restart recovers from the WAL alone.  It runs the Ready loop in the contract's order
(persist, then send, apply only chosen slots, advance), passes every message through the
codec, and delivers messages from one list in flight on demand: any of them (reordering),
or drops or duplicates them.  Links can be cut.  Nothing here is random but what a seeded
``random.Random`` passed in draws.

A replica's state machine is the list of slots it applied; :meth:`Cluster.compact`
snapshots it (the list, packed) and compacts the replica's log and WAL, and a snapshot
installed from a peer replaces the list, so the ghost checks below judge every slot a
snapshot carries as if it had been applied one by one.

Ghost state for the checks: :attr:`Cluster.chosen` is every slot some replica applied, with
its value; applying a different value in a slot raises :class:`AgreementError`, and so does
applying slots out of order.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import msgpack

from quorum.impl.raft.types import Entry, ReadState, Snapshot
from quorum.impl.storage import DiskStorage, MemoryDisk

from .codec import decode_message, encode_message
from .node import MultiPaxosNode
from .types import Message, MultiPaxosConfig

__all__ = ["AgreementError", "Cluster"]


class AgreementError(AssertionError):
    """Two replicas applied different values in one slot, or a replica skipped a slot."""


class Cluster:
    """Replicas, their disks and the messages in flight (see the module docstring)."""

    def __init__(self, ids: Iterable[int], *, seed: int = 0, **cfg: int) -> None:
        self.voters = tuple(sorted(ids))
        self.cfg = cfg  # MultiPaxosConfig fields shared by every replica
        self.seed = seed
        self.disks = {i: MemoryDisk() for i in self.voters}
        self.nodes: dict[int, MultiPaxosNode | None] = {i: None for i in self.voters}
        self.stores: dict[int, DiskStorage] = {}
        self.applied: dict[int, list[Entry]] = {i: [] for i in self.voters}
        self.read_states: dict[int, list[ReadState]] = {i: [] for i in self.voters}
        self.chosen: dict[int, bytes] = {}
        self.inflight: list[Message] = []
        self.cut: set[tuple[int, int]] = set()
        self.restarts = 0
        self.compactions = 0
        for i in self.voters:
            self.start(i)

    # -- life cycle ----------------------------------------------------------------------
    def start(self, i: int) -> MultiPaxosNode:
        """Recover replica ``i`` from its disk (empty: a new replica) and start it."""
        store, state = DiskStorage.open(self.disks[i], f"/n{i}", cluster_id=1, node_id=i,
                                        segment_bytes=4096)
        self.applied[i] = []  # the state machine replays every chosen slot from 1 ...
        applied = 0
        if state.snapshot is not None and not state.snapshot.empty:
            self._restore(i, state.snapshot)  # ... or from the snapshot on
            applied = state.snapshot.meta.index
        cfg = MultiPaxosConfig(id=i, voters=self.voters, seed=self.seed + self.restarts,
                               applied=applied, **self.cfg)  # type: ignore[arg-type]
        node = MultiPaxosNode(cfg, state.hard_state, state.entries, state.snapshot)
        self.nodes[i], self.stores[i] = node, store
        return node

    def compact(self, i: int) -> Snapshot:
        """Replica ``i`` snapshots its state machine at its applied slot, makes it durable
        and compacts its log and WAL up to it."""
        node, done = self.node(i), self.applied[i]
        snap = node.compact(len(done), msgpack.packb([[e.term, e.index, e.data] for e in done]))
        self.stores[i].save_snapshot(snap)
        self.stores[i].release_to(snap.meta.index)
        self.compactions += 1
        return snap

    def _restore(self, i: int, snap: Snapshot) -> None:
        """Replace replica ``i``'s state machine by ``snap`` (each slot in it checked as if
        applied now)."""
        self.applied[i] = []
        for term, index, data in msgpack.unpackb(snap.data):
            self._apply(i, Entry(term, index, data=data))
        if len(self.applied[i]) != snap.meta.index:
            raise AgreementError(f"n{i}: a snapshot at {snap.meta.index} holds "
                                 f"{len(self.applied[i])} slots")

    def crash(self, i: int, rng: random.Random | None = None) -> None:
        """Power cut of replica ``i``: what was not fsynced is lost (torn, with ``rng``)."""
        self.disks[i].crash(rng)
        self.nodes[i] = None
        self.stores.pop(i, None)
        self.restarts += 1

    def node(self, i: int) -> MultiPaxosNode:
        n = self.nodes[i]
        if n is None:
            raise KeyError(f"replica {i} is down")
        return n

    # -- the Ready loop --------------------------------------------------------------------
    def pump(self, i: int) -> None:
        """Run replica ``i``'s Ready loop until it is quiet."""
        node = self.nodes[i]
        while node is not None and node.has_ready():
            rd = node.ready()
            if rd.snapshot is not None:
                self.stores[i].save_snapshot(rd.snapshot)
            self.stores[i].save(rd.hard_state, rd.entries)
            self.inflight.extend(rd.messages)
            if rd.snapshot is not None and rd.snapshot.meta.index > len(self.applied[i]):
                self._restore(i, rd.snapshot)
            for e in rd.committed_entries:
                self._apply(i, e)
            self.read_states[i].extend(rd.read_states)
            node.advance(rd)

    def pump_all(self) -> None:
        for i in self.voters:
            self.pump(i)

    def _apply(self, i: int, e: Entry) -> None:
        done = self.applied[i]
        if e.index != len(done) + 1:
            raise AgreementError(f"n{i} applies slot {e.index} after {len(done)}")
        seen = self.chosen.setdefault(e.index, e.data)
        if seen != e.data:
            raise AgreementError(f"slot {e.index}: n{i} applies {e.data!r}, another "
                                 f"replica applied {seen!r}")
        done.append(e)

    # -- the network -----------------------------------------------------------------------
    def deliver(self, k: int = 0) -> Message | None:
        """Deliver the ``k``-th message in flight (through the codec); None if it was lost
        (its link cut or its receiver down)."""
        m = self.inflight.pop(k)
        node = self.nodes[m.to]
        if node is None or (m.frm, m.to) in self.cut:
            return None
        m2 = decode_message(encode_message(m))
        node.step(m2)
        self.pump(m.to)
        return m2

    def deliver_all(self, limit: int = 100_000) -> int:
        """Deliver in send order until nothing is in flight; how many were delivered."""
        n = 0
        while self.inflight and n < limit:
            self.deliver(0)
            n += 1
        return n

    def drop_where(self, pred: object) -> int:
        """Drop every message in flight for which ``pred(m)`` holds; how many."""
        keep = [m for m in self.inflight if not pred(m)]  # type: ignore[operator]
        n = len(self.inflight) - len(keep)
        self.inflight = keep
        return n

    def isolate(self, i: int) -> None:
        for j in self.voters:
            if j != i:
                self.cut |= {(i, j), (j, i)}

    def heal(self) -> None:
        self.cut.clear()

    def tick(self, i: int, n: int = 1) -> None:
        for _ in range(n):
            node = self.nodes[i]
            if node is None:
                return
            node.tick()
            self.pump(i)

    def campaign(self, i: int) -> None:
        self.node(i).campaign()
        self.pump(i)

    def propose(self, i: int, *datas: bytes) -> None:
        self.node(i).propose_batch(datas)
        self.pump(i)

    def leaders(self) -> list[int]:
        return [i for i, n in self.nodes.items()
                if n is not None and n.role.name == "LEADER"]

    def stabilize(self, rounds: int = 50) -> int | None:
        """Deliver everything and tick every replica until one leads and every running
        replica applied every slot it knows chosen (or ``rounds`` run out); the leader."""
        for _ in range(rounds):
            self.deliver_all()
            leads = self.leaders()
            up = [n for n in self.nodes.values() if n is not None]
            if len(leads) == 1:
                lead = self.node(leads[0])
                if all(n.commit == lead.commit == n.applied for n in up) \
                        and lead.commit == lead.last:
                    return leads[0]
            for i in self.voters:
                self.tick(i)
        return None

    def values(self, i: int) -> list[bytes]:
        """The commands replica ``i`` applied (no-ops left out)."""
        return [e.data for e in self.applied[i] if e.data]

