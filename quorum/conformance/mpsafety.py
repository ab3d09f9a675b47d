"""``safety`` for runs of the multipaxos core: per-slot agreement through ghost state.

The Raft checks (:mod:`quorum.conformance.ghost`, the raft.tla abstraction, step
refinement) read the Raft core; a run under ``--protocol multipaxos`` is judged by this
observer instead (and by linearizability of its client history).  After every event:

* **Agreement** (MultiPaxos.tla's per-slot Agreement): no two replicas apply different
  commands in one slot, over the whole run, restarts included (a ghost map slot ->
  the command first applied there);
* **Execution in order**: each replica applies slot after slot from 1, or (after a
  restart) from the slot after the snapshot it recovered, never skipping a slot it has
  not applied but by installing a peer's snapshot, which only moves forward, to a slot
  some replica applied (compacted slots are chosen: their commands are judged where
  they were applied, and the client history's linearizability judges the state);
* **One value per ballot and slot**: no two replicas hold different votes with the same
  ballot in one slot (a ballot's leader proposes one command per slot; a vote is
  ``Entry(term=ballot)``), over every vote ever seen;
* **A crash keeps what was saved**: the promise recovered after a crash is at least the
  one saved before it, and every vote saved before it is still there at a ballot at
  least as high (a torn write may lose only the save in progress), unless a snapshot
  recovered with it covers that slot (a compacted slot is chosen).
"""

from __future__ import annotations

from quorum.conformance.failure import Check, Failure
from quorum.impl.kv import decode
from quorum.impl.kv.commands import CommandDecodeError
from quorum.impl.sim import Event, MPSimNode, Simulator

__all__ = ["MultiPaxosSafety"]


class MultiPaxosSafety:
    check: Check = "safety"

    def __init__(self) -> None:
        self.chosen: dict[int, tuple[bytes, int]] = {}  # slot -> (command, replica)
        self.applied: dict[int, int] = {}  # replica -> last slot applied since its start
        self.votes: dict[tuple[int, int], tuple[bytes, int]] = {}  # (slot, ballot) -> value
        self.seen_restarts: dict[int, int] = {}

    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        for i, node in sim.nodes.items():
            assert isinstance(node, MPSimNode)
            if node.restarts != self.seen_restarts.get(i, 0) or node.last_start is not None:
                self.seen_restarts[i] = node.restarts
                self.applied[i] = node.base
            fail = self._crash(i, node, ev) or self._applied(i, node, ev) \
                or self._votes(i, node, ev)
            if fail is not None:
                return fail
        return None

    def _applied(self, i: int, node: MPSimNode, ev: Event) -> Failure | None:
        installs = list(node.installed)
        for k, e in enumerate([*node.newly_applied, None]):
            while installs and installs[0][0] == k:
                fail = self._install(i, installs.pop(0)[1], ev)
                if fail is not None:
                    return fail
            if e is None:
                break
            last = self.applied.get(i, 0)
            if e.index != last + 1:
                return Failure(self.check, f"n{i} applied slot {e.index} after slot {last}",
                               ev.index)
            self.applied[i] = e.index
            seen = self.chosen.setdefault(e.index, (e.data, i))
            if seen[0] != e.data:
                return Failure(self.check, f"agreement: slot {e.index} applied as "
                               f"{_show(e.data)} by n{i} and as {_show(seen[0])} by "
                               f"n{seen[1]}", ev.index)
        return None

    def _install(self, i: int, index: int, ev: Event) -> Failure | None:
        last = self.applied.get(i, 0)
        if index <= last:
            return Failure(self.check, f"n{i} installed a snapshot at slot {index} after "
                           f"applying slot {last}", ev.index)
        if index not in self.chosen:
            return Failure(self.check, f"n{i} installed a snapshot at slot {index}, which "
                           f"no replica executed", ev.index)
        self.applied[i] = index
        return None

    def _votes(self, i: int, node: MPSimNode, ev: Event) -> Failure | None:
        if node.raw is None:
            return None
        for s, e in node.raw.log.items():
            seen = self.votes.setdefault((s, e.term), (e.data, i))
            if seen[0] != e.data:
                return Failure(self.check, f"two values for ballot {e.term} in slot {s}: "
                               f"{_show(e.data)} at n{i}, {_show(seen[0])} at n{seen[1]}",
                               ev.index)
        return None

    def _crash(self, i: int, node: MPSimNode, ev: Event) -> Failure | None:
        if node.last_crash is None:
            return None
        (hs0, ents0), (hs1, ents1), base = *node.last_crash, node.crash_base
        node.last_crash = None  # judged once
        if hs1.term < hs0.term:
            return Failure(self.check, f"n{i} crashed with promise {hs0.term} saved and "
                           f"recovers promise {hs1.term}", ev.index)
        after = {e.index: e.term for e in ents1}
        for e in ents0:
            if e.term and e.index > base and after.get(e.index, 0) < e.term:
                return Failure(self.check, f"n{i} lost its vote at ballot {e.term} in slot "
                               f"{e.index} in a crash", ev.index)
        return None


def _show(data: bytes) -> str:
    """A command in a few words: the client request it carries, or a no-op."""
    if not data:
        return "a no-op"
    try:
        req = decode(data)
    except CommandDecodeError:
        return f"{len(data)} undecodable bytes"
    return f"request {req.request_id} ({type(req.command).__name__})"
