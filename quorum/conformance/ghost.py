"""The ``safety`` check: the simulated implementation's own safety, through ghost state.

These checks read the concrete cluster and keep what raft.tla keeps in its history
variables: who led each term (``elections``) and which entries were committed.  They
need no spec (this module imports only ``impl``), so they also cover what the
abstraction onto the spec leaves out (snapshots, batching, torn writes).  After every
event, the first rule broken is reported as ``Failure("safety", why, event)``:

* **Election Safety** (Raft Figure 3): at most one node ever leads a term.
* **State Machine Safety**: one entry per index is ever applied, by any node.
* **Committed entries are durable on a majority**: an entry once known committed (some
  node's commit index covers it) is held, in the durable image of the log or under a
  snapshot, by at least floor(n/2)+1 of the n voters of the configuration that
  committed it, crashed and removed voters included.  That configuration is the one of
  the node whose commit index first covered the entry (normally its leader) at the
  start or at the end of that event: a leader adopts a configuration when it applies
  its entry, and may then commit more with the new one within the same event.  Raft's acknowledgement
  promise rests on this; with Leader Completeness it is what makes a committed entry
  survive every later election.  With membership changes the configuration matters:
  counting a majority of every node ever started would miss a commit by half of an
  even configuration, and counting the current one would blame an entry committed
  before a removal.
* **Commit rule** (section 5.4.2, Figure 8): a leader advances its commit index, by
  counting, only onto an entry of its own term.
* **Restart keeps term, vote and log** (raft.tla's ``Restart``): what a crashed node
  recovers equals what its driver last saved, and a node that restarts starts from
  exactly that image.  A WAL damaged after the crash (media corruption, the ``corrupt``
  step) must make the node refuse to start, never start it from what is left: a refused
  start is no failure, a different log is.
* **One configuration change at a time** (thesis 4.1): a leader's log never holds two
  configuration changes beyond its applied index (the changes it has proposed but not
  yet adopted); two in flight can take the configuration two servers away at once, and
  the old and new majorities need not overlap.
* **Stale messages change no log** (Figure 2, receiver rule 1).
"""

from __future__ import annotations

import zlib

from quorum.conformance.failure import Check, Failure
from quorum.impl.raft.types import EntryType, Role
from quorum.impl.sim import Event, Simulator
from quorum.impl.sim.node import DurableImage

#: the step kinds that make a leader propose a configuration change
CHANGES = ("addl", "addv", "promote", "remove")

__all__ = ["GhostSafety"]


