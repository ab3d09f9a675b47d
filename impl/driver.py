"""The Ready loop, written once: what a driver of the Raft core does with each ``Ready``.

Theory of operation.  The core (:class:`~quorum.impl.raft.rawnode.RawNode`) hands its driver
a frozen :class:`~quorum.impl.raft.types.Ready`.  :meth:`Driver.handle` carries it out
through a few :class:`Ports` the driver plugs in, in the order the Ready contract
prescribes:

1. **send early** a leader's AppendEntries, heartbeats and snapshots, when the Ready has an
   fsync to wait for: they promise nothing about the leader's disk (Raft thesis 10.2.1:
   the leader counts itself toward a majority only once ``advance`` reports its entries
   durable, so an entry is committed only when durable on a majority);
2. **persist** hard state, entries and snapshot with one save (:meth:`Ports.persist`),
   which may complete later.  While it runs, the Ready's committed entries are applied
   (step 4): they are durable on a majority already, so applying them does not depend on
   our own fsync (etcd does the same); a Ready that installs a snapshot waits instead;
3. once the save is durable: copy it into the core's
   :class:`~quorum.impl.raft.storage.MemoryStorage`, then **send** every other message
   (votes and acknowledgements promise durable state);
4. **apply**: install the snapshot, then every committed entry the state machine has not
   applied yet (never an entry that is not committed: only the Ready's
   ``committed_entries``), as one run in one :meth:`Ports.apply` call;
5. **release reads**: a ReadIndex read (Raft thesis 6.4) is answered only once the state
   machine has applied its read index (:class:`ReadGate`);
6. ``advance``.

Two drivers run this one routine.  The asyncio server
(:class:`quorum.impl.server.node.Node`) saves in a worker thread, so requests that
arrive during the fsync join the next Ready (group commit).  The simulator's
:class:`quorum.impl.sim.node.SimNode` saves synchronously on a crashable disk; a crash in
the middle of the save raises out of :meth:`Driver.handle` and the Ready is abandoned
there, as a power cut would leave it.  :meth:`Driver.handle` is a coroutine that awaits
nothing but what ``persist`` returns: a synchronous driver returns :data:`DONE` and runs it
with :func:`run_now`, without an event loop.  This module does no I/O of its own.

Test-only bugs (driver members of :class:`~quorum.impl.mutants.Mutant`, switched here so
that the server runs them as the simulator does): ``REPLY_BEFORE_FSYNC`` sends every
message before the save; ``EARLY_READ_RELEASE`` answers a read as soon as its read index
is known, applied or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Coroutine, Generator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from quorum.impl.mutants import Layer, Mutant, foreign, names
from quorum.impl.raft.errors import ConfigError
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import Entry, Message, MessageType, Ready, Role, Snapshot

__all__ = ["DONE", "EARLY", "Core", "Driver", "Ports", "ReadGate", "run_now"]

W = TypeVar("W")
W_contra = TypeVar("W_contra", contravariant=True)
T = TypeVar("T")

#: what a leader may send before its own fsync (it promises nothing about its disk)
EARLY = frozenset({MessageType.APPEND, MessageType.HEARTBEAT, MessageType.SNAPSHOT})
_ANY_INDEX = 2**63 - 1


class _Done:
    """An awaitable that is complete already: a save that returned before ``persist`` did."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # a generator that never suspends


#: what a synchronous driver's :meth:`Ports.persist` returns
DONE: Awaitable[None] = _Done()


def run_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end at once; it must never suspend (a synchronous driver's
    :meth:`Driver.handle`, whose ``persist`` returns :data:`DONE`).  Its exceptions
    propagate."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a synchronous driver's Ready handling waited for something")


class Core(Protocol):
    """What the loop needs of a protocol core: the Raft core's ``RawNode`` or the
    Multi-Paxos core's ``MultiPaxosNode`` (whose Ready has the same fields)."""

    def advance(self, rd: Any) -> None:
        ...


class Ports(Protocol[W_contra]):
    """What a driver plugs into :class:`Driver`: its storage, network and state machine.

    ``W`` is the driver's kind of read waiter (a future, a pending client read)."""

    def persist(self, rd: Ready) -> Awaitable[None]:
        """Start one save of ``rd``'s hard state, entries and snapshot (fsynced when
        ``rd.must_sync``); awaiting the result returns once they are durable."""
        ...

    def send(self, messages: Sequence[Message]) -> None:
        """Hand ``messages`` to the network, in order."""
        ...

    @property
    def applied(self) -> int:
        """Index of the last entry applied to the state machine."""
        ...

    def install(self, snapshot: Snapshot) -> None:
        """Replace the state machine by ``snapshot`` (newer than what it applied)."""
        ...

    def apply(self, entries: Sequence[Entry]) -> None:
        """Apply a run of committed entries, consecutive, the first the next after
        :attr:`applied` (one call per Ready: the Ready's committed entries not applied
        yet); for a conf change among them, also feed it to ``RawNode.apply_conf_change``
        before applying the next entry."""
        ...

    def release(self, index: int, waiter: W_contra) -> None:
        """Answer a linearizable read whose read index ``index`` is applied."""
        ...


