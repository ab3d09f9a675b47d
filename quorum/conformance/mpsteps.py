"""Step refinement of the simulated multipaxos core against ``quorum.spec.multipaxos``.

After every simulated event, each replica that acted must have moved by a short path of
MultiPaxos.tla's actions (:mod:`quorum.spec.multipaxos.tla.actions`, the spec's own
functions) from the abstract state before the event, and the messages the event sent must
be messages that path sent.  The mapping is :mod:`quorum.conformance.mpabstraction`; the
rule (docs/refinement.md, "Multi-Paxos"):

* the abstract state is a spec state kept along the run: the path of each event starts
  where the previous one ended.  After the event, every running replica's promise
  (``balMaxKnown``), its votes above its snapshot (``insts[s].voted``), its proposer
  state (leader of ballot b: ``leader = self``, ``balPrepared = b``; candidate:
  ``balPrepared = 0``; otherwise ``leader`` not itself) and its chosen prefix
  (``commitUpTo``, with ``status = COMMITTED`` in every slot above its snapshot up to it)
  must be the core's; a replica that did not act must not have changed;
* the path of a replica is built from what changed, in this order: ``BecomeLeader(b)``
  (it campaigns with b), ``HandlePrepare(Prepare(owner of b, b))`` (it promised a higher
  b otherwise: on a PREPARE, and on the higher ballot of an ACCEPT without a new vote, a
  REJECT or a SNAPSHOT; the spec's extra PrepareReply is a message lost),
  ``HandlePrepareReplies`` (it became leader; the replies are the PROMISEs it counted, a
  quorum of the spec's PrepareReplies for its ballot: the reference reads every reply in
  ``msgs``, which only a leader that waits for all could follow, so the recovery judged is
  Paxos's, over the quorum that answered), then per changed slot ``HandleAccept`` of the
  spec Accept of that ballot and slot (its own, for a leader) or, for a leader filling an
  empty slot, ``TakeNewRequest`` of a new command with the entry's bytes; then, for each
  slot its chosen prefix gained, in slot order (a prefix that jumps several slots in one
  event is as many steps), the learner: ``HandleAcceptReplies`` for a leader (a quorum of
  AcceptReplies of its ballot for that slot in ``msgs``), ``HandleCommitNotice`` for any
  other replica (the ``CommitNotice`` of that slot and of its own vote's ballot in
  ``msgs``).  Each step must be enabled: the action function yields it from the state
  reached;
* every message sent in the event (:func:`~quorum.conformance.mpabstraction` lists the
  images) must be in ``msgs`` after the path: an ACCEPT's chosen prefix too, as the
  CommitNotices of the slots its leader holds at its ballot;
* network drops, duplicates, delays, partitions and clogging stutter (``msgs`` never
  loses a message: loss and duplication are free in the spec); PRE_PREPARE/PRE_PROMISE
  (leader stickiness) and PROPOSE (forwarding) have no image: their delivery stutters
  unless it makes the replica campaign.

Counted apart, never hidden: a proposer that gives up (a candidate whose timeout fires, a
leader that loses its lease or steps down, any restart: the reference's leader never gives
up, so ``leader`` is reset outside the spec: "+ gave up"); an ACCEPTED for a slot the
acceptor knows chosen and holds at an older ballot (no AcceptReply of that ballot: "+ ack
of chosen slots"); a second PROMISE of one ballot after the acceptor voted in it (the
reference answers a Prepare once; a leader ignores it); a leader that re-proposes at its
ballot a slot it knows chosen, to repair a lagging acceptor (the spec's leader keeps a
committed slot out of phase 2: its Accept and the CommitNotice of that slot and ballot
are added to ``msgs`` outside the spec, the value being the one the abstract leader
committed: "+ re-proposal of a chosen slot"); a leader whose chosen prefix takes a slot
without a quorum of AcceptReplies of its ballot, the slot being chosen in an earlier
ballot (a quorum of AcceptReplies of that ballot, whose Accept has the leader's value: it
learned that from a PROMISE, or counted an acceptor that knows the slot chosen; the
abstract leader commits it, and sends its CommitNotice, outside the spec: "+ chosen in an
earlier ballot").  Not validated (the spec has no compaction and no durability):
``snap``/``lsnap`` events, an installed snapshot (its empty slots are marked committed
and ``commitUpTo`` moved to it in the abstract state; also when a crash cut the install
short), a crash or torn write that lost state the abstract state has (the abstract
replica is set to what was recovered), and a restart whose chosen prefix is shorter than
before (the prefix is saved without a sync: "a crash lost part of the chosen prefix"; the
abstract replica forgets the slots above it, which it learns again by the spec's steps).
Each is counted under its own "not validated: why".

The first event that is no such path stops the run with ``Failure("refinement", "event N
(...) is no step of the Multi-Paxos spec: why", N, details)``.
"""

