"""The abstraction function: a simulated cluster seen as a state of ``spec.raft`` (raft.tla).

This is the only module of ``impl`` that imports ``spec/``.  :func:`abstract` maps the
concrete cluster onto :class:`spec.raft.state.State`, variable by variable; every choice
is explained in ``docs/refinement.md``:

* servers: node id ``i`` is spec server ``i - 1``;
* terms: the implementation starts at term 0 and raft.tla at term 1, so every abstract
  term (of a server and of a log entry) is the concrete one plus 1;
* ``currentTerm``, ``votedFor`` and ``log`` come from the node's *durable image*: what
  its driver saved (fsynced) while it runs, what recovery reads back once it has crashed;
* ``state``: a pre-candidate is a follower (pre-vote changes neither term nor vote); a
  crashed node is a follower (raft.tla's ``Restart``);
* ``commitIndex``: the core's commit index; 0 while crashed (``Restart`` forgets it);
* a log prefix compacted into a snapshot is rebuilt from the ghost record of committed
  entries (a snapshot holds only committed entries);
* an entry's value is a small int naming its bytes (``values`` assigns them in order of
  first sight, so equal entries map to equal values);
* ``votesResponded``/``votesGranted`` from a candidate's tally, ``nextIndex``/``matchIndex``
  from a leader's progress (the defaults of ``Restart`` otherwise);
* ``messages``: the empty bag.  Messages are not mapped (see the docs: the invariants of
  Figure 3 do not read them).
"""

from __future__ import annotations

from collections.abc import Mapping

from spec.raft.state import CANDIDATE, FOLLOWER, LEADER, NIL, State

from impl.raft.types import Entry, Role
from impl.sim.node import SimNode

__all__ = ["Values", "abstract"]

_ROLE = {Role.FOLLOWER: FOLLOWER, Role.PRE_CANDIDATE: FOLLOWER, Role.CANDIDATE: CANDIDATE,
         Role.LEADER: LEADER}


class Values:
    """Entry bytes -> small ints, in order of first sight (deterministic).

    Also caches each node's abstract log by the node's durable version, so that an
    event that changed no log costs no log rebuilding.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[int, bytes], int] = {}
        self.logs: dict[int, tuple[tuple[int, ...], tuple[tuple[int, int], ...]]] = {}

    def of(self, e: Entry) -> int:
        key = (int(e.type), e.data)
        return self._ids.setdefault(key, len(self._ids))


def _log(node: SimNode, committed: Mapping[int, tuple[int, int]], values: Values
         ) -> tuple[tuple[int, int], ...]:
    version = node.durable_version()
    cached = values.logs.get(node.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    im = node.durable()
    prefix = tuple(committed[k] for k in range(1, im.snap_index + 1) if k in committed)
    if len(prefix) < im.snap_index:  # a snapshot beyond what the ghost saw committed
        raise AssertionError(f"n{node.id}: snapshot at {im.snap_index} covers entries never "
                             f"seen committed")
    log = prefix + tuple((e.term + 1, values.of(e)) for e in im.entries)
    values.logs[node.id] = (version, log)
    return log


def abstract(nodes: Mapping[int, SimNode], committed: Mapping[int, tuple[int, int]],
             values: Values) -> State:
    """The spec state of the cluster; ``committed``: index -> abstract (term, value)."""
    ids = sorted(nodes)
    term, role, vote, log, commit = [], [], [], [], []
    responded, granted, nxt, match = [], [], [], []
    for i in ids:
        node = nodes[i]
        hs = node.durable().hard_state
        term.append(hs.term + 1)
        vote.append(hs.vote - 1 if hs.vote else NIL)
        log.append(_log(node, committed, values))
        raw = node.raw
        r = _ROLE[raw.raft.role] if raw is not None else FOLLOWER
        role.append(r)
        commit.append(raw.raft.log.committed if raw is not None else 0)
        st = raw.status() if raw is not None and r != FOLLOWER else None
        votes = st.votes if st is not None and r == CANDIDATE else {}
        responded.append(sum(1 << (j - 1) for j in votes))
        granted.append(sum(1 << (j - 1) for j, ok in votes.items() if ok))
        prog = st.progress if st is not None and r == LEADER else {}
        nxt.append(tuple(prog[j].next if j in prog else 1 for j in ids))
        match.append(tuple(prog[j].match if j in prog and j != i else 0 for j in ids))
    return State(tuple(term), tuple(role), tuple(vote), tuple(log), tuple(commit),
                 tuple(responded), tuple(granted), tuple(nxt), tuple(match), ())
