"""A small in-process cluster of Raft cores, for tests and examples.

:class:`Network` owns one :class:`~quorum.impl.raft.rawnode.RawNode` per member, each with its
own :class:`~quorum.impl.raft.storage.MemoryStorage` (standing in for a WAL: whatever reaches it
counts as durable) and a toy state machine that records the applied commands.  It runs
the driver loop of ``rawnode.py`` for every node and delivers messages from one FIFO
queue, on demand, in a deterministic order.  Tests cut links, isolate nodes, drop or hold
messages with a filter, tick clocks, restart nodes (keeping only their storage), take
snapshots and compact logs.  Nothing here is random or timed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import msgpack

from . import codec
from .config import RaftConfig
from .errors import PanicError
from .rawnode import RawNode
from .storage import MemoryStorage
from .types import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    ReadState,
    Role,
    Snapshot,
)

__all__ = ["Network", "StateMachine"]

DropFilter = Callable[[Message], bool]


@dataclass
class StateMachine:
    """The applied commands of one node, in order (its snapshot is this list)."""

    applied_index: int = 0
    commands: list[bytes] = field(default_factory=list)

    def apply(self, e: Entry) -> None:
        if e.index != self.applied_index + 1:  # the core handed out a gap or a repeat
            raise PanicError(f"applying entry {e.index} after {self.applied_index}")
        self.applied_index = e.index
        if e.type is EntryType.NORMAL and e.data:
            self.commands.append(e.data)

    def snapshot_data(self) -> bytes:
        return msgpack.packb(self.commands, use_bin_type=True)

    def restore(self, snap: Snapshot) -> None:
        self.applied_index = snap.meta.index
        self.commands = list(msgpack.unpackb(snap.data, raw=False)) if snap.data else []


class Network:
    """An in-memory cluster with controllable delivery (see the module docstring)."""

    def __init__(self, ids: Iterable[int], *, bootstrap: bool = False, **cfg: Any) -> None:
        self.cfg = cfg  # RaftConfig fields shared by every node, e.g. pre_vote=False
        self.nodes: dict[int, RawNode] = {}
        self.storages: dict[int, MemoryStorage] = {}
        self.sms: dict[int, StateMachine] = {}
        self.read_states: dict[int, list[ReadState]] = {}
        self.queue: list[Message] = []
        self.cut_links: set[tuple[int, int]] = set()
        self.drop: DropFilter | None = None
        self.delivered: list[Message] = []
        self.dropped: list[Message] = []
        voters = tuple(sorted(ids))
        for i in voters:
            if bootstrap:
                self.add_node(i)
                self.nodes[i].bootstrap(voters)
            else:
                self.add_node(i, MemoryStorage(ConfState(voters=voters)))

    @classmethod
    def with_logs(cls, logs: Mapping[int, Sequence[int]], term: int, **cfg: Any) -> Network:
        """A cluster whose members start with the given logs (a term per index, from 1).

        Entry data reads ``b"<index>@<term>"``; every member's current term is ``term``
        and its commit index 0.  Handy to set up the Raft paper's Figures 7 and 8.
        """
        net = cls(logs, **cfg)
        voters = tuple(sorted(logs))
        for i, terms in logs.items():
            st = MemoryStorage(ConfState(voters=voters))
            st.append([Entry(term=t, index=k + 1, data=f"{k + 1}@{t}".encode())
                       for k, t in enumerate(terms)])
            st.set_hard_state(HardState(term=term))
            net.add_node(i, st)
        return net

    # -- membership of the harness ---------------------------------------------------------
    def add_node(self, i: int, storage: MemoryStorage | None = None, **cfg: Any) -> RawNode:
        """Start node ``i`` (a fresh, empty one unless ``storage`` is given)."""
        self.storages[i] = storage if storage is not None else MemoryStorage()
        self.sms[i] = StateMachine()
        self.read_states.setdefault(i, [])
        snap = self.storages[i].snapshot()
        if snap.meta.index:
            self.sms[i].restore(snap)
        conf = RaftConfig(id=i, applied=snap.meta.index, **{**self.cfg, **cfg})
        self.nodes[i] = RawNode(conf, self.storages[i])
        return self.nodes[i]

    def restart(self, i: int, **cfg: Any) -> RawNode:
        """Crash and restart ``i``: volatile state is lost, its storage survives."""
        self.queue = [m for m in self.queue if m.to != i]
        return self.add_node(i, self.storages[i], **cfg)

    def remove(self, i: int) -> None:
        """Stop node ``i`` for good (messages to it are dropped)."""
        for table in (self.nodes, self.storages, self.sms):
            table.pop(i, None)

    # -- the driver loop -------------------------------------------------------------------
    def process(self, i: int) -> bool:
        """Run one Ready cycle of node ``i``; False when it had nothing to do."""
        node = self.nodes[i]
        if not node.has_ready():
            return False
        rd = node.ready()
        st, sm = self.storages[i], self.sms[i]
        if rd.snapshot is not None:
            st.apply_snapshot(rd.snapshot)
            sm.restore(rd.snapshot)
        st.append(rd.entries)
        if rd.hard_state is not None:
            st.set_hard_state(rd.hard_state)
        self.queue.extend(rd.messages)
        for e in rd.committed_entries:
            if e.index <= sm.applied_index:
                continue  # covered by a snapshot restored in this same Ready
            sm.apply(e)
            if e.type is EntryType.CONF_CHANGE:
                node.apply_conf_change(codec.conf_change_from_bytes(e.data))
        self.read_states[i].extend(rd.read_states)
        node.advance(rd)
        return True

    def process_all(self) -> None:
        for i in sorted(self.nodes):
            while self.process(i):
                pass

    def deliver(self, limit: int | None = None) -> int:
        """Deliver queued messages in FIFO order (at most ``limit``); the number stepped."""
        self.process_all()
        n = 0
        while self.queue and (limit is None or n < limit):
            m = self.queue.pop(0)
            if self._dropped(m):
                self.dropped.append(m)
                continue
            self.nodes[m.to].step(m)
            self.delivered.append(m)
            n += 1
            self.process(m.to)
        return n

    def stabilize(self, max_rounds: int = 10_000) -> None:
        """Deliver until no node has anything to do; bounded so a livelock fails loudly.

        Once nothing is in flight, a leader whose members lag behind its commit index
        sends them the commit notice a driver sends a short while (less than a tick)
        after the commit (``RawNode.send_commit``), and delivery goes on."""
        for _ in range(max_rounds):
            self.process_all()
            if not self.queue:
                lagging = [i for i in sorted(self.nodes) if self.nodes[i].commit_lagging()]
                if not lagging:
                    return
                for i in lagging:
                    self.nodes[i].send_commit()
                continue
            self.deliver()
        raise AssertionError(f"network did not stabilize in {max_rounds} rounds")

    def _dropped(self, m: Message) -> bool:
        return (m.to not in self.nodes or m.frm not in self.nodes
                or (m.frm, m.to) in self.cut_links
                or (self.drop is not None and self.drop(m)))

    # -- faults and time -------------------------------------------------------------------
    def cut(self, a: int, b: int) -> None:
        self.cut_links |= {(a, b), (b, a)}

    def isolate(self, i: int) -> None:
        for j in list(self.nodes):
            if j != i:
                self.cut(i, j)

    def heal(self) -> None:
        self.cut_links.clear()
        self.drop = None

    def tick(self, ids: Iterable[int] | None = None, n: int = 1) -> None:
        """Tick the given nodes (default: all) ``n`` times, stabilizing after each."""
        for _ in range(n):
            for i in sorted(ids if ids is not None else self.nodes):
                self.nodes[i].tick()
            self.stabilize()

    # -- conveniences ----------------------------------------------------------------------
    def campaign(self, i: int) -> None:
        self.process_all()  # a node applies pending conf changes before it may campaign
        self.nodes[i].campaign()
        self.stabilize()

    def propose(self, i: int, data: bytes) -> None:
        self.nodes[i].propose(data)
        self.stabilize()

    def role(self, i: int) -> Role:
        return self.nodes[i].raft.role

    def leaders(self) -> list[int]:
        return [i for i in sorted(self.nodes) if self.role(i) is Role.LEADER]

    def commands(self, i: int) -> list[bytes]:
        return self.sms[i].commands

    def compact(self, i: int, index: int | None = None) -> Snapshot:
        """Snapshot node ``i``'s state machine at its applied index and compact its log."""
        st, sm = self.storages[i], self.sms[i]
        index = sm.applied_index if index is None else index
        if index != sm.applied_index:
            raise ValueError(f"the toy state machine snapshots where it is ({sm.applied_index})")
        cs = self.nodes[i].raft.tracker.conf_state()
        snap = st.create_snapshot(index, cs, sm.snapshot_data())
        st.compact(index)
        return snap

    def log(self, i: int) -> list[tuple[int, int]]:
        """Node ``i``'s log as ``(index, term)`` pairs from its first held index."""
        r = self.nodes[i].raft
        ents = r.log.slice(r.log.first_index(), r.log.last_index() + 1)
        return [(e.index, e.term) for e in ents]


def set_term(m: Message, term: int) -> Message:
    """A copy of ``m`` with another term (for tests forging stale messages)."""
    return replace(m, term=term)
