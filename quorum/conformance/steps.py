"""Step refinement (trace validation) of the simulated store against ``quorum.spec.raft``.

After every simulated event, the cluster before and after it is mapped onto raft.tla's
``State`` (:func:`quorum.conformance.abstraction.abstract`, messages in flight included),
and the event must be a short path of the spec's next-state relation from the abstract
pre-state to the abstract post-state.  The spec runs with :data:`quorum.spec.raft.etcd.ETCD`:
raft.tla plus etcd's bookkeeping (a commit index that a follower never lowers and a
restart recovers from disk, a match index that never goes down, heartbeats, a candidate
that gives up a lost election), each switch default-off in the spec.  The rule (docs/refinement.md, "Step refinement"):

* a path of at most 3 **state-changing** spec steps (0: a stutter) of the actions the
  event may stand for, plus any number of **send** steps of the acting node
  (``RequestVote(i, j)``, ``AppendEntries(i, j)``, ``Heartbeat(i, j)``): a send only adds
  a message and commutes with every other step, so each message the event sent must be
  a send step from the state the path ends in (etcd's trace-validation spec batches a
  Ready's sends in one step too); ``nextIndex`` is not compared, so an AppendEntries may be sent
  from any ``nextIndex`` (etcd's optimistic pipelining);
* compared after the event: every server's ``currentTerm``, ``state``, ``votedFor``,
  ``log`` and ``commitIndex``; a candidate's ``votesResponded``/``votesGranted``; a
  leader's ``matchIndex``; and the whole bag of messages in flight (a multiset);
* network faults are ``DropMessage`` (a drop, a message lost on a cut link or to a
  crashed node) and ``DuplicateMessage``; delays, partitions and clogging stutter;
* snapshots (:mod:`quorum.spec.raft.snapshots`, with etcd's restore as
  ``Rules.snapshot_fast_forward``): the abstract state is a ``SnapState`` (raft.tla's
  variables plus ``snapshotIndex``, compared too), a ``snap``/``lsnap`` event is
  ``Snapshot(i, index)``, an InstallSnapshot sent is the send step ``InstallSnapshot(i, j)``
  and its delivery the receipt of Figure 5.3; every step obeys the layer's restrictions
  (no AppendEntries from a compacted ``prevLogIndex``, no compacted entry deleted, no
  commit index below the snapshot index), which change nothing while nothing is compacted;
* membership changes (:mod:`quorum.spec.raft.membership` with etcd's rules: a
  configuration takes effect when committed, learners, a leader that removes itself):
  the spec has a server per node the run may start (:func:`servers`), a membership step
  is ``AddLearner``/``AddServer``/``RemoveServer``, a removed node the simulator stops is a
  ``Restart`` (after its sends), quorums and the servers a node may send to are its
  configuration's, and a leader's ``matchIndex`` is compared for those servers only.

Counted apart, never hidden: an AppendEntries that truncates L entries (raft.tla removes
one per step: a budget of L + 2 or L + 3), a vote etcd refuses while it knows a leader
(``DropMessage`` of the request, its refusal an extra message), and a request etcd ignores where raft.tla answers (a
stale term: ``DropMessage`` of raft.tla's answer).  Events that cannot be mapped (a torn
write) are counted as not validated, never as passed.  The check requires the ``tla`` profile (:func:`quorum.impl.sim.tla_config`), with or
without etcd's pre-vote: with it, the spec runs :data:`quorum.spec.raft.etcd.ETCD_PRE_VOTE`, whose
``PreCampaign`` and ``LearnTerm`` steps stand for a pre-campaign and for a pre-vote refusal's
term (pre-vote messages have no image in the bag).

The first event that is no such path stops the run with ``Failure("refinement", "event N
(...) is no step of raft.tla: why", N, details)``; the details list the spec actions that
were enabled (among those the event may stand for) and the abstract pre- and post-states.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from quorum.conformance.abstraction import (
    MessageMap,
    Values,
    abstract,
    learn_committed,
    with_snapshots,
)
from quorum.conformance.failure import Check, Failure
from quorum.impl.raft.types import MessageType
from quorum.impl.sim import Event, Schedule, Simulator, in_tla_vocabulary
from quorum.impl.sim.simulator import MAX_NODE_ID
from quorum.model_checker.explicit.trace_validation import validate_step
from quorum.model_checker.model import label_params
from quorum.spec.common import majority
from quorum.spec.raft import etcd, membership, snapshots
from quorum.spec.raft.etcd import ETCD, ETCD_PRE_VOTE
from quorum.spec.raft.snapshots import INSTALL_SNAPSHOT_REQUEST, SnapState, initial_snap_state
from quorum.spec.raft.tla import actions
from quorum.spec.raft.tla.actions import label
from quorum.spec.raft.tla.render import message_name, render_label, render_state, server_name
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    LEADER,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    RequestVoteResponse,
    replace_at,
    with_message,
    with_messages,
    without_message,
)

__all__ = ["MEMBERSHIP", "StepRefinementObserver", "servers"]

MAX_STEPS = 3
#: labels of send steps (not counted against MAX_STEPS)
SENDS = frozenset({"RequestVote", "AppendEntries", "Heartbeat", "InstallSnapshot"})
#: events that only move messages around or change nothing the spec sees
NETWORK = frozenset({"drop", "dup", "deliver (lost)"})
#: the simulator's membership change steps (a learner added, promoted, a voter added, removed)
MEMBERSHIP = frozenset({"addl", "addv", "promote", "remove"})
#: deliveries of etcd's pre-vote messages (Rules.pre_vote)
PRE_VOTE = frozenset({"deliver PRE_VOTE", "deliver PRE_VOTE_RESP"})


def _view(s: SnapState, k: int, ctx: actions.Context) -> tuple[Any, ...]:
    """Server k's compared variables (tallies of a candidate, matchIndex of a leader: its
    entries for the servers of its configuration, voters and learners)."""
    v: tuple[Any, ...] = (s.current_term[k], s.role[k], s.voted_for[k], s.log[k],
                          s.commit_index[k], s.snapshot_index[k])
    if s.role[k] == CANDIDATE:
        v += (s.votes_responded[k], s.votes_granted[k])
    if s.role[k] == LEADER:
        conf = membership.config_of(s, ctx, k)
        to = membership.voters_of(conf) | membership.learners_of(conf)
        v += (tuple(x if to >> j & 1 else 0 for j, x in enumerate(s.match_index[k])),)
    return v


def _sends_of(action: Any, t: Any, ctx: actions.Context, i: int) -> Iterator[tuple[Any, Any]]:
    """(label, message) of each send step of ``action`` by i from t (computed on t with an
    empty bag, so that each successor's bag is just the message sent)."""
    for lb, u in action(with_messages(t, ()), ctx):
        if label_params(lb)["i"] == i:
            yield lb, u.messages[0][0]


def _is_send(ctx: actions.Context, t: SnapState, m: Any, start: Any = None) -> bool:
    """m is what a send step of its source from t puts in the bag (any nextIndex), to a
    server of the source's configuration in t or in ``start`` (the state the event began
    in: etcd's leader adopts a configuration when it applies its entry, after the Ready
    that sent the event's messages)."""
    i, j = m.msource, m.mdest
    if m.mtype == REQUEST_VOTE_REQUEST:
        action = actions.request_vote
    elif m.mtype == APPEND_ENTRIES_REQUEST and 0 <= m.mprev_log_index <= len(t.log[i]):
        if m.mentries and m.mprev_log_index < t.snapshot_index[i]:
            return False  # the entry before nextIndex is compacted: no AppendEntries from it
        nxt = replace_at(t.next_index[i], j, m.mprev_log_index + 1)
        t = t._replace(next_index=replace_at(t.next_index, i, nxt))
        action = etcd.append_entries
    elif m.mtype == INSTALL_SNAPSHOT_REQUEST:  # from a nextIndex within the snapshot
        t = t._replace(next_index=replace_at(t.next_index, i, replace_at(t.next_index[i], j, 1)))
        action = snapshots.install_snapshot
    else:
        return False
    return any(x == m for lb, x in _sends_of(action, t, ctx, i)
               if membership.allowed(t, ctx, lb)
               or start is not None and membership.allowed(start, ctx, lb))


class _EventModel:
    """raft.tla's actions restricted to what one implementation event may stand for."""

    def __init__(self, ctx: actions.Context, node: int, kinds: frozenset[str],
                 message: Any, values: frozenset[int], start: SnapState) -> None:
        self.ctx, self.node, self.kinds, self.message = ctx, node, kinds, message
        self.values, self.start = values, dict(start.messages)
        self.post_items: set[Any] = set()  # the post-state's bag items (Network only)

    #: labels print as the spec's do (in trace validation's reports)
    render_label = staticmethod(render_label)

    def _mine(self, label: Any) -> bool:
        return label_params(label).get("i") == self.node

    def successors(self, s: SnapState) -> Iterator[tuple[Any, SnapState]]:
        """The steps of raft.tla (with etcd's layer) that this event may stand for, under
        the snapshots layer's restrictions (``quorum.spec.raft.snapshots``)."""
        for lb, t in self._steps(s):
            if snapshots.allowed(s, lb, t) and (lb[0] not in ("Timeout", "RequestVote")
                                                 or membership.allowed(s, self.ctx, lb)):
                yield lb, snapshots.floor_commit(t)

    def _steps(self, s: Any) -> Iterator[tuple[Any, Any]]:
        i, k, ctx = self.node, self.kinds, self.ctx
        for kind, action in (("Restart", etcd.restart), ("Timeout", actions.timeout),
                             ("PreCampaign", etcd.pre_campaign),
                             ("LearnTerm", etcd.learn_term),
                             ("BecomeLeader", membership.become_leader),
                             ("AdvanceCommitIndex", membership.advance_commit_index),
                             ("ChangeConfig", membership.add_remove)):
            if kind in k:
                yield from ((lb, t) for lb, t in action(s, ctx) if self._mine(lb))
        if "Snapshot" in k:
            yield from ((lb, t) for lb, t in snapshots.snapshot(s, ctx) if self._mine(lb))
        if "RequestVoteSelf" in k and s.role[i] == CANDIDATE:
            # a send step: etcd votes for itself in the campaign
            for lb, m in _sends_of(actions.request_vote, s, ctx, i):
                if m.mdest == i:
                    yield lb, with_messages(s, with_message(s.messages, m))
        if "ClientRequest" in k and self.values and s.role[i] == LEADER:
            for lb, t in actions.client_request(s, ctx):
                if self._mine(lb) and label_params(lb)["v"] in self.values:
                    yield lb, t
        if "Receive" in k:
            yield from self._receive(s)
        if "Network" in k:  # DropMessage, DuplicateMessage of a message the event touched
            present = dict(s.messages)
            for m in sorted({m for m, _ in set(s.messages) ^ self.post_items}):
                if m in present:
                    yield label("DropMessage", m=m), with_messages(s, without_message(s.messages, m))
                    yield label("DuplicateMessage", m=m), \
                        with_messages(s, with_message(s.messages, m))
        for m, c in s.messages if k & {"DropReply", "DropDelivered"} else ():
            if ("DropDelivered" in k and m == self.message) or (
                    "DropReply" in k and m.msource == i and c > self.start.get(m, 0)
                    and m.mtype in (REQUEST_VOTE_RESPONSE, APPEND_ENTRIES_RESPONSE)):
                # raft.tla's DropMessage(m), restricted to the delivered message (a vote
                # etcd refuses) or an answer of i made in this event (one etcd never sends)
                yield label("DropMessage", m=m), with_messages(s, without_message(s.messages, m))

    def _receive(self, s: Any) -> Iterator[tuple[Any, Any]]:
        i = self.node
        todo = [self.message] if self.message is not None else []
        todo += [m for m, _ in s.messages if m.msource == i and m.mdest == i]  # its own vote
        present = dict(s.messages)
        for m in todo:
            if m in present:
                u = (snapshots.receive_one(s, self.ctx, m)
                     if m.mtype == INSTALL_SNAPSHOT_REQUEST else etcd.receive_one(s, self.ctx, m))
                if u is not None:
                    yield label("Receive", m=m), u


class _Job:
    """One acting node's part of an event: the actions it may take, and its budget."""

    def __init__(self, node: int, kinds: set[str], message: Any = None,
                 budget: int = MAX_STEPS, refusal_ok: bool = False) -> None:
        self.node, self.kinds, self.message = node, frozenset(kinds), message
        self.then_restart = False  # a Restart(node) ends its path, after its send steps
        self.budget, self.refusal_ok = budget, refusal_ok


def servers(schedule: Schedule) -> int:
    """The spec's servers for ``schedule``: its initial nodes plus one per node its
    membership steps may add (the simulator never reuses an id, and stops at
    :data:`~quorum.impl.sim.simulator.MAX_NODE_ID`)."""
    added = sum(1 for step in schedule.steps if step[0] in ("addl", "addv"))
    return max(schedule.config.nodes, min(MAX_NODE_ID, schedule.config.nodes + added))


class StepRefinementObserver:
    """Observer for :func:`quorum.impl.sim.run_schedule`: step refinement (module docstring)."""

    check: Check = "refinement"

    def __init__(self, n: int) -> None:
        """``n``: the spec's servers, every node the run may start (membership changes
        add nodes: :func:`servers`); the initial voters are the simulator's first nodes."""
        self.values = Values()
        self.msgs = MessageMap(snapshots=True)
        self.committed: dict[int, tuple[int, int]] = {}
        self.prev: SnapState = initial_snap_state(n)
        self.n = n
        #: event kind -> outcome -> count (outcome: "stutter", "1 step", ..., "not validated: why")
        self.counts: dict[str, dict[str, int]] = {}
        self.sends = 0  # messages validated as send steps
        self.snapshot_sends = 0  # of which InstallSnapshot requests
        #: spec action name -> state-changing steps of it in validated events
        self.actions: dict[str, int] = {}
        self._spec_m: Any = None  # the image of the delivered message, if any
        self._rep: Any = None  # the last search's report
        self._checked_config = False
        self.pre_vote = False  # etcd's pre-vote is on (the spec runs Rules.pre_vote)
        self.members = 0  # the initial configuration (Context.members)
        self.retired: set[int] = set()  # removed nodes the simulator stopped (ids)
        self._retiring: list[int] = []  # those it stopped in this event (spec servers)

    # --- bookkeeping ------------------------------------------------------------------
    def _count(self, kind: str, outcome: str) -> None:
        d = self.counts.setdefault(kind, {})
        d[outcome] = d.get(outcome, 0) + 1

    def coverage(self) -> str:
        """One deterministic line per event kind: validated (by path length) / not."""
        lines = []
        for kind in sorted(self.counts):
            d = self.counts[kind]
            ok = sum(v for o, v in d.items() if not o.startswith("not"))
            parts = ", ".join(f"{o} {v}" for o, v in sorted(d.items()))
            lines.append(f"  {kind}: {ok} validated of {sum(d.values())} ({parts})")
        snaps = f" ({self.snapshot_sends} InstallSnapshot)" if self.snapshot_sends else ""
        lines.append(f"  messages sent: {self.sends}{snaps}, each a send step")
        return "\n".join(lines)

    def spec_steps(self) -> int:
        """Validated events that took at least one spec step (not stutters)."""
        return sum(v for d in self.counts.values() for o, v in d.items()
                   if not o.startswith(("not", "stutter")))

    def totals(self) -> tuple[int, int]:
        ok = sum(v for d in self.counts.values() for o, v in d.items() if not o.startswith("not"))
        return ok, sum(v for d in self.counts.values() for v in d.values())

    # --- the check --------------------------------------------------------------------
    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        if not self._checked_config:
            self._checked_config = True
            self.pre_vote = sim.cfg.pre_vote
            self.members = sum(1 << (k - 1) for k in sim.initial)
            self.values.initial = self.members
            if self.n < max(sim.raft_nodes):
                return Failure(self.check, f"step refinement was set up for {self.n} servers, "
                               f"but the cluster has node {max(sim.raft_nodes)}", ev.index)
            if not in_tla_vocabulary(sim.cfg):
                return Failure(self.check, "step refinement needs the tla profile (check-quorum "
                               "off, one entry per AppendEntries): --profile tla or tla-prevote",
                               ev.index)
        learn_committed(sim.raft_nodes, self.committed, self.values)
        self._spec_m = self.msgs.get(ev.message) if ev.message is not None else None
        if max(sim.raft_nodes) > self.n:
            return Failure(self.check, f"node n{max(sim.raft_nodes)} joined, beyond the {self.n} "
                           f"servers step refinement was set up for", ev.index)
        self._retiring = sorted(k - 1 for k in sim.removed - self.retired)
        self.retired |= sim.removed
        post0 = with_snapshots(abstract(sim.raft_nodes, self.committed, self.values,
                                        servers=self.n), sim.raft_nodes)
        bag = self.msgs.update(sim.inflight, post0.log, self.values)
        post = post0._replace(messages=bag)
        pre, self.prev = self.prev, post
        return self._validate(ev, pre, post)

    def _kind(self, ev: Event) -> str:
        m = ev.message
        if ev.step[0] != "deliver":
            return str(ev.step[0])
        if m is not None:
            return f"deliver {MessageType(m.type).name}"
        return "deliver (idle: tick)" if ev.text.startswith("idle") else "deliver (lost)"

    def _jobs(self, kind: str, ev: Event, pre: SnapState, post: SnapState,
              ctx: actions.Context) -> list[_Job]:
        """Which nodes act in this event, and which spec actions each may take (a removed
        node the simulator stopped in it: a ``Restart``, after them)."""
        jobs = self._acting(kind, ev, pre, post, ctx)
        for k in self._retiring:
            job = next((j for j in jobs if j.node == k), None)
            if job is None:
                jobs.append(_Job(k, {"Restart"}))
            else:  # it acted (and sent), then was stopped: a Restart after its sends
                job.then_restart, job.budget = True, job.budget + 1
        return jobs

    def _acting(self, kind: str, ev: Event, pre: SnapState, post: SnapState,
                ctx: actions.Context) -> list[_Job]:
        m, spec_m = ev.message, self._spec_m
        if kind in ("tick", "deliver (idle: tick)"):
            before = dict(pre.messages)
            added = {x.msource for x, c in post.messages if before.get(x, 0) < c}
            acting = sorted(added | {k for k in range(self.n) if _view(pre, k, ctx) != _view(post, k, ctx)})
            tick = {"Timeout", "RequestVoteSelf", "Receive"} | (
                {"PreCampaign"} if self.pre_vote else set())
            # the only voter of its configuration wins at once: it leads, appends its
            # empty entry and commits it in the same tick
            alone = {"BecomeLeader", "ClientRequest", "AdvanceCommitIndex"}
            return [_Job(k, tick | alone, budget=MAX_STEPS + 4) if self._alone(pre, k, ctx)
                    else _Job(k, tick, budget=MAX_STEPS + 1) for k in acting]
        if kind in NETWORK:
            return [_Job(-1, {"Network"}, budget=1)]
        if kind in PRE_VOTE and m is not None:
            # no image in the bag: the receiver may adopt a refusal's term, or win the
            # pre-election and campaign at once (as at a tick)
            return [_Job(m.to - 1, {"Timeout", "RequestVoteSelf", "Receive", "LearnTerm"},
                         budget=MAX_STEPS + 1)]
        if kind.startswith("deliver") and m is not None and spec_m is not None:
            i = m.to - 1
            return [_Job(i, {"Receive", "BecomeLeader", "ClientRequest", "AdvanceCommitIndex",
                             "DropReply"} | ({"DropDelivered"} if self._refused(i, pre, post)
                                            else set()),
                         spec_m, self._budget(i, pre, spec_m), self._refused(i, pre, post))]
        if kind.startswith("deliver") and m is not None or kind == "op":
            # a forwarded proposal or read, a client operation: ClientRequest and sends (and
            # the commit, by the one voter of its configuration)
            k = (m.to if m is not None else ev.node) - 1
            return [_Job(k, {"ClientRequest"} | self._commits(pre, k, ctx))]
        if kind == "crash":
            return [_Job(ev.node - 1, {"Restart"})]
        if kind in ("snap", "lsnap") and ev.node:
            return [_Job(ev.node - 1, {"Snapshot"})]
        if kind in MEMBERSHIP and ev.node and not ev.noop:  # the leader proposes a change
            k = ev.node - 1
            return [_Job(k, {"ChangeConfig"} | self._commits(pre, k, ctx))]
        return []  # restart, delay, partitions, clogging: a stutter

    @staticmethod
    def _alone(s: SnapState, k: int, ctx: actions.Context) -> bool:
        """k is the one voter of its configuration."""
        return k >= 0 and membership.voters_of(membership.config_of(s, ctx, k)) == 1 << k

    def _commits(self, s: SnapState, k: int, ctx: actions.Context) -> set[str]:
        """{"AdvanceCommitIndex"} when k, the one voter of its configuration, commits what
        it appends at once; else nothing."""
        return {"AdvanceCommitIndex"} if self._alone(s, k, ctx) else set()

    def _refused(self, i: int, pre: SnapState, post: SnapState) -> bool:
        """A vote request of a term not older than i's that the implementation did not
        grant (see the module docstring)."""
        m = self._spec_m
        return (m.mtype == REQUEST_VOTE_REQUEST and m.mterm >= pre.current_term[i]
                and post.voted_for[i] != m.msource)

    @staticmethod
    def _budget(i: int, pre: SnapState, m: Any) -> int:
        """raft.tla removes a conflicting suffix one entry per step: L removals, the
        append, the reply, after an UpdateTerm or a candidate's return to follower."""
        if m.mtype != APPEND_ENTRIES_REQUEST or not m.mentries:
            return MAX_STEPS
        log, index = pre.log[i], m.mprev_log_index + 1
        if len(log) < index or log[index - 1][0] == m.mentries[0][0]:
            return MAX_STEPS
        first = m.mterm > pre.current_term[i] or (
            m.mterm == pre.current_term[i] and pre.role[i] == CANDIDATE)
        return max(MAX_STEPS, len(log) - index + 1 + 2 + first)

    def _validate(self, ev: Event, pre: SnapState, post: SnapState) -> Failure | None:
        kind = self._kind(ev)
        if "crashed mid-write" in ev.text:
            self._count(kind, "not validated: torn write")
            return None
        ctx = actions.Context(n=self.n, values=len(self.values._ids), quorum=majority(self.n),
                              rules=ETCD_PRE_VOTE if self.pre_vote else ETCD,
                              members=self.members)
        state, longest, notes, sends = pre, 0, "", 0
        jobs = self._jobs(kind, ev, pre, post, ctx)
        for job in jobs:
            res = self._run(ctx, job, state, post)
            if isinstance(res, str):
                return self._fail(ev, kind, pre, post, self._rep, res)
            state, path, note, sent = res
            changing = [lb for lb in path if lb[0] not in SENDS]
            if len(changing) > job.budget - (job.budget > MAX_STEPS and "RequestVoteSelf"
                                            in job.kinds):
                return self._fail(ev, kind, pre, post, self._rep,
                                  f"{len(changing)} state-changing steps")
            longest, notes, sends = max(longest, len(changing)), notes + note, sends + sent
            for lb in changing:
                self.actions[lb[0]] = self.actions.get(lb[0], 0) + 1
        acting = {j.node for j in jobs}
        for k in range(self.n):
            if k not in acting and _view(state, k, ctx) != _view(post, k, ctx):
                return self._fail(ev, kind, pre, post, None, f"{server_name(k)} changed, but "
                                  f"this event may only change {sorted(acting)}")
        if state.messages != post.messages:
            return self._fail(ev, kind, pre, post, None, "the messages in flight differ from "
                              "those the spec steps leave: " + _bag_diff(state, post))
        self.sends += sends
        if longest > MAX_STEPS:
            why = "sole voter" if kind in ("tick", "deliver (idle: tick)") else "truncation"
            self._count(kind, f"{longest} steps ({why})")
        else:
            self._count(kind, ("stutter" if longest == 0 else
                               f"{longest} step{'s' if longest > 1 else ''}") + notes)
        return None

    def _run(self, ctx: actions.Context, job: _Job, state: SnapState, post: SnapState
             ) -> str | tuple[SnapState, tuple[Any, ...], str, int]:
        """Search job's path from ``state``; the state after it and its sends, or why not."""
        i, spec_m = job.node, job.message
        self._rep = None
        target = _view(post, i, ctx) if i >= 0 else ()
        post_counts, start_items = dict(post.messages), set(state.messages)
        post_keys = {x for x, _ in start_items ^ set(post.messages)}
        memo: dict[int, tuple[SnapState, dict[Any, int] | None]] = {}  # id -> (t, result)

        def sent(t: SnapState) -> dict[Any, int] | None:
            """Messages of i in post beyond t's bag, if each is a send step; else None."""
            hit = memo.get(id(t))
            if hit is not None and hit[0] is t:
                return hit[1]
            tb, out = dict(t.messages), {}
            memo[id(t)] = (t, None)
            for x in post_keys | {x for x, _ in start_items ^ set(t.messages)}:
                d = post_counts.get(x, 0) - tb.get(x, 0)
                if d < 0:
                    return None
                if d > 0 and (x.msource == i or i < 0):
                    if i < 0 or not (job.refusal_ok and x == self._refusal(t, i)) and \
                            not _is_send(ctx, t, x, state) and \
                            not any(_is_send(ctx, u, x, state)
                                    for u in _before_commits(ctx, t, i, state)):
                        return None
                    out[x] = d
            memo[id(t)] = (t, out)
            return out

        def restarted(t: Any) -> Any:
            """t, or (then_restart) the Restart(i) of t that agrees with post on i."""
            if _view(t, i, ctx) == target:
                return t
            for lb, u in etcd.restart(t, ctx) if job.then_restart else ():
                if label_params(lb)["i"] == i and snapshots.allowed(t, lb, u):
                    u = snapshots.floor_commit(u)
                    if _view(u, i, ctx) == target:
                        return u
            return None

        def agrees(t: SnapState, _post: SnapState) -> bool:
            return (i < 0 or restarted(t) is not None) and sent(t) is not None

        common = 0
        if i >= 0:
            while common < min(len(state.log[i]), len(post.log[i])) and \
                    state.log[i][common] == post.log[i][common]:
                common += 1
        new_values = frozenset(v for _, v in post.log[i][common:]) if i >= 0 else frozenset()
        model = _EventModel(ctx, max(i, 0), job.kinds, spec_m, new_values, state)
        model.post_items = set(post.messages)
        rep = validate_step(cast(Any, model), state, post, max_steps=job.budget, match=agrees,
                            max_states=20_000)
        self._rep = rep
        if not rep.ok:
            who = server_name(i) if i >= 0 else "the network"
            return f"{who}'s change is no path of at most {job.budget} spec steps"
        t = state
        for lb in rep.path:  # replay the path (one successor per label)
            t = next(u for lb2, u in model.successors(t) if lb2 == lb)
        out = sent(t) or {}
        path = rep.path
        if i >= 0 and job.then_restart and _view(t, i, ctx) != target:
            t, path = cast(SnapState, restarted(t)), (*path, label("Restart", i=i))
        self.snapshot_sends += sum(d for x, d in out.items() if x.mtype == INSTALL_SNAPSHOT_REQUEST)
        counts = dict(t.messages)
        for x, d in out.items():
            counts[x] = counts.get(x, 0) + d
        note = ""
        drops = [lb for lb in rep.path if lb[0] == "DropMessage"]
        if spec_m is not None and any(label_params(lb)["m"] == spec_m for lb in drops):
            note += " + vote refused (known leader)"
        elif drops and i >= 0:
            note += " + stale request ignored"
        return (t._replace(messages=tuple(sorted(counts.items()))), path, note,
                sum(out.values()))

    def _refusal(self, t: SnapState, i: int) -> Any:
        m = self._spec_m
        return RequestVoteResponse(REQUEST_VOTE_RESPONSE, t.current_term[i], False, t.log[i], i,
                                   m.msource)

    def _fail(self, ev: Event, kind: str, pre: SnapState, post: SnapState, rep: Any, why: str
              ) -> Failure:
        """The failure of event ``ev``: ``why``, then the search's report and both states."""
        self._count(kind, "not validated: FAILED")
        lines = []
        if rep is not None:
            lines.append(f"  enabled spec actions (among those this event may stand for): "
                         f"{rep.describe()}")
        for name, s in (("abstract pre-state", pre), ("abstract post-state", post)):
            r = render_state(s)
            lines.append(f"  {name}:")
            for key, val in r.items():
                if key != "messages":
                    lines.append(f"    {key}: {val}")
            lines.append(f"    messages in flight: {len(s.messages)} distinct")
        return Failure(self.check, f"event {ev.index} ({ev.text}) is no step of raft.tla: {why}",
                       ev.index, "\n".join(lines))


def _before_commits(ctx: actions.Context, t: Any, i: int, start: Any) -> list[Any]:
    """The states t passed through before its AdvanceCommitIndex steps, when i's commit
    index moved in the event: t with i's commit index as in ``start``, then as each
    ``AdvanceCommitIndex(i)`` from there sets it, below t's.  These steps change nothing
    else, so a send from one of these states is a send step taken between them: etcd's
    leader sends with each commit (a sole voter sends its new entry, then commits it; a
    leader that commits a configuration entry applies it, and may commit more under the
    new configuration in the same event)."""
    top = t.commit_index[i]
    u = t._replace(commit_index=replace_at(t.commit_index, i, start.commit_index[i]))
    out: list[Any] = []
    while u.commit_index[i] < top and len(out) < top:
        out.append(u)
        nxt = next((v for lb, v in membership.advance_commit_index(u, ctx)
                    if label_params(lb)["i"] == i), u)
        if nxt.commit_index[i] <= u.commit_index[i]:
            break
        u = nxt
    return out


def _bag_diff(s: SnapState, post: SnapState) -> str:
    a, b = dict(s.messages), dict(post.messages)
    extra = [message_name(m) for m in a if a[m] > b.get(m, 0)]
    missing = [message_name(m) for m in b if b[m] > a.get(m, 0)]
    return f"unexplained {missing[:4]}, missing {extra[:4]}"