class ReadGate(Generic[W]):
    """A member's ReadIndex requests, in the order they were made (Raft thesis 6.4).

    A request is known by its context (:meth:`expect`); the core answers it with a read
    index (a ``ReadState``, :meth:`answer`); its waiter is due once the state machine has
    applied that index (:meth:`due`)."""

    def __init__(self) -> None:
        self._reads: dict[bytes, tuple[W, int]] = {}  # context -> (waiter, index or -1)

    def __len__(self) -> int:
        return len(self._reads)

    def expect(self, context: bytes, waiter: W) -> None:
        """A ReadIndex request with this context was made for ``waiter``."""
        self._reads[context] = (waiter, -1)

    def forget(self, context: bytes) -> W | None:
        """Stop waiting for this request (lost, refused); its waiter, if known."""
        hit = self._reads.pop(context, None)
        return None if hit is None else hit[0]

    def unanswered(self, context: bytes) -> bool:
        """Is this request known and still without a read index?"""
        hit = self._reads.get(context)
        return hit is not None and hit[1] < 0

    def answer(self, context: bytes, index: int) -> None:
        """The core's read index for a request; only the first answer counts, and an
        unknown context (forgotten, or not ours) is ignored."""
        hit = self._reads.get(context)
        if hit is not None and hit[1] < 0:
            self._reads[context] = (hit[0], index)

    def due(self, applied: int) -> list[tuple[int, W]]:
        """Remove and return (read index, waiter) of every answered request whose read
        index is at most ``applied``, in request order."""
        out = [(i, w) for w, i in self._reads.values() if 0 <= i <= applied]
        for ctx in [c for c, (_, i) in self._reads.items() if 0 <= i <= applied]:
            del self._reads[ctx]
        return out

    def clear(self) -> list[W]:
        """Forget every request; their waiters."""
        waiters = [w for w, _ in self._reads.values()]
        self._reads.clear()
        return waiters


class Driver(Generic[W]):
    """Carries out one member's Readies (see the module docstring); one per RawNode."""

    def __init__(self, raw: Core, mem: MemoryStorage | None, ports: Ports[W],
                 reads: ReadGate[W], mutants: frozenset[Mutant] = frozenset(),
                 early: Collection[Any] = EARLY) -> None:
        """``mem``: the Raft core's mirror of its storage (None for a core that keeps its
        own, the Multi-Paxos one); ``early``: the message types a leader may send before
        its own fsync."""
        unknown = foreign(mutants, Layer.DRIVER)
        if unknown:
            raise ConfigError(f"unknown driver mutants {', '.join(unknown)}; known: "
                              f"{', '.join(names(Layer.DRIVER))}")
        self.raw, self.mem, self.ports, self.reads = raw, mem, ports, reads
        self.mutants, self.early = mutants, early
        self.leading = False  # a fresh RawNode is a follower; soft states say the rest

    async def handle(self, rd: Ready) -> None:
        """Persist, send, apply, release reads and advance, in that order (module doc)."""
        if rd.soft_state is not None:
            self.leading = rd.soft_state.role is Role.LEADER
        early, late = self._split(rd)
        self.ports.send(early)
        saving = self._persist(rd)
        snapshot = rd.snapshot is not None and not rd.snapshot.empty
        if not snapshot:
            self._apply(rd)  # committed: durable on a majority, whatever our fsync does
        await saving
        self._mirror(rd)
        self.ports.send(late)
        if snapshot:
            self._apply(rd)
        self._release_reads(rd)
        self.raw.advance(rd)

    def _split(self, rd: Ready) -> tuple[Sequence[Message], Sequence[Message]]:
        """(messages to send before the save, messages to send once it is durable)."""
        if Mutant.REPLY_BEFORE_FSYNC in self.mutants:
            return rd.messages, ()
        if not (self.leading and rd.must_sync):
            return (), rd.messages
        early = tuple(m for m in rd.messages if m.type in self.early)
        return early, tuple(m for m in rd.messages if m.type not in self.early)

    def _persist(self, rd: Ready) -> Awaitable[None]:
        if rd.hard_state is None and not rd.entries and rd.snapshot is None:
            return DONE
        return self.ports.persist(rd)

    def _mirror(self, rd: Ready) -> None:
        """The save is durable: the core may now read it from its MemoryStorage."""
        if self.mem is None:
            return
        if rd.snapshot is not None and not rd.snapshot.empty:
            self.mem.apply_snapshot(rd.snapshot)
        self.mem.append(rd.entries)
        if rd.hard_state is not None:
            self.mem.set_hard_state(rd.hard_state)

    def _apply(self, rd: Ready) -> None:
        ports = self.ports
        if rd.snapshot is not None and not rd.snapshot.empty \
                and rd.snapshot.meta.index > ports.applied:
            ports.install(rd.snapshot)
        committed = rd.committed_entries
        if not committed:
            return
        skip = ports.applied - committed[0].index + 1  # entries applied already (consecutive)
        if skip <= 0:
            ports.apply(committed)
        elif skip < len(committed):
            ports.apply(committed[skip:])

    def _release_reads(self, rd: Ready) -> None:
        for rs in rd.read_states:
            self.reads.answer(rs.context, rs.index)
        if not self.reads:
            return
        bound = self.ports.applied
        if Mutant.EARLY_READ_RELEASE in self.mutants:
            bound = _ANY_INDEX  # every answered read, applied or not
        for index, waiter in self.reads.due(bound):
            self.ports.release(index, waiter)
