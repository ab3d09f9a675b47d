"""Step refinement (trace validation) of the simulated store against ``spec.raft``.

After every simulated event, the cluster before and after it is mapped onto raft.tla's
``State`` (:func:`impl.refinement.abstraction.abstract`, messages in flight included),
and :func:`model_checker.trace_validation.validate_step` must find a path of at most 3
spec steps (a stutter is 0) from the abstract pre-state to a state that agrees with the
abstract post-state.  What "agrees" means, and why, is in docs/refinement.md ("Step
refinement"); in short:

* **compared**: every server's ``currentTerm``, ``state``, ``votedFor`` and ``log``;
  the servers that did not act must be unchanged;
* **in the pre-state, not compared**: ``commitIndex``, the vote tallies,
  ``nextIndex``/``matchIndex`` and the message bag.  They enable the spec's actions (the
  delivered message must be in the bag for ``Receive``; ``BecomeLeader`` needs the
  tally) but etcd-style bookkeeping (optimistic ``nextIndex``, reject hints, a commit
  index restored from disk, several sends per event) does not follow raft.tla's.

The search may take only the actions the event can stand for: a delivered message is
``Receive`` of its image (``UpdateTerm``, the handler, again the handler), then
``BecomeLeader`` and ``ClientRequest`` of its receiver (a new leader's empty entry); a
client operation or a forwarded proposal is ``ClientRequest``; a tick is, per node that
changed, ``Timeout``, ``RequestVote`` to itself and the receipt of that request (etcd
votes for itself in the same step); a crash is ``Restart``; every other event must be a
stutter.  raft.tla removes a conflicting suffix one entry per step, so an AppendEntries
that truncates L entries gets a budget of L + 2 steps (L + 3 after an ``UpdateTerm``)
instead of 3 (counted apart).  A vote etcd refuses while it knows a leader of the term
(raft.tla would grant it) may be matched by ``DropMessage`` of the request (counted apart).

Events that cannot be mapped (a snapshot, an InstallSnapshot, a torn write) are counted
as not validated, never as passed.  The check requires the ``tla`` profile
(:func:`impl.sim.tla_config`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from impl.raft.types import MessageType
from impl.refinement.abstraction import MessageMap, Values, abstract
from impl.sim import Event, Simulator, in_tla_vocabulary
from model_checker.trace_validation import validate_step
from spec.common import majority
from spec.raft import actions
from spec.raft.render import message_name, render_state, server_name
from spec.raft.rules import RAFT
from spec.raft.state import (
    APPEND_ENTRIES_REQUEST,
    CANDIDATE,
    FOLLOWER,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    State,
    initial_state,
)

__all__ = ["StepRefinementObserver"]

MAX_STEPS = 3


def _proj(s: State, k: int) -> tuple[Any, ...]:
    return (s.current_term[k], s.role[k], s.voted_for[k], s.log[k])


def _agrees(target: tuple[tuple[Any, ...], ...], consumed: Any = None, left: int = 0) -> Any:
    """match= for validate_step: t agrees with ``target`` (one projection per server) and,
    for a delivered message, holds ``left`` copies of it (the path consumed one)."""
    def agrees(t: State, _post: State) -> bool:
        if consumed is not None and dict(t.messages).get(consumed, 0) != left:
            return False
        return all(_proj(t, k) == p for k, p in enumerate(target))
    return agrees


class _EventModel:
    """raft.tla's actions restricted to what one implementation event may stand for."""

    def __init__(self, ctx: actions.Context, node: int, kinds: frozenset[str],
                 message: Any = None, values: frozenset[int] = frozenset()) -> None:
        self.ctx, self.node, self.kinds, self.message = ctx, node, kinds, message
        self.values = values
        self.name = server_name(node)

    def _mine(self, label: Any) -> bool:
        return dict(label[1]).get("i") == self.name

    def successors(self, s: State) -> Iterator[tuple[Any, State]]:
        i, k = self.node, self.kinds
        if "Restart" in k:
            yield from ((lb, t) for lb, t in actions.restart(s, self.ctx) if self._mine(lb))
        if "Timeout" in k:
            yield from ((lb, t) for lb, t in actions.timeout(s, self.ctx) if self._mine(lb))
        if "RequestVoteSelf" in k:
            for lb, t in actions.request_vote(s, self.ctx):
                if self._mine(lb) and dict(lb[1])["j"] == self.name:
                    yield lb, t
        if "BecomeLeader" in k:
            yield from ((lb, t) for lb, t in actions.become_leader(s, self.ctx) if self._mine(lb))
        if "ClientRequest" in k and self.values and s.role[i] == 2:
            for lb, t in actions.client_request(s, self.ctx):
                if self._mine(lb) and int(dict(lb[1])["v"][1:]) - 1 in self.values:
                    yield lb, t
        if "Receive" in k:
            todo = []
            if self.message is not None:
                todo.append(self.message)
            if "RequestVoteSelf" in k:
                todo += [m for m, _ in s.messages if m.mtype == REQUEST_VOTE_REQUEST
                         and m.msource == i and m.mdest == i]
            present = dict(s.messages)
            for m in todo:
                if m in present:
                    u = actions.receive_one(s, self.ctx, m)
                    if u is not None:
                        yield ("Receive", (("m", message_name(m)),)), u
        if "DropDelivered" in k and self.message is not None:
            for lb, u in actions.drop_message(s, self.ctx):
                if dict(lb[1])["m"] == message_name(self.message):
                    yield lb, u


