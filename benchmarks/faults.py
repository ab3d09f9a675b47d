"""How often each fault kind occurs, and takes effect, per 1,000 generated schedules.

Usage: python benchmarks/faults.py [--schedules 1000] [--steps 1500] [--first-seed 0]
       [--workers 2] [--profile wide|churn|default|tla|tla-prevote]

Generates seeds ``first_seed .. first_seed + schedules - 1`` of a profile, runs each in
the simulator with one observer (:class:`FaultCounter`; no checks: ``soak.py`` checks)
and prints, per fault kind, in how many schedules it is drawn, in how many it took
effect at least once, and how many times it took effect in all.  "Took effect" means the
step was not a logged no-op, or for the derived rows:

* ``longer-but-older log``: two running nodes where the one with the longer log has the
  older last term (the shape the up-to-date check of section 5.4.1 decides);
* ``snapshot over conflicting entry``: an InstallSnapshot delivered to a follower whose
  entry at the snapshot's index had another term;
* ``snapshot over uncommitted suffix``: an InstallSnapshot installed on a follower that
  held uncommitted entries;
* ``transfer completed``: the transferee later leads a newer term;
* ``retry beside another write``: a retry while another client's write is outstanding;
* ``write executed twice in log``: one request id applied at two indexes on a node (the
  store's session table then answers the second from its cache);
* ``torn write mid-save``: a crash that struck while a Ready was being saved;
* ``torn tail cut at recovery``: recovery after a crash found a torn tail and cut it off;
  ``... (zeros)`` / ``... (full-length bad checksum)``: the crash was armed by a ``tear``
  step of that kind (the tail read back as zeros after a prefix; a whole final record
  with a bad checksum);
* ``restart refused: corrupt WAL``: a node refused to start from a WAL with a damaged
  older record (after a ``corrupt`` step);
* ``configuration change applied``: a node applied a configuration change entry (the
  first node to apply each one);
* ``second change refused``: a leader refused a change while another was pending;
* ``even-sized configuration``: a leader ran an even number of voters (events);
* ``new node caught up by snapshot``: an InstallSnapshot delivered to a node that
  joined by a membership change;
* ``snapshot by a new leader``: a leader snapshotted within 50 events of its election.

docs/refinement.md records the tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from quorum.impl.kv import decode
from quorum.impl.kv.commands import CommandDecodeError
from quorum.impl.raft.types import EntryType, MessageType, Role
from quorum.impl.sim import PROFILES, Event, Simulator, run_schedule

GENERATORS: dict[str, Any] = PROFILES
#: derived effects, in the order printed (see the module docstring)
DERIVED = ("longer-but-older log", "snapshot over conflicting entry",
           "snapshot over uncommitted suffix", "transfer completed", "retry beside another write",
           "write executed twice in log", "torn write mid-save", "torn tail cut at recovery",
           "torn tail cut at recovery (zeros)",
           "torn tail cut at recovery (full-length bad checksum)",
           "restart refused: corrupt WAL", "configuration change applied",
           "second change refused", "even-sized configuration", "new node caught up by snapshot",
           "snapshot by a new leader")


class FaultCounter:
    """Observer counting effective steps by kind and the derived effects above."""

    def __init__(self) -> None:
        self.effects: Counter[str] = Counter()
        self._prev: dict[int, tuple[int, dict[int, int]]] = {}  # node -> (commit, suffix terms)
        self._transfers: list[tuple[int, int]] = []  # (transferee, term when asked)
        self._applied: dict[int, set[int]] = {}  # node -> request ids applied
        self._armed: dict[int, str] = {}  # node -> the tear its armed crash will make
        self._changes: set[int] = set()  # indexes of configuration changes applied
        self._elected: dict[int, tuple[int, int]] = {}  # leader -> (term, event elected)

    def __call__(self, sim: Simulator, ev: Event) -> None:
        if not ev.noop:
            self.effects[ev.step[0]] += 1
        self._snapshot(sim, ev)
        self._shapes(sim)
        self._transfer(sim, ev)
        self._writes(sim, ev)
        if any(n.last_crash is not None and n.last_crash[2] is not None
               for n in sim.nodes.values()):
            self.effects["torn write mid-save"] += 1
        self._storage(sim, ev)
        self._membership(sim, ev)
        return None

    def _storage(self, sim: Simulator, ev: Event) -> None:
        if ev.step[0] == "tear" and not ev.noop:
            self._armed[ev.node] = "zeros" if ev.step[2] % 2 == 0 else "full-length bad checksum"
        if ev.step[0] == "restart" and "refused" in ev.text:
            self.effects["restart refused: corrupt WAL"] += 1
        for i, node in sim.nodes.items():
            if node.last_crash is None:
                continue
            armed = self._armed.pop(i, None)
            if node.torn_tail is not None:
                self.effects["torn tail cut at recovery"] += 1
                if armed is not None and node.last_crash[2] is not None:
                    self.effects[f"torn tail cut at recovery ({armed})"] += 1

    def _membership(self, sim: Simulator, ev: Event) -> None:
        if ev.noop and "a configuration change is pending" in ev.text:
            self.effects["second change refused"] += 1
        m = ev.message
        if m is not None and m.type is MessageType.SNAPSHOT and m.to > sim.cfg.nodes:
            self.effects["new node caught up by snapshot"] += 1
        for i, node in sim.nodes.items():
            for e in node.newly_applied:
                if e.type is EntryType.CONF_CHANGE and e.index not in self._changes:
                    self._changes.add(e.index)
                    self.effects["configuration change applied"] += 1
            raw = node.raw
            if raw is None or raw.raft.role is not Role.LEADER:
                continue
            if len(raw.raft.tracker.voters) % 2 == 0:
                self.effects["even-sized configuration"] += 1
            term = raw.raft.term
            if self._elected.get(i, (0, 0))[0] != term:
                self._elected[i] = (term, ev.index)
            if ev.step[0] in ("snap", "lsnap") and ev.node == i and not ev.noop \
                    and ev.index - self._elected[i][1] <= 50:
                self.effects["snapshot by a new leader"] += 1

    def _snapshot(self, sim: Simulator, ev: Event) -> None:
        m = ev.message
        if m is not None and m.type is MessageType.SNAPSHOT and m.snapshot is not None:
            commit, suffix = self._prev.get(m.to, (0, {}))
            meta = m.snapshot.meta
            if suffix.get(meta.index, meta.term) != meta.term:
                self.effects["snapshot over conflicting entry"] += 1
            raw = sim.nodes[m.to].raw
            if suffix and raw is not None and raw.raft.log.first_index() == meta.index + 1:
                self.effects["snapshot over uncommitted suffix"] += 1
        for i, node in sim.nodes.items():
            if node.raw is None:
                self._prev.pop(i, None)
                continue
            log = node.raw.raft.log
            lo = max(log.committed + 1, log.first_index(), log.last_index() - 63)
            self._prev[i] = (log.committed, {k: log.term(k) for k in range(lo, log.last_index() + 1)})

    def _shapes(self, sim: Simulator) -> None:
        ends = [(r.log.last_index(), r.log.last_term()) for n in sim.nodes.values()
                if (r := n.raw.raft if n.raw is not None else None) is not None]
        if any(li > lj and ti < tj for li, ti in ends for lj, tj in ends):
            self.effects["longer-but-older log"] += 1

    def _transfer(self, sim: Simulator, ev: Event) -> None:
        if ev.step[0] == "transfer" and not ev.noop:
            others = [i for i in sorted(sim.nodes) if i != ev.node]
            node = sim.nodes[ev.node].raw
            term = node.raft.term if node is not None else 0
            self._transfers.append((others[ev.step[1] % len(others)], term))
        for to, term in list(self._transfers):
            raw = sim.nodes[to].raw
            if raw is not None and raw.raft.role is Role.LEADER and raw.raft.term > term:
                self.effects["transfer completed"] += 1
                self._transfers.remove((to, term))

    def _writes(self, sim: Simulator, ev: Event) -> None:
        if ev.step[0] == "retry" and not ev.noop:
            writing = [c for c in sim.clients if c.current is not None
                       and c.current.input[0] != "read"]
            if len(writing) > 1:
                self.effects["retry beside another write"] += 1
        for i, node in sim.nodes.items():
            seen = self._applied.setdefault(i, set())
            for e in node.newly_applied:
                if e.type is not EntryType.NORMAL or not e.data:
                    continue
                try:
                    rid = decode(e.data).request_id
                except CommandDecodeError:
                    continue
                if rid in seen:
                    self.effects["write executed twice in log"] += 1
                seen.add(rid)


def _one(job: tuple[str, int, int]) -> tuple[int, Counter[str], Counter[str]]:
    profile, seed, steps = job
    sched = GENERATORS[profile](seed, steps)
    counter = FaultCounter()
    run_schedule(sched, [counter], keep_log=False)
    drawn = Counter(s[0] for s in sched.steps)
    return sched.config.nodes, drawn, counter.effects


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schedules", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", choices=sorted(GENERATORS), default="wide")
    a = ap.parse_args()
    jobs = [(a.profile, s, a.steps) for s in range(a.first_seed, a.first_seed + a.schedules)]
    t0 = time.perf_counter()
    sizes: Counter[int] = Counter()
    drawn_in: Counter[str] = Counter()
    effective_in: Counter[str] = Counter()
    total: Counter[str] = Counter()
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        for nodes, drawn, effects in pool.map(_one, jobs, chunksize=8):
            sizes[nodes] += 1
            drawn_in.update(set(drawn))
            effective_in.update(set(effects))
            total.update(effects)
    n = len(jobs)
    print(f"{n} schedules x {a.steps} steps, {a.profile} profile, "
          f"{time.perf_counter() - t0:.0f} s")
    print("cluster sizes: " + ", ".join(f"{k}: {sizes[k]}" for k in sorted(sizes)))
    print(f"| {'fault kind':<34} | drawn in | took effect in | effective events |")
    print(f"|{'-' * 36}|---------:|---------------:|-----------------:|")
    for kind in [*sorted(drawn_in), *DERIVED]:
        d = "-" if kind in DERIVED else str(drawn_in[kind])
        print(f"| {kind:<34} | {d:>8} | {effective_in[kind]:>14} | {total[kind]:>16,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