from __future__ import annotations

from typing import Any, cast

from quorum.conformance.failure import Check, Failure
from quorum.conformance.mpabstraction import (
    SLOT_CHUNK,
    Bounds,
    Commands,
    Projection,
    grow,
    initial,
    pad_reply,
    project,
    vote_matches,
)
from quorum.impl.multipaxos import MessageType
from quorum.impl.multipaxos.node import owner
from quorum.impl.raft.types import Role
from quorum.impl.sim import Event, MPSimNode, Simulator
from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.tla import actions
from quorum.spec.multipaxos.tla.state import (
    ACCEPT,
    ACCEPT_REPLY,
    ACCEPTING,
    COMMIT_NOTICE,
    COMMITTED,
    EMPTY,
    PREPARE,
    PREPARE_REPLY,
    STATUS_NAMES,
    Accept,
    AcceptReply,
    CommitNotice,
    MultiPaxosState,
    Prepare,
    PrepareReply,
)

__all__ = ["MPStepRefinement"]

MT = MessageType


class _NoStep(Exception):
    """This event is no path of the spec (the message says why)."""


class MPStepRefinement:
    """Observer for :func:`quorum.impl.sim.run_schedule` (module docstring)."""

    check: Check = "refinement"

    def __init__(self, n: int) -> None:
        self.n = n
        self.slots = SLOT_CHUNK
        self.state: MultiPaxosState = initial(n, self.slots)
        self.cmds = Commands()
        self.accepts: dict[tuple[int, int], Accept] = {}  # (ballot, slot) -> spec Accept
        self.ballots: dict[int, set[int]] = {}  # slot -> the ballots of its Accepts
        self.promises: dict[Any, PrepareReply] = {}  # core PROMISE -> its PrepareReply
        #: candidate (spec index) -> its ballot and the PrepareReplies of the PROMISEs it counted
        self.reports: dict[int, tuple[int, dict[int, PrepareReply]]] = {}
        self.inflight: dict[int, Any] = {}  # id -> message in flight after the last event
        self.lost: dict[int, int] = {}  # replica -> the highest promise a crash lost
        #: node -> its running core (a restart makes a new one; kept when it crashes)
        self.cores: dict[int, Any] = {}
        #: event kind -> outcome -> count
        self.counts: dict[str, dict[str, int]] = {}
        self.actions: dict[str, int] = {}  # spec action -> steps taken in validated events
        self.sends = 0  # messages with a spec image, checked in msgs
        self.notices = 0  # CommitNotices an ACCEPT's chosen prefix stands for, checked in msgs
        #: (leader, ballot) -> the chosen prefix of its ACCEPTs already checked
        self.noticed: dict[tuple[int, int], int] = {}
        self.no_image: dict[str, int] = {}  # message type -> sent, without an image
        self._notes: set[str] = set()
        self._steps = 0
        self._unvalidated: str | None = None

    # --- bookkeeping ------------------------------------------------------------------
    def _count(self, kind: str, outcome: str) -> None:
        d = self.counts.setdefault(kind, {})
        d[outcome] = d.get(outcome, 0) + 1

    def coverage(self) -> str:
        lines = []
        for kind in sorted(self.counts):
            d = self.counts[kind]
            ok = sum(v for o, v in d.items() if not o.startswith("not"))
            parts = ", ".join(f"{o} {v}" for o, v in sorted(d.items()))
            lines.append(f"  {kind}: {ok} validated of {sum(d.values())} ({parts})")
        shown = ", ".join(f"{k} {v}" for k, v in sorted(self.no_image.items()))
        lines.append(f"  messages sent: {self.sends} with a spec image, each in msgs"
                     + (f"; without one: {shown}" if shown else ""))
        lines.append(f"  chosen prefixes of ACCEPTs: {self.notices} CommitNotices, each in msgs")
        return "\n".join(lines)

    def totals(self) -> tuple[int, int]:
        ok = sum(v for d in self.counts.values() for o, v in d.items() if not o.startswith("not"))
        return ok, sum(v for d in self.counts.values() for v in d.values())

    def _bounds(self, max_ballot: int = 0) -> Config:
        """What the actions read of a Config (mpabstraction.Bounds: the same fields)."""
        return cast(Config, Bounds(replicas=self.n, commands=self.slots, max_ballot=max_ballot))

    def _grow(self, slot: int) -> None:
        if slot <= self.slots:
            return
        while self.slots < slot:
            self.slots += SLOT_CHUNK
        self.state = grow(self.state, self.slots)
        self.promises = {k: pad_reply(v, self.slots) for k, v in self.promises.items()}
        self.reports = {k: (b, {p: pad_reply(v, self.slots) for p, v in r.items()})
                        for k, (b, r) in self.reports.items()}

    # --- the check --------------------------------------------------------------------
    def __call__(self, sim: Simulator, ev: Event) -> Failure | None:
        kind = self._kind(ev)
        pre = self.state
        # new messages are new objects (a duplicate is the same object twice); holding the
        # previous ones keeps their ids from being reused
        now = {id(x): x for x in sim.inflight}
        sent = [x for k, x in now.items() if k not in self.inflight]
        self.inflight = now
        self._notes, self._steps, self._unvalidated = set(), 0, None
        try:
            self._event(sim, ev, kind, sent)
        except _NoStep as e:
            self._count(kind, "not validated: FAILED")
            return self._fail(ev, pre, str(e))
        if self._unvalidated is not None:
            self._count(kind, f"not validated: {self._unvalidated}")
        else:
            steps = self._steps
            self._count(kind, ("stutter" if steps == 0 else f"{steps} step{'s' if steps > 1 else ''}")
                        + "".join(sorted(self._notes)))
        return None

    @staticmethod
    def _kind(ev: Event) -> str:
        if ev.step[0] != "deliver":
            return str(ev.step[0])
        if ev.message is not None:
            return f"deliver {MT(ev.message.type).name}"
        return "deliver (idle: tick)" if ev.text.startswith("idle") else "deliver (lost)"

    def _event(self, sim: Simulator, ev: Event, kind: str, sent: list[Any]) -> None:
        if kind in ("snap", "lsnap") and ev.node:
            self._unvalidated = "compaction (no image in the spec)"
        if "crashed mid-write" in ev.text:
            self._unvalidated = "torn write"
        m: Any = ev.message if kind.startswith("deliver") else None
        for m2 in sent:
            self._grow(max([e.index for e in m2.entries], default=0))
        if m is not None and m.type is MT.PROMISE:
            self._count_promise(m)
        # who may act: every member at a tick, the receiver of a delivery, the node of a
        # step, and whoever sent a message
        acting = set(sim.nodes) if kind in ("tick", "deliver (idle: tick)") else \
            {x for x in (ev.node, m.to if m is not None else 0) if x}
        acting |= {x.frm for x in sent}
        for i, node in sorted(sim.nodes.items()):
            assert isinstance(node, MPSimNode)
            raw = node.raw
            restarted = False
            if raw is None:  # down: its durable state is judged when it restarts; in the
                raw = self.cores.pop(i, None)  # event it crashed, its core's last state
                if raw is None:
                    continue
            else:
                restarted = self.cores.get(i) is not raw and ev.index > 1
                self.cores[i] = raw
            self._grow(max(raw.last, raw.snap.meta.index))
            k = i - 1
            proj = project(raw)
            if node.installed:  # a SNAPSHOT, or a PROMISE carrying one
                self._unvalidated = "snapshot installed (no image in the spec)"
                self._installed(k, raw.snap.meta.index)
            elif proj.base > self.state.node[k].commitUpTo:  # one, cut short by a crash
                self._unvalidated = self._unvalidated or "snapshot installed (no image in the spec)"
                self._installed(k, proj.base)
            lost = self._lost(k, proj) if restarted else None
            if lost is not None:
                self._unvalidated = lost
                self._resync(k, proj)
            if i in acting or restarted:
                self._replica(k, proj)
                self._compare(k, proj, "after its path")
            else:
                self._compare(k, proj, "though it did not act in this event")
        for m2 in sent:
            self._sent(m2, sim)
        self._track_reports(sim, m)

    # --- per replica ------------------------------------------------------------------
    def _set(self, step: tuple[Any, MultiPaxosState] | None, what: str) -> None:
        if step is None:
            raise _NoStep(f"{what} is not enabled")
        label, t = step
        self.state = t
        self._steps += 1
        self.actions[label[0]] = self.actions.get(label[0], 0) + 1

    def _give_up(self, k: int) -> None:
        node = self.state.node[k]
        self.state = self.state._replace(node=actions._with_node(self.state, k,
                                                                 node._replace(leader=-1)))
        self._notes.add(" + gave up")

    def _replica(self, k: int, p: Projection) -> None:
        s, g = self.state, self.state.node[k]
        if p.promised < g.balMaxKnown:
            raise _NoStep(f"s{k + 1}'s promise went down from {g.balMaxKnown} to {p.promised}")
        leading = p.role in (Role.CANDIDATE, Role.LEADER)
        changed = self._changed_slots(k, p)
        if p.promised > g.balMaxKnown:
            b = p.promised
            if leading and p.ballot == b:
                if g.leader == k:
                    self._give_up(k)
                taken = [x for x in s.msgs if x.type == PREPARE and x.bal == b]
                if taken and b <= self.lost.get(k, 0):
                    # its earlier Prepare of b went with a promise a crash lost (a torn
                    # save: never sent); the spec's msgs still has it
                    self._unvalidated = "ballot reused after a crash lost its promise"
                    taken = []
                self._set(next((st for st in actions.become_leader(
                    self._bounds(b), self.state, k, taken) if st[0][1][1][1] == b), None),
                    f"BecomeLeader(s{k + 1}, {b})")
            elif not any(p.votes.get(sl, (0, b""))[0] == b for sl in changed):
                prep = Prepare(PREPARE, owner(b, range(1, self.n + 1)) - 1, b)
                if prep not in s.msgs:
                    raise _NoStep(f"s{k + 1} promised ballot {b}, which no Prepare in msgs has")
                self._set(next(actions.handle_prepare(self._bounds(), self.state, k, [prep]),
                               None), f"HandlePrepare(s{k + 1}, {prep})")
        g = self.state.node[k]
        if p.role is Role.LEADER and not (g.leader == k and g.balPrepared == p.ballot):
            if g.leader != k or g.balPrepared != 0 or g.balMaxKnown != p.ballot:
                raise _NoStep(f"s{k + 1} leads ballot {p.ballot} without having run phase 1 "
                              f"for it")
            ballot, reps = self.reports.get(k, (0, {}))
            if ballot != p.ballot:  # it led at once (a quorum of one): its own reply
                reps = {x.src: x for x in self.state.msgs
                        if isinstance(x, PrepareReply) and x.src == k and x.bal == p.ballot}
            prs = sorted(reps.values())
            if len(prs) < self._bounds().quorum:
                raise _NoStep(f"s{k + 1} leads ballot {p.ballot} on {len(prs)} PrepareReplies "
                              f"of the spec (a quorum is {self._bounds().quorum})")
            self._set(next(actions.handle_prepare_replies(self._bounds(), self.state, k, prs),
                           None), f"HandlePrepareReplies(s{k + 1})")
            self._index_accepts(k)
        for sl in changed:
            self._vote(k, p, sl)
        g = self.state.node[k]
        if g.leader == k and not leading:
            self._give_up(k)
        self._learn(k, p)

    def _changed_slots(self, k: int, p: Projection) -> list[int]:
        insts, out = self.state.node[k].insts, []
        for sl in sorted(set(p.votes) | {j + 1 for j, x in enumerate(insts) if x.vbal}):
            if sl > p.base and not vote_matches(insts[sl - 1], p.votes.get(sl), self.cmds):
                out.append(sl)
        return out

    def _vote(self, k: int, p: Projection, sl: int) -> None:
        vote = p.votes.get(sl)
        inst = self.state.node[k].insts[sl - 1]
        if vote is None:
            raise _NoStep(f"s{k + 1}'s vote in slot {sl} ({inst.vbal}, "
                          f"{_short(self.cmds.of(inst.vcmd))}) vanished")
        b, data = vote
        acc = self.accepts.get((b, sl))
        g = self.state.node[k]
        if acc is None and g.leader == k and g.balPrepared == b and inst.status == EMPTY:
            c = self.cmds.fresh(data)
            t = self.state._replace(pending=(c,))
            step = next(actions.take_new_request(self._bounds(), t, k), None)
            if step is not None:
                step = step[0], step[1]._replace(pending=())
                if step[1].node[k].insts[sl - 1].vcmd != c:
                    raise _NoStep(f"s{k + 1} proposed in slot {sl}, but TakeNewRequest takes "
                                  f"its first empty slot")
            self._set(step, f"TakeNewRequest(s{k + 1}) into slot {sl}")
            self._accept(Accept(ACCEPT, k, b, sl, c))
            return
        if acc is None or self.cmds.of(acc.cmd) != data:
            why = "no Accept of that ballot and slot is in msgs" if acc is None else \
                f"the spec's Accept of that ballot and slot proposes {_short(self.cmds.of(acc.cmd))}"
            raise _NoStep(f"s{k + 1} voted ({b}, {_short(data)}) in slot {sl}: {why}")
        self._set(next(actions.handle_accept(self._bounds(), self.state, k, [acc]), None),
                  f"HandleAccept(s{k + 1}, {acc})")

    def _index_accepts(self, k: int) -> None:
        g = self.state.node[k]
        for j, inst in enumerate(g.insts):
            if inst.status == ACCEPTING:
                self._accept(Accept(ACCEPT, k, g.balPrepared, j + 1, inst.cmd))

    def _accept(self, acc: Accept) -> None:
        self.accepts[(acc.bal, acc.slot)] = acc
        self.ballots.setdefault(acc.slot, set()).add(acc.bal)

    # --- the learner ------------------------------------------------------------------
    def _learn(self, k: int, p: Projection) -> None:
        """One learner step per slot the replica's chosen prefix gained, in slot order:
        ``HandleAcceptReplies`` for a leader, ``HandleCommitNotice`` for any other."""
        top = self.state.node[k].commitUpTo
        if p.commit < top:
            raise _NoStep(f"s{k + 1}'s chosen prefix went down from {top} to {p.commit}")
        for sl in range(top + 1, p.commit + 1):
            if p.role is Role.LEADER:
                self._leader_learns(k, sl)
            else:
                self._follower_learns(k, sl)
        # the spec's leader acknowledges each command to its client; the client side is
        # not compared, and dropping it keeps the abstract state from growing with the run
        if self.state.observed:
            self.state = self.state._replace(observed=(), pending=())

    def _leader_learns(self, k: int, sl: int) -> None:
        g = self.state.node[k]
        b, msgs = g.balPrepared, self.state.msgs
        reps = [r for j in range(self.n) if (r := AcceptReply(ACCEPT_REPLY, j, b, sl)) in msgs]
        step = next(actions.handle_accept_replies(self._bounds(), self.state, k, reps), None)
        if step is not None:
            self._set(step, "HandleAcceptReplies")
            return
        inst = g.insts[sl - 1]
        if g.commitUpTo == sl - 1 and inst.status == ACCEPTING and inst.vbal == b \
                and self._chosen_before(sl, self.cmds.of(inst.cmd), b):
            # chosen in an earlier ballot: a replica that knows it chosen acknowledged it
            # (or reported it in phase 1) without an AcceptReply of b; the spec's leader
            # counts AcceptReplies of its own ballot only.  Its notice is the leader's.
            node = actions._execute(self._bounds(), g, sl - 1, inst.cmd)
            self.state = self.state._replace(
                msgs=msgs | {CommitNotice(COMMIT_NOTICE, sl, b)},
                node=actions._with_node(self.state, k, node))
            self._notes.add(" + chosen in an earlier ballot")
            return
        raise _NoStep(f"s{k + 1} marked slot {sl} chosen, but HandleAcceptReplies(s{k + 1}) is "
                      f"not enabled: {len(reps)} AcceptReplies of ballot {b} for slot {sl} in "
                      f"msgs (a quorum is {self._bounds().quorum}), status "
                      f"{STATUS_NAMES[inst.status]}, and no earlier ballot chose "
                      f"{_short(self.cmds.of(inst.cmd))} there")

    def _chosen_before(self, sl: int, data: bytes, below: int) -> bool:
        """A quorum of AcceptReplies of some ballot under ``below`` whose Accept in ``sl``
        proposes ``data``: Paxos's "chosen"."""
        msgs, q = self.state.msgs, self._bounds().quorum
        for b in self.ballots.get(sl, ()):
            acc = self.accepts[(b, sl)]
            if b < below and self.cmds.of(acc.cmd) == data and sum(
                    AcceptReply(ACCEPT_REPLY, j, b, sl) in msgs for j in range(self.n)) >= q:
                return True
        return False

    def _follower_learns(self, k: int, sl: int) -> None:
        if self.state.node[k].leader == k:
            self._give_up(k)
        step = next(actions.handle_commit_notice(self._bounds(), self.state, k), None)
        if step is None:
            inst = self.state.node[k].insts[sl - 1]
            raise _NoStep(f"s{k + 1} marked slot {sl} chosen, but HandleCommitNotice(s{k + 1}) "
                          f"is not enabled: its vote there is ({inst.vbal}, "
                          f"{_short(self.cmds.of(inst.vcmd))}), status "
                          f"{STATUS_NAMES[inst.status]}, and CommitNotice(slot={sl}, "
                          f"bal={inst.vbal}) is "
                          + ("in msgs" if CommitNotice(COMMIT_NOTICE, sl, inst.vbal)
                             in self.state.msgs else "not in msgs"))
        self._set(step, "HandleCommitNotice")

    def _compare(self, k: int, p: Projection, where: str) -> None:
        g = self.state.node[k]
        if g.balMaxKnown != p.promised:
            raise _NoStep(f"s{k + 1}'s promise is {p.promised}, the spec's balMaxKnown "
                          f"{g.balMaxKnown} {where}")
        bad = self._changed_slots(k, p)
        if bad:
            sl = bad[0]
            i = g.insts[sl - 1]
            mine = p.votes.get(sl)
            raise _NoStep(f"s{k + 1}'s vote in slot {sl} is "
                          f"{(mine[0], _short(mine[1])) if mine else None}, the spec's "
                          f"({i.vbal}, {_short(self.cmds.of(i.vcmd))}) {where}")
        if g.commitUpTo != p.commit:
            raise _NoStep(f"s{k + 1}'s chosen prefix is {p.commit}, the spec's commitUpTo "
                          f"{g.commitUpTo} {where}")
        open_ = next((j for j in range(min(p.base, p.commit), p.commit)
                      if g.insts[j].status != COMMITTED), None)
        if open_ is not None:
            raise _NoStep(f"s{k + 1} knows slot {open_ + 1} chosen, the spec's status there "
                          f"is {STATUS_NAMES[g.insts[open_].status]} {where}")
        if p.role is Role.LEADER:
            ok = g.leader == k and g.balPrepared == p.ballot == g.balMaxKnown
        elif p.role is Role.CANDIDATE:
            ok = g.leader == k and g.balPrepared == 0 and g.balMaxKnown == p.ballot
        else:
            ok = g.leader != k
        if not ok:
            raise _NoStep(f"s{k + 1} is a {p.role.name.lower()} (ballot {p.ballot}), the spec's "
                          f"node has leader {g.leader + 1 if g.leader >= 0 else 'none'}, "
                          f"balPrepared {g.balPrepared} {where}")

    # --- what the spec has no image of ------------------------------------------------
    def _installed(self, k: int, index: int) -> None:
        """Slots up to ``index`` are chosen and compacted: the abstract replica marks its
        empty ones committed (so that TakeNewRequest skips them, as the core does)."""
        g = self.state.node[k]
        insts = tuple(i._replace(status=COMMITTED) if j < index and i.status == EMPTY else i
                      for j, i in enumerate(g.insts))
        self.state = self.state._replace(node=actions._with_node(
            self.state, k, g._replace(insts=insts, commitUpTo=max(g.commitUpTo, index))))

    def _lost(self, k: int, p: Projection) -> str | None:
        """Why the restarted replica has less than its abstract one, or None."""
        g = self.state.node[k]
        if p.promised < g.balMaxKnown or any(g.insts[sl - 1].vbal > p.votes.get(sl, (0, b""))[0]
                                             for sl in self._changed_slots(k, p)):
            return "a crash lost state the abstract replica has"
        if p.commit < g.commitUpTo:  # the chosen prefix is saved without a sync
            return "a crash lost part of the chosen prefix"
        return None

    def _resync(self, k: int, p: Projection) -> None:
        g = self.state.node[k]
        insts = list(g.insts)
        for sl in self._changed_slots(k, p):
            vote = p.votes.get(sl)
            if vote is None:  # a lost vote: the slot is as if never touched
                insts[sl - 1] = insts[sl - 1]._replace(status=EMPTY, cmd=0, vbal=0, vcmd=0)
            else:
                insts[sl - 1] = insts[sl - 1]._replace(vbal=vote[0], vcmd=self.cmds.fresh(vote[1]))
        for j in range(max(p.commit, p.base), g.commitUpTo):  # chosen, but forgotten
            i = insts[j]
            insts[j] = i._replace(status=ACCEPTING if i.vbal else EMPTY)
        self.lost[k] = max(self.lost.get(k, 0), g.balMaxKnown)
        node = g._replace(balMaxKnown=p.promised, insts=tuple(insts),
                          commitUpTo=min(g.commitUpTo, max(p.commit, p.base)),
                          leader=-1 if g.leader == k else g.leader)
        self.state = self.state._replace(node=actions._with_node(self.state, k, node))

    # --- messages ---------------------------------------------------------------------
    def _sent(self, m: Any, sim: Simulator) -> None:
        k, msgs = m.frm - 1, self.state.msgs
        if m.type is MT.ACCEPT:
            self._notice(m, sim)
        if m.type is MT.PREPARE:
            if Prepare(PREPARE, k, m.ballot) not in msgs:
                raise _NoStep(f"s{k + 1} sent PREPARE {m.ballot}, no Prepare of the spec")
        elif m.type is MT.PROMISE:
            votes = tuple((i.vbal, i.vcmd) for i in self.state.node[k].insts)
            img = PrepareReply(PREPARE_REPLY, k, m.ballot, votes)
            if img not in msgs:
                if m.ballot == self.state.node[k].balMaxKnown:
                    # a second PREPARE of its promise (a duplicate, or one that came after an
                    # ACCEPT of that ballot): the reference answers only a higher ballot's;
                    # no image, so no candidate may count it (only a leader gets it: ignored)
                    self._notes.add(" + repeated promise")
                    self.no_image["PROMISE"] = self.no_image.get("PROMISE", 0) + 1
                    return
                raise _NoStep(f"s{k + 1} sent a PROMISE of ballot {m.ballot} that is no "
                              f"PrepareReply in msgs")
            self.promises[m] = img
        elif m.type in (MT.ACCEPT, MT.ACCEPTED) and not (m.entries if m.type is MT.ACCEPT
                                                           else m.slot):
            # a heartbeat (and read probe), or its acknowledgement: no vote, no image
            name = f"{MT(m.type).name} (no slots)"
            self.no_image[name] = self.no_image.get(name, 0) + 1
            return
        elif m.type is MT.ACCEPT:
            for e in m.entries:
                acc = self.accepts.get((m.ballot, e.index)) or self._repair(k, m.ballot, e)
                if acc is None or acc.src != k or self.cmds.of(acc.cmd) != e.data:
                    raise _NoStep(f"s{k + 1} sent ACCEPT ({m.ballot}, {_short(e.data)}) for slot "
                                  f"{e.index}, no Accept in msgs")
        elif m.type is MT.ACCEPTED:
            commit = self._commit(sim, m.frm)
            for sl in range(m.slot, m.last + 1):
                if AcceptReply(ACCEPT_REPLY, k, m.ballot, sl) not in msgs:
                    if sl <= commit:
                        self._notes.add(" + ack of chosen slots")
                        continue
                    raise _NoStep(f"s{k + 1} sent ACCEPTED of ballot {m.ballot} for slot {sl}, "
                                  f"no AcceptReply in msgs")
        else:
            name = MT(m.type).name
            self.no_image[name] = self.no_image.get(name, 0) + 1
            return
        self.sends += 1

    def _repair(self, k: int, b: int, e: Any) -> Accept | None:
        """A leader re-proposes, at its ballot ``b``, a slot it knows chosen (repairing a
        lagging acceptor).  The spec's leader keeps a committed slot out of phase 2, so
        this Accept, and the notice that the slot is chosen which the ACCEPT's prefix
        carries, are added to msgs outside the spec, counted; the value must be the one
        the abstract leader committed."""
        g = self.state.node[k]
        if not (g.leader == k and g.balPrepared == b and e.index <= g.commitUpTo):
            return None
        inst = g.insts[e.index - 1]
        if inst.status != COMMITTED or self.cmds.of(inst.cmd) != e.data:
            return None
        acc = Accept(ACCEPT, k, b, e.index, inst.cmd)
        self._accept(acc)
        self.state = self.state._replace(
            msgs=self.state.msgs | {acc, CommitNotice(COMMIT_NOTICE, e.index, b)})
        self._notes.add(" + re-proposal of a chosen slot")
        return acc

    def _notice(self, m: Any, sim: Simulator) -> None:
        """An ACCEPT's chosen prefix: for each slot up to it that its leader holds at the
        ACCEPT's ballot (the only ones a follower may learn from it), the CommitNotice of
        that slot and ballot must be in msgs.  Slots held at an older ballot, or compacted,
        have no image: no follower learns them from this ACCEPT."""
        k, key = m.frm - 1, (m.frm - 1, m.ballot)
        done = self.noticed.get(key, 0)
        node = sim.nodes.get(m.frm)
        raw = node.raw if isinstance(node, MPSimNode) else None
        if m.commit <= done or raw is None:
            return
        msgs = self.state.msgs
        for sl in range(done + 1, m.commit + 1):
            e = raw.log.get(sl)
            if e is None or e.term != m.ballot:
                continue
            if CommitNotice(COMMIT_NOTICE, sl, m.ballot) not in msgs:
                raise _NoStep(f"s{k + 1} sent ACCEPT of ballot {m.ballot} with chosen prefix "
                              f"{m.commit}: no CommitNotice(slot={sl}, bal={m.ballot}) in msgs")
            self.notices += 1
        self.noticed[key] = m.commit

    @staticmethod
    def _commit(sim: Simulator, i: int) -> int:
        node = sim.nodes.get(i)
        raw = node.raw if isinstance(node, MPSimNode) else None
        return 0 if raw is None else raw.commit

    def _track_reports(self, sim: Simulator, m: Any) -> None:
        """The PROMISEs each candidate counted (for its HandlePrepareReplies)."""
        for i, node in sim.nodes.items():
            raw = node.raw if isinstance(node, MPSimNode) else None
            k = i - 1
            if raw is None or raw.role is not Role.CANDIDATE:
                self.reports.pop(k, None)
                continue
            ballot, reps = self.reports.get(k, (0, {}))
            if ballot != raw.ballot:
                own = next((x for x in self.state.msgs if isinstance(x, PrepareReply)
                            and x.src == k and x.bal == raw.ballot), None)
                ballot, reps = raw.ballot, ({k: own} if own is not None else {})
                self.reports[k] = (ballot, reps)

    def _count_promise(self, m: Any) -> None:
        k = m.to - 1
        entry = self.reports.get(k)
        img = self.promises.get(m)
        if entry is not None and entry[0] == m.ballot and img is not None:
            entry[1][m.frm - 1] = img

    # --- failure ----------------------------------------------------------------------
    def _fail(self, ev: Event, pre: MultiPaxosState, why: str) -> Failure:
        lines = ["  abstract replicas before the event (promise, leader, balPrepared, votes):"]
        for k, g in enumerate(pre.node):
            votes = {j + 1: (i.vbal, _short(self.cmds.of(i.vcmd)))
                     for j, i in enumerate(g.insts) if i.vbal}
            lines.append(f"    s{k + 1}: {g.balMaxKnown}, {g.leader + 1 if g.leader >= 0 else '-'}, "
                         f"{g.balPrepared}, {votes}")
        lines.append(f"  spec messages ever sent: {len(pre.msgs)}")
        return Failure(self.check, f"event {ev.index} ({ev.text}) is no step of the Multi-Paxos "
                       f"spec: {why}", ev.index, "\n".join(lines))


def _short(data: bytes) -> str:
    """A command's bytes, shown short: ``noop`` or a digest of them."""
    import hashlib
    return "noop" if not data else "cmd-" + hashlib.sha256(data).hexdigest()[:8]
