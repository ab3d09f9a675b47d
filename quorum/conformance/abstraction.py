"""The abstraction function: a simulated cluster seen as a state of ``quorum.spec.raft`` (raft.tla).

The spec-level checks of this package (:mod:`~quorum.conformance.invariants`,
:mod:`~quorum.conformance.steps`) see the implementation only through this module.
:func:`abstract` maps the concrete cluster onto :class:`quorum.spec.raft.tla.state.State`,
variable by variable; every choice is explained in ``docs/refinement.md``:

* servers: node id ``i`` is spec server ``i - 1``;
* terms: the implementation starts at term 0 and raft.tla at term 1, so every abstract
  term (of a server and of a log entry) is the concrete one plus 1;
* ``currentTerm``, ``votedFor`` and ``log`` come from the node's *durable image*: what
  its driver saved (fsynced) while it runs, what recovery reads back once it has crashed;
* ``state``: a pre-candidate is a follower (pre-vote changes neither term nor vote); a
  crashed node is a follower (raft.tla's ``Restart``);
* ``commitIndex``: the core's commit index; while crashed, the commit index of the hard
  state recovery finds (etcd keeps it on disk; see ``quorum.spec.raft.etcd.ETCD``);
* a log prefix compacted into a snapshot is rebuilt from the ghost record of committed
  entries (a snapshot holds only committed entries);
* an entry's value is a small int naming its bytes (``values`` assigns them in order of
  first sight, so equal entries map to equal values);
* ``votesResponded``/``votesGranted`` from a candidate's tally, ``nextIndex``/``matchIndex``
  from a leader's progress (the defaults of ``Restart`` otherwise);
* ``messages``: empty unless the caller passes a bag; :func:`abstract_message` maps one
  message in flight (RequestVote and AppendEntries requests and responses; a heartbeat is
  an empty AppendEntries, see the docs; with ``snapshots``, an InstallSnapshot) and
  :class:`MessageMap` keeps the bag of the network;
* :func:`with_snapshots` extends the image to ``quorum.spec.raft.snapshots``' state: each
  node's ``snapshotIndex`` is the index of its durable snapshot.

:func:`state_at` replays a schedule and returns the whole image (messages included) after
one event: what a report of a failure shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from quorum.impl.raft.codec import conf_change_from_bytes
from quorum.impl.raft.types import ConfChangeType, Entry, EntryType, Message, MessageType, Role
from quorum.impl.sim import Schedule, Simulator
from quorum.impl.sim.node import SimNode
from quorum.spec.raft.membership import LEARNERS
from quorum.spec.raft.snapshots import INSTALL_SNAPSHOT_REQUEST, InstallSnapshotRequest, SnapState
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NIL,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    RequestVoteRequest,
    RequestVoteResponse,
    State,
)
from quorum.spec.raft.tla.state import Message as SpecMessage

__all__ = ["MessageMap", "Values", "abstract", "abstract_entries", "abstract_message", "learn_committed", "state_at",
           "with_snapshots"]

_ROLE = {Role.FOLLOWER: FOLLOWER, Role.PRE_CANDIDATE: FOLLOWER, Role.CANDIDATE: CANDIDATE,
         Role.LEADER: LEADER}


class Values:
    """Entry bytes -> small ints, in order of first sight (deterministic).

    Also caches each node's abstract log by the node's durable version, so that an
    event that changed no log costs no log rebuilding.
    """

    def __init__(self, initial: int | None = None) -> None:
        #: the initial configuration's voters as a spec mask: with it, a configuration
        #: change entry maps to ``quorum.spec.raft.membership``'s entry of the configuration
        #: it sets (:func:`abstract_entries`); without it, to a value like any other entry
        self.initial = initial
        self._ids: dict[tuple[int, bytes], int] = {}
        self.logs: dict[int, tuple[tuple[int, ...], tuple[tuple[int, int], ...]]] = {}

    def of(self, e: Entry) -> int:
        key = (int(e.type), e.data)
        return self._ids.setdefault(key, len(self._ids))


def _conf_before(log: tuple[tuple[int, int], ...], initial: int) -> int:
    """The configuration mask of the latest configuration entry of ``log``, else ``initial``."""
    for _, v in reversed(log):
        if v < 0:
            return ~v
    return initial


def abstract_entries(ents: Iterable[Entry], before: tuple[tuple[int, int], ...],
                     values: Values) -> tuple[tuple[int, int], ...]:
    """Abstract entries following the abstract log ``before``: ``(term + 1, value)``; with
    ``values.initial``, a configuration change is the entry of the configuration it sets
    (``quorum.spec.raft.membership.config_entry``: ``~mask``, voters plus learners above
    bit ``LEARNERS``), computed from the configuration before it."""
    out: list[tuple[int, int]] = []
    conf: int | None = None
    for e in ents:
        if e.type is EntryType.CONF_CHANGE and values.initial is not None:
            if conf is None:
                conf = _conf_before(before, values.initial)
            cc = conf_change_from_bytes(e.data)
            bit = 1 << (cc.node_id - 1)
            if cc.type is ConfChangeType.ADD_NODE:
                conf = (conf | bit) & ~(bit << LEARNERS)
            elif cc.type is ConfChangeType.REMOVE_NODE:
                conf &= ~(bit | bit << LEARNERS)
            else:  # ADD_LEARNER (of a voter: a demotion)
                conf = (conf & ~bit) | bit << LEARNERS
            out.append((e.term + 1, ~conf))
        else:
            if e.type is EntryType.CONF_CHANGE:
                conf = None
            out.append((e.term + 1, values.of(e)))
    return tuple(out)


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
    log = prefix + abstract_entries(im.entries, prefix, values)
    values.logs[node.id] = (version, log)
    return log


def learn_committed(nodes: Mapping[int, SimNode], committed: dict[int, tuple[int, int]],
                    values: Values) -> None:
    """Add to ``committed`` (index -> abstract (term, value)) every entry a live node
    knows committed beyond what it holds; entries compacted away were learnt before."""
    for node in nodes.values():
        if node.raw is None:
            continue
        log = node.raw.raft.log
        lo = max(max(committed, default=0) + 1, log.first_index())
        if lo > log.committed:
            continue
        ents = log.slice(lo, log.committed + 1, None)
        before = tuple(committed[k] for k in range(1, lo) if k in committed) \
            if values.initial is not None else ()
        for e, a in zip(ents, abstract_entries(ents, before, values), strict=True):
            committed[e.index] = a


def abstract(nodes: Mapping[int, SimNode], committed: Mapping[int, tuple[int, int]],
             values: Values, bag: tuple = (), servers: int | None = None) -> State:
    """The spec state of the cluster; ``committed``: index -> abstract (term, value).

    With ``servers``, the state has that many servers: node ids ``1..servers``, those not
    (yet) started in raft.tla's initial state (a node added later starts empty)."""
    ids = list(range(1, servers + 1)) if servers is not None else sorted(nodes)
    term: list[int] = []
    role: list[int] = []
    vote: list[int] = []
    log: list[tuple[tuple[int, int], ...]] = []
    commit: list[int] = []
    responded: list[int] = []
    granted: list[int] = []
    nxt: list[tuple[int, ...]] = []
    match: list[tuple[int, ...]] = []
    for i in ids:
        if i not in nodes:  # a server not started yet: raft.tla's Init
            term.append(1)
            role.append(FOLLOWER)
            vote.append(NIL)
            log.append(())
            commit.append(0)
            responded.append(0)
            granted.append(0)
            nxt.append((1,) * len(ids))
            match.append((0,) * len(ids))
            continue
        node = nodes[i]
        hs = node.durable().hard_state
        term.append(hs.term + 1)
        vote.append(hs.vote - 1 if hs.vote else NIL)
        log.append(_log(node, committed, values))
        raw = node.raw
        r = _ROLE[raw.raft.role] if raw is not None else FOLLOWER
        role.append(r)
        # a crashed node's: what recovery finds (its hard state's, never below its snapshot)
        commit.append(raw.raft.log.committed if raw is not None
                      else max(hs.commit, node.durable().snap_index))
        st = raw.status() if raw is not None and r != FOLLOWER else None
        votes = st.votes if st is not None and r == CANDIDATE else {}
        responded.append(sum(1 << (j - 1) for j in votes))
        granted.append(sum(1 << (j - 1) for j, ok in votes.items() if ok))
        prog = st.progress if st is not None and r == LEADER else {}
        nxt.append(tuple(prog[j].next if j in prog else 1 for j in ids))
        match.append(tuple(prog[j].match if j in prog and j != i else 0 for j in ids))
    return State(tuple(term), tuple(role), tuple(vote), tuple(log), tuple(commit),
                 tuple(responded), tuple(granted), tuple(nxt), tuple(match), bag)