class StepRefinementObserver:
    """Observer for :func:`impl.sim.run_schedule`: step refinement (module docstring)."""

    def __init__(self, n: int) -> None:
        self.names = ("refinement",)
        self.values = Values()
        self.msgs = MessageMap()
        self.committed: dict[int, tuple[int, int]] = {}
        self.prev: State = initial_state(n)
        self.n = n
        #: event kind -> outcome -> count (outcome: "stutter", "1 step", ..., "not validated: why")
        self.counts: dict[str, dict[str, int]] = {}
        self.details: str | None = None
        self._checked_config = False

    # --- bookkeeping ------------------------------------------------------------------
    def _learn(self, sim: Simulator) -> None:
        for node in sim.nodes.values():
            if node.raw is None:
                continue
            log = node.raw.raft.log
            lo = max(max(self.committed, default=0) + 1, log.first_index())
            for e in log.slice(lo, log.committed + 1, None) if lo <= log.committed else ():
                self.committed[e.index] = (e.term + 1, self.values.of(e))

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
        return "\n".join(lines)

    def spec_steps(self) -> int:
        """Validated events that took at least one spec step (not stutters)."""
        return sum(v for d in self.counts.values() for o, v in d.items()
                   if not o.startswith(("not", "stutter")))

    def totals(self) -> tuple[int, int]:
        ok = sum(v for d in self.counts.values() for o, v in d.items() if not o.startswith("not"))
        return ok, sum(v for d in self.counts.values() for v in d.values())

    # --- the check --------------------------------------------------------------------
    def __call__(self, sim: Simulator, ev: Event) -> str | None:
        if not self._checked_config:
            self._checked_config = True
            if not in_tla_vocabulary(sim.cfg):
                return ("refinement: step refinement needs the tla profile (pre-vote and "
                        "check-quorum off, one entry per AppendEntries): --profile tla")
        self._learn(sim)
        self._spec_m = self.msgs.get(ev.message) if ev.message is not None else None
        post0 = abstract(sim.nodes, self.committed, self.values)
        bag = self.msgs.update(sim.inflight, post0.log, self.values)
        post = post0._replace(messages=bag)
        pre, self.prev = self.prev, post
        return self._validate(sim, ev, pre, post)

    def _validate(self, sim: Simulator, ev: Event, pre: State, post: State) -> str | None:
        kind = ev.step[0]
        m = ev.message
        if kind == "deliver" and m is not None:
            kind = f"deliver {MessageType(m.type).name}"
        elif kind == "deliver" and ev.text.startswith("idle"):
            kind = "deliver (idle: tick)"
        elif kind == "deliver":
            kind = "deliver (lost)"
        changed = [k for k in range(self.n) if _proj(pre, k) != _proj(post, k)]
        if "crashed mid-write" in ev.text:
            self._count(kind, "not validated: torn write")
            return None
        if kind == "snap" or (m is not None and m.type is MessageType.SNAPSHOT):
            self._count(kind, "not validated: snapshot")
            return None
        spec_m: Any = self._spec_m if kind.startswith("deliver ") else None
        if not changed and spec_m is None:
            self._count(kind, "stutter")
            return None
        ctx = actions.Context(n=self.n, values=len(self.values._ids), quorum=majority(self.n),
                              rules=RAFT)
        jobs: list[tuple[int, frozenset[str], Any, int]] = []  # node, kinds, message, budget
        if kind in ("tick", "deliver (idle: tick)"):
            for k in changed:
                jobs.append((k, frozenset({"Timeout", "RequestVoteSelf", "Receive"}), None,
                             MAX_STEPS))
        elif kind.startswith("deliver") and m is not None:
            i = m.to - 1
            if spec_m is not None:
                budget, kinds = MAX_STEPS, {"Receive", "BecomeLeader", "ClientRequest"}
                if spec_m.mtype == APPEND_ENTRIES_REQUEST and spec_m.mentries:
                    log, index = pre.log[i], spec_m.mprev_log_index + 1
                    if len(log) >= index and log[index - 1][0] != spec_m.mentries[0][0]:
                        # UpdateTerm or a candidate's return to follower, L removals,
                        # the append, the reply
                        first = spec_m.mterm > pre.current_term[i] or (
                            spec_m.mterm == pre.current_term[i] and pre.role[i] == CANDIDATE)
                        budget = max(MAX_STEPS, len(log) - index + 1 + 2 + first)
                if spec_m.mtype == REQUEST_VOTE_REQUEST and \
                        post.voted_for[i] != spec_m.msource:
                    kinds.add("DropDelivered")  # a refused vote: see below
                jobs.append((i, frozenset(kinds), spec_m, budget))
            else:  # a forwarded proposal (PROPOSE): the leader appends it
                jobs.append((i, frozenset({"ClientRequest"}), None, MAX_STEPS))
        elif kind == "op":
            jobs.append((ev.node - 1, frozenset({"ClientRequest"}), None, MAX_STEPS))
        elif kind == "crash":
            jobs.append((ev.node - 1, frozenset({"Restart"}), None, MAX_STEPS))
        acting = {j[0] for j in jobs}
        if set(changed) - acting or not jobs:
            return self._fail(ev, kind, pre, post, None,
                              f"servers {[server_name(k) for k in changed]} changed, but this "
                              f"event may only change {[server_name(k) for k in sorted(acting)]}")
        longest, note = 0, ""
        for i, allowed, spec_m, budget in jobs:
            target = tuple(_proj(post, k) if k == i else _proj(pre, k) for k in range(self.n))
            if (spec_m is not None and spec_m.mtype == REQUEST_VOTE_RESPONSE
                    and pre.role[i] == CANDIDATE and post.role[i] == FOLLOWER
                    and pre.current_term[i] == post.current_term[i]):
                # etcd's candidate steps down once a quorum has refused it (VoteLost);
                # raft.tla's stays a candidate until a timeout or a message of a newer
                # term: validated as the Receive, the step-down counted apart.
                t, r, v, lg = target[i]
                target = target[:i] + ((t, CANDIDATE, v, lg),) + target[i + 1:]
                note = " + lost-election step-down"
            common = 0
            while common < min(len(pre.log[i]), len(post.log[i])) and \
                    pre.log[i][common] == post.log[i][common]:
                common += 1
            new_values = frozenset(v for _, v in post.log[i][common:])
            model = _EventModel(ctx, i, allowed, spec_m, new_values)

            left = dict(pre.messages).get(spec_m, 0) - 1 if spec_m is not None else 0
            rep = validate_step(cast(Any, model), pre, post, max_steps=budget,
                                match=_agrees(target, spec_m, left),
                                max_states=20_000)
            if not rep.ok:
                return self._fail(ev, kind, pre, post, rep, f"{server_name(i)}'s change is no "
                                  f"path of at most {budget} spec steps")
            if any(lb[0] == "DropMessage" for lb in rep.path):
                # etcd refuses a vote that raft.tla would grant (it knows a leader of the
                # term: etcd's leader stickiness); refusing is never unsafe, and the
                # receiver's variables are as if the request had been lost.
                note += " + vote refused (known leader)"
            longest = max(longest, len(rep.path))
            if len(rep.path) > MAX_STEPS:
                self._count(kind, f"{len(rep.path)} steps (truncation)")
                return None
        self._count(kind, ("stutter" if longest == 0 else
                           f"{longest} step{'s' if longest > 1 else ''}") + note)
        return None

    def _fail(self, ev: Event, kind: str, pre: State, post: State, rep: Any, why: str) -> str:
        self._count(kind, "not validated: FAILED")
        lines = [f"refinement: event {ev.index} ({ev.text}) is no step of raft.tla: {why}"]
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
        self.details = "\n".join(lines)
        return self.details