class GhostSafety:
    """Observer for :func:`quorum.impl.sim.run_schedule`: the checks of the module docstring.

    Each private check returns ``None`` or why it failed, in one line.
    """

    check: Check = "safety"

    def __init__(self) -> None:
        self.applied: dict[int, tuple[int, int]] = {}  # index -> (term, crc of the data)
        self.leaders: dict[int, int] = {}  # term -> leader
        self.committed: dict[int, int] = {}  # index -> term of the committed entry
        #: index -> the voters of the configurations of the node that first knew it
        #: committed, before and after that event
        self.quorum_of: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._voters: dict[int, tuple[int, ...]] = {}  # node -> its voters after the last event
        self.leader_commit: dict[int, tuple[int, int]] = {}  # node -> (term, commit)
        self._signature: tuple[object, ...] = ()
        self._seen: dict[int, tuple[int, ...]] = {}

    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        for rule in (self._elections, self._applied, self._commit_rule, self._durable,
                     self._restart_keeps, self._stale_ignored, self._one_change):
            why = rule(sim, ev)
            if why is not None:
                return Failure(self.check, why, ev.index)
        self._voters = {i: node.raw.raft.tracker.voters for i, node in sim.raft_nodes.items()
                        if node.raw is not None}
        return None

    def _elections(self, sim: Simulator, ev: Event) -> str | None:
        for i, node in sim.raft_nodes.items():
            if node.raw is not None and node.raw.raft.role is Role.LEADER:
                term = node.raw.raft.term
                if self.leaders.setdefault(term, i) != i:
                    return f"two leaders in term {term}: n{self.leaders[term]} and n{i}"
        return None

    def _applied(self, sim: Simulator, ev: Event) -> str | None:
        for i, node in sim.raft_nodes.items():
            for e in node.newly_applied:
                key = (e.term, zlib.crc32(bytes([int(e.type)]) + e.data))
                prev = self.applied.setdefault(e.index, key)
                if prev != key:
                    return (f"n{i} applied entry {e.index} of term {e.term}, "
                            f"another node applied term {prev[0]} there")
        return None

    def _commit_rule(self, sim: Simulator, ev: Event) -> str | None:
        for i, node in sim.raft_nodes.items():
            raw = node.raw
            if raw is None or raw.raft.role is not Role.LEADER:
                self.leader_commit.pop(i, None)
                continue
            r = raw.raft
            term, commit = r.term, r.log.committed
            before = self.leader_commit.get(i)
            self.leader_commit[i] = (term, commit)
            if before is not None and before[0] == term and commit > before[1]:
                if r.log.term(commit) != term:
                    return (f"leader n{i} of term {term} committed entry {commit} of term "
                            f"{r.log.term(commit)} by counting (Figure 8)")
        return None

    def _learn_committed(self, sim: Simulator, ev: Event) -> str | None:
        for i, node in sim.raft_nodes.items():
            if node.raw is None:
                continue
            log = node.raw.raft.log
            last = log.last_index()
            sig = (id(node.raw), log.first_index(), last, log.term(last), log.committed,
                   len(self.committed))
            if self._seen.get(i) == sig:
                continue  # nothing this check reads changed on this node
            self._seen[i] = sig
            top = max(self.committed, default=0)
            after = node.raw.raft.tracker.voters or tuple(sim.raft_nodes)
            configs = (self._voters.get(i) or after, after)
            for k in range(max(top, log.first_index() - 1) + 1, log.committed + 1):
                self.committed[k] = log.term(k)
                self.quorum_of[k] = configs
            for k in range(max(log.first_index(), 1), min(log.committed, top) + 1):
                if log.term(k) != self.committed[k]:
                    return (f"n{i} holds entry {k} of term {log.term(k)} below its commit "
                            f"index; the committed entry there has term {self.committed[k]}")
        return None

    def _durable(self, sim: Simulator, ev: Event) -> str | None:
        failure = self._learn_committed(sim, ev)
        if failure is not None or not self.committed:
            return failure
        sig = (*(node.durable_version() for node in sim.raft_nodes.values()), len(self.committed))
        if sig == self._signature:
            return None  # no log and no commit changed since the last check
        self._signature = sig
        images = {i: node.durable() for i, node in sim.raft_nodes.items()}
        for k in sorted(self.committed):
            term = self.committed[k]
            holders = {i for i, im in images.items() if k <= im.snap_index or im.term(k) == term}
            before, after = self.quorum_of[k]
            if not any(len(holders & set(v)) >= len(v) // 2 + 1 for v in (before, after)):
                held = " or ".join(f"{len(holders & set(v))} of the {len(v)} voters {list(v)}"
                                   for v in dict.fromkeys((before, after)))
                return (f"committed entry {k} (term {term}) is durable on {held}, fewer "
                        f"than a majority")
        return None

    def _restart_keeps(self, sim: Simulator, ev: Event) -> str | None:
        """A crash keeps term, vote and log as last saved (raft.tla's Restart; Figure 2).

        A crash that interrupted a save may also recover that save's hard state and
        entries (the save may have reached the disk before the power cut).
        """
        for i, node in sim.raft_nodes.items():
            expected, got = node.last_start or (None, None)
            if expected is not None and got is not None and got != expected:
                return (f"n{i} restarted from another log than its disk held (expected "
                        f"{_image(expected)}, started from {_image(got)})")
            if node.last_crash is None:
                continue
            before, after, saving = node.last_crash
            hs, hs2 = before.hard_state, after.hard_state
            ok = {(hs.term, hs.vote)}
            if saving is not None and saving.hard_state is not None:
                ok.add((saving.hard_state.term, saving.hard_state.vote))
            if (hs2.term, hs2.vote) not in ok:
                return (f"n{i} saved term {hs.term} vote {hs.vote} but recovered term "
                        f"{hs2.term} vote {hs2.vote} after a crash")
            last = before.snap_index + len(before.entries)
            if saving is not None and saving.entries:
                last = min(last, saving.entries[0].index - 1)
            if last > after.snap_index and after.term(last) != before.term(last):
                return f"n{i} lost log entry {last} in a crash (it was saved)"
        return None

    def _one_change(self, sim: Simulator, ev: Event) -> str | None:
        """A leader never has two configuration changes beyond its applied index."""
        if ev.noop or ev.node == 0 or ev.step[0] not in CHANGES:
            return None  # only a change a leader accepted can add a second one
        raw = sim.raft_nodes[ev.node].raw
        if raw is None or raw.raft.role is not Role.LEADER:
            return None
        log = raw.raft.log
        lo = max(log.applied + 1, log.first_index())
        pending = [e.index for e in log.slice(lo, log.last_index() + 1)
                   if e.type is EntryType.CONF_CHANGE] if lo <= log.last_index() else []
        if len(pending) > 1:
            return (f"leader n{ev.node} holds configuration changes {pending} beyond its "
                    f"applied index {log.applied}: two changes in flight (thesis 4.1)")
        return None

    def _stale_ignored(self, sim: Simulator, ev: Event) -> str | None:
        """A message of an older term changes no log (Figure 2, receiver rule 1)."""
        m, pre = ev.message, sim.pre_step
        if m is None or pre is None or m.term >= pre[0]:
            return None
        raw = sim.raft_nodes[m.to].raw
        if raw is None:
            return None
        log = raw.raft.log
        if (log.last_index(), log.term(log.last_index())) != pre[1:]:
            return (f"n{m.to} of term {pre[0]} changed its log on "
                    f"{m.type.name} of term {m.term} from n{m.frm}")
        return None


def _image(im: DurableImage) -> str:
    """A durable image in one line: hard state, snapshot, log length and last entry."""
    last = im.entries[-1].index if im.entries else im.snap_index
    return (f"term {im.hard_state.term} vote {im.hard_state.vote} commit "
            f"{im.hard_state.commit}, snapshot {im.snap_index}/{im.snap_term}, "
            f"{len(im.entries)} entries to {last}/{im.term(last)}")