def with_snapshots(s: State, nodes: Mapping[int, SimNode]) -> SnapState:
    """``s`` as a state of ``quorum.spec.raft.snapshots``: plus ``snapshotIndex``, each
    node's durable snapshot index (the compacted prefix is already in ``s.log``; 0 for a
    server not started)."""
    snap = tuple(nodes[i].durable().snap_index if i in nodes else 0
                 for i in range(1, len(s.current_term) + 1))
    return SnapState(*s[:-1], snap, s.messages)


def _lt(index: int, term: int) -> int:
    """An abstract (index, term) pair's term: +1, except index 0 (no entry) has term 0."""
    return term + 1 if index > 0 else 0


def abstract_message(m: Message, sender_log: tuple[tuple[int, int], ...], values: Values,
                     snapshots: bool = False) -> SpecMessage | InstallSnapshotRequest | None:
    """raft.tla's image of one message in flight, or None for a kind raft.tla has not.

    ``sender_log`` is the sender's abstract log when the message entered the network
    (raft.tla's proof-only ``mlog``; no guard of the spec reads it).  An AppendEntries
    request's ``mcommitIndex`` is ``min(commit, last index it carries)``: what the
    follower may commit from it (raft.tla's leader sends exactly that, etcd's sends its
    commit index and the follower takes the min).  A heartbeat is the spec's
    ``Heartbeat(i, j)`` message (under ``quorum.spec.raft.etcd.ETCD``): no entry, prevLogIndex 0,
    its commit index ``min(match, commit)``; a heartbeat response is a successful
    AppendEntries response with matchIndex 0 (it acknowledges nothing).  With ``snapshots``,
    an InstallSnapshot is ``quorum.spec.raft.snapshots``' request: the snapshot's last
    index and term, and as content the sender's log up to that index (a snapshot holds
    only committed entries, so this is the compacted prefix the sender's log was rebuilt
    from).  Pre-vote, ReadIndex, forwarded proposals, leadership transfer (and
    InstallSnapshot without ``snapshots``) have no image (None).
    """
    src, dst, t, MT = m.frm - 1, m.to - 1, m.term + 1, MessageType
    if m.type is MT.VOTE:
        return RequestVoteRequest(REQUEST_VOTE_REQUEST, t, _lt(m.index, m.log_term), m.index,
                                  src, dst)
    if m.type is MT.VOTE_RESP:
        return RequestVoteResponse(REQUEST_VOTE_RESPONSE, t, not m.reject, sender_log, src, dst)
    if m.type is MT.APPEND:
        ents = abstract_entries(m.entries, sender_log[:m.index], values)
        return AppendEntriesRequest(APPEND_ENTRIES_REQUEST, t, m.index, _lt(m.index, m.log_term),
                                    ents, sender_log, min(m.commit, m.index + len(ents)),
                                    src, dst)
    if m.type is MT.HEARTBEAT:
        return AppendEntriesRequest(APPEND_ENTRIES_REQUEST, t, 0, 0, (), sender_log, m.commit,
                                    src, dst)
    if m.type is MT.APPEND_RESP:
        return AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, t, not m.reject,
                                     0 if m.reject else m.index, src, dst)
    if m.type is MT.HEARTBEAT_RESP:
        return AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, t, True, 0, src, dst)
    if m.type is MT.SNAPSHOT and m.snapshot is not None and snapshots:
        meta = m.snapshot.meta  # its content: the sender's (committed) prefix up to it
        return InstallSnapshotRequest(INSTALL_SNAPSHOT_REQUEST, t, meta.index,
                                      _lt(meta.index, meta.term), sender_log[:meta.index],
                                      src, dst)
    return None


class MessageMap:
    """The network's messages in flight, each mapped once, when first seen in flight.

    Keyed by object identity (a duplicated message is the same object twice in the
    queue, hence two copies in the bag); the objects are held so an id is never reused
    while mapped.
    """

    def __init__(self, snapshots: bool = False) -> None:
        self.snapshots = snapshots  # map InstallSnapshot too (abstract_message)
        self._map: dict[int, tuple[Message, SpecMessage | InstallSnapshotRequest | None]] = {}
        self._ids: Counter[int] = Counter()  # id -> copies in flight, at the last update
        self._counts: dict[SpecMessage | InstallSnapshotRequest, int] = {}
        self._bag: tuple = ()

    def get(self, m: Message) -> SpecMessage | InstallSnapshotRequest | None:
        hit = self._map.get(id(m))
        return hit[1] if hit is not None and hit[0] is m else None

    def update(self, inflight: list[Message], logs: tuple[tuple[tuple[int, int], ...], ...],
               values: Values) -> tuple:
        """Map the new messages (sender's log: ``logs[frm - 1]``), forget the gone ones,
        and return raft.tla's bag of what is in flight (computed from the changes only)."""
        ids = Counter(map(id, inflight))
        changed = {k for k, _ in set(ids.items()) ^ set(self._ids.items())}
        if not changed:
            return self._bag
        fresh = changed - self._map.keys()
        for m in inflight if fresh else ():
            if id(m) in fresh:
                self._map[id(m)] = (m, abstract_message(m, logs[m.frm - 1], values,
                                                              self.snapshots))
        for k in changed:
            image = self._map[k][1]
            if image is not None:
                c = self._counts.get(image, 0) + ids.get(k, 0) - self._ids.get(k, 0)
                if c:
                    self._counts[image] = c
                else:
                    del self._counts[image]
            if k not in ids:
                del self._map[k]
        self._ids = ids
        self._bag = tuple(sorted(self._counts.items()))
        return self._bag


def state_at(schedule: Schedule, event: int | None = None) -> State:
    """The abstract state, messages in flight included, after ``event`` of ``schedule``
    (after the last step when None), replayed without checks.

    A step whose node's code raises (a panic) ends the replay: the image is then of the
    cluster as the exception left it.  Raises AssertionError where :func:`abstract` does.
    """
    sim = Simulator(schedule.config)
    values, msgs = Values(), MessageMap()
    committed: dict[int, tuple[int, int]] = {}
    s = abstract(sim.raft_nodes, committed, values)
    bag = msgs.update(sim.inflight, s.log, values)
    for step in schedule.steps if event is None else schedule.steps[:event]:
        try:
            sim.step(tuple(step))
        except Exception:  # the panic the run reported: show where it left the cluster
            break
        finally:
            learn_committed(sim.raft_nodes, committed, values)
            s = abstract(sim.raft_nodes, committed, values)
            bag = msgs.update(sim.inflight, s.log, values)
    return s._replace(messages=bag)
