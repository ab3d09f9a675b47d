"""The explicit Raft spec and the symbolic one describe the same protocol.

``spec/raft/symbolic.py`` is raft.tla's voting and log replication as a z3 transition
system (``log_matching()``, which contains ``election_safety()``), over-approximated
where a proof does not need the detail.  Here explicit states of ``spec/raft/tla``,
translated into finite first-order structures, are held against it, as
``tests/spec/paxos/test_crosscheck.py`` does for Paxos:

* the initial state satisfies ``Init``;
* every explicit step satisfies the transition formula of the symbolic action it stands
  for (``Receive(m)`` stands for the handler of m, or ``UpdateTerm``), with the label's
  arguments and the rest existentially, or changes no symbolic variable (a stutter:
  commit indexes, ``nextIndex``, responses to AppendEntries are not modelled);
* every reachable state satisfies every conjunct of the symbolic invariant and both
  safety properties, as it satisfies the explicit ones.

The symbolic model has history variables that raft.tla keeps as ``elections``,
``voterLog`` and the set of messages ever sent: RequestVote requests, granted votes,
AppendEntries with an entry, elections with their quorum, terms of entries ever
created.  They are not part of an explicit state, so they are carried along each path
(:class:`History`): the search is over (state, history) pairs.  If either model drifts (a
guard changed on one side only) a step stops matching; the known-bug mutants and a
weakened symbolic action show that the test notices.

What the cross-check found: raft.tla's HandleAppendEntriesRequest returns a candidate of
the request's term to follower, keeping its votes, and ``symbolic.py`` has no such step
(with 2 servers it never holds a vote then, and Restart happens to match; with 3 it
does).  The step changes only ``candidate``, and the published invariants stay inductive
under it (proved below), so the published proofs still hold of raft.tla; the checks here
run the symbolic model with that step added (``ReturnToFollower``).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator
from itertools import combinations
from typing import Any, NamedTuple

import pytest
import z3

from quorum.model_checker.symbolic.induction import prove
from quorum.model_checker.symbolic.structure import compile_formula
from quorum.model_checker.symbolic.system import TransitionSystem
from quorum.spec.common import majority
from quorum.spec.raft import SPEC, symbolic
from quorum.spec.raft.model import RaftModel
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    CANDIDATE,
    LEADER,
    NIL,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    State,
)


def _return_to_follower(state: tuple) -> tuple[tuple[z3.ExprRef, ...], z3.BoolRef]:
    """The step ``symbolic.py`` lacks: raft.tla's HandleAppendEntriesRequest returns a
    candidate of the request's term to follower, its term, vote and votes unchanged
    (no symbolic action does only that: Restart also forgets the votes granted)."""
    i, x = symbolic.i, symbolic.x
    pre, post = symbolic.CANDIDATE
    return (i,), z3.And(
        pre(i), z3.ForAll([x], post(x) == z3.And(pre(x), x != i)),
        symbolic.unchanged(*(sym for sym in state if sym != symbolic.CANDIDATE)))


def _with_return_to_follower(data: dict[str, Any], only: bool = False) -> dict[str, Any]:
    """The system with that step added (``only``: as its single action)."""
    extra = {"ReturnToFollower": _return_to_follower(data["state"])}
    return {**data, "actions": extra if only else {**data["actions"], **extra}}


#: raft.tla's symbolic model as published, and with the step it lacks
PUBLISHED = TransitionSystem.from_data(symbolic.log_matching())
TS = TransitionSystem.from_data(_with_return_to_follower(symbolic.log_matching()))


# -- the finite structure of a configuration ---------------------------------------------
def server(i: int) -> str:
    return f"s{i + 1}"


def term(t: int) -> str:
    """raft.tla's term t >= 1 (0 only as the term of index 0); the least, t0, is term 1."""
    return f"t{max(t - 1, 0)}"


def index(k: int) -> str:
    return f"k{k}"  # k0 is i0, "no entry"


def quorum(q: tuple[int, ...]) -> str:
    return "q" + "".join(str(i + 1) for i in q)


class Universe(NamedTuple):
    """Elements of each sort, and the rigid symbols, for n servers and these bounds (one
    more term and index than the bounds allow: successors outside them are checked too).
    Quorums are majorities, whatever the model's rules say (a mutant's smaller quorums
    would break the intersection axiom)."""

    sorts: dict[str, tuple[str, ...]]
    rigid: dict[str, Any]
    quorums: tuple[tuple[int, ...], ...]  # as sets of servers, smallest first


def universe(model: RaftModel) -> Universe:
    cfg = model.config
    n, terms, indexes = cfg.servers, range(1, cfg.max_term + 2), range(cfg.max_log + 2)
    quorums = tuple(q for size in range(majority(n), n + 1)  # any two intersect (an axiom)
                    for q in combinations(range(n), size))
    sorts = {
        "server": tuple(server(i) for i in range(n)),
        "term": tuple(term(t) for t in terms),
        "index": tuple(index(k) for k in indexes),
        "quorum": tuple(quorum(q) for q in quorums),
    }
    rigid = {
        "le": frozenset((term(a), term(b)) for a in terms for b in terms if a <= b),
        "ile": frozenset((index(a), index(b)) for a in indexes for b in indexes if a <= b),
        "member": frozenset((server(i), quorum(q)) for q in quorums for i in q),
        "t0": term(1), "i0": index(0),
    }
    return Universe(sorts, rigid, quorums)


# -- history, carried along a path ---------------------------------------------------------
class History(NamedTuple):
    """What the symbolic model remembers and a state does not (all sets only grow)."""

    rv_request: frozenset = frozenset()  # (candidate, voter, term) of requests ever sent
    rv_grant: frozenset = frozenset()  # (voter, candidate, term) of granted votes
    voted: frozenset = frozenset()  # (voter, term, candidate)
    elected: frozenset = frozenset()  # (leader, term, quorum)
    ae: frozenset = frozenset()  # (prev index, prev term, index, term) of entries sent
    has_entries: frozenset = frozenset()  # terms of entries ever created
    quorum_of: tuple = ()  # per server: the quorum that elected it, while it leads


def advance(h: History, s: State, t: State, quorums: tuple[tuple[int, ...], ...]) -> History:
    """The history after the step s -> t: what t's bag and logs hold is added, and a
    server that became leader is elected with the first quorum of the votes it holds
    (``"q?"``, no quorum, if it holds too few: a mutant's election)."""
    rv_request, rv_grant, voted, ae = set(h.rv_request), set(h.rv_grant), set(h.voted), set(h.ae)
    for m, _ in t.messages:
        src, dst, mterm = server(m.msource), server(m.mdest), term(m.mterm)
        if m.mtype == REQUEST_VOTE_REQUEST:
            rv_request.add((src, dst, mterm))
        elif m.mtype == REQUEST_VOTE_RESPONSE and m.mvote_granted:
            rv_grant.add((src, dst, mterm))
            voted.add((src, mterm, dst))
        elif m.mtype == APPEND_ENTRIES_REQUEST and m.mentries:
            prev = m.mprev_log_index
            ae.add((index(prev), term(m.mprev_log_term), index(prev + 1),
                    term(m.mentries[0][0])))
    entries = {term(e) for log in t.log for e, _ in log}
    quorum_of = list(h.quorum_of or (None,) * len(t.role))
    elected = set(h.elected)
    for i, role in enumerate(t.role):
        if role == LEADER and s.role[i] != LEADER:
            votes = t.votes_granted[i]
            q = next((quorum(q) for q in quorums if all(votes >> k & 1 for k in q)), "q?")
            quorum_of[i] = q
            elected.add((server(i), term(t.current_term[i]), q))
        elif role != LEADER:
            quorum_of[i] = None
    return History(frozenset(rv_request), frozenset(rv_grant), frozenset(voted),
                   frozenset(elected), frozenset(ae), h.has_entries | entries, tuple(quorum_of))


def translate(s: State, h: History) -> dict[str, frozenset]:
    """The state and its history as the symbolic relations, by name."""
    n = len(s.role)
    return {
        "term": frozenset((server(i), term(s.current_term[i])) for i in range(n)),
        "candidate": frozenset((server(i),) for i in range(n) if s.role[i] == CANDIDATE),
        "leader": frozenset((server(i), h.quorum_of[i]) for i in range(n)
                            if s.role[i] == LEADER),
        "voted_for": frozenset((server(i), server(v)) for i, v in enumerate(s.voted_for)
                               if v != NIL),
        "votes_granted": frozenset((server(i), server(j)) for i in range(n) for j in range(n)
                                   if s.votes_granted[i] >> j & 1),
        "rv_request": h.rv_request, "rv_grant": h.rv_grant, "voted": h.voted,
        "elected": h.elected,
        "log": frozenset((server(i), index(k), term(e)) for i, log in enumerate(s.log)
                         for k, (e, _) in enumerate(log, 1)),
        "ae": h.ae, "has_entries": frozenset((x,) for x in h.has_entries),
    }


# -- which symbolic action an explicit step stands for -------------------------------------
def stands_for(label: Any, s: State) -> list[tuple[str, dict[str, str]]]:
    """The symbolic actions an explicit step may be, with the arguments its label fixes
    (a stutter is always allowed besides)."""
    name, params = label[0], dict(label[1])
    if name in ("Restart", "Timeout", "BecomeLeader", "ClientRequest", "AppendEntries"):
        return [(name, {"i": server(params["i"])})]
    if name == "RequestVote":
        return [(name, {"i": server(params["i"]), "j": server(params["j"])})]
    if name != "Receive":
        return []  # AdvanceCommitIndex, DuplicateMessage, DropMessage: stutters
    m = params["m"]
    i, j = server(m.mdest), server(m.msource)
    if m.mterm > s.current_term[m.mdest]:
        return [("UpdateTerm", {"i": i})]
    if m.mtype == REQUEST_VOTE_REQUEST:
        return [("HandleRequestVoteRequest", {"i": i, "j": j})]
    if m.mtype == REQUEST_VOTE_RESPONSE:
        return [("HandleRequestVoteResponse", {"i": i, "j": j})]
    if m.mtype == APPEND_ENTRIES_REQUEST and s.role[m.mdest] == CANDIDATE and \
            m.mterm == s.current_term[m.mdest]:
        return [("ReturnToFollower", {"i": i})]
    if m.mtype == APPEND_ENTRIES_REQUEST:
        return [("HandleAppendEntriesRequest", {"j": i}), ("Truncate", {"j": i})]
    return []  # HandleAppendEntriesResponse: nextIndex and matchIndex are not modelled


class Checker:
    """The symbolic formulas compiled once over a configuration's universe."""

    def __init__(self, model: RaftModel, ts: TransitionSystem = TS) -> None:
        self.model, self.ts, self.u = model, ts, universe(model)
        self.init = self._compile(ts.init)
        self.conjuncts = {k: self._compile(f) for k, f in {**ts.invariant, **ts.safety}.items()}
        self._actions: dict[tuple[str, frozenset[str]], Callable[..., Any]] = {}
        self._steps: dict[tuple, bool] = {}  # symbolic (pre, post, label's actions) -> match
        self._states: dict[tuple, list[str]] = {}  # symbolic image -> broken conjuncts

    def _compile(self, formula: z3.ExprRef) -> Callable[..., Any]:
        return compile_formula(formula, self.u.sorts)

    def action(self, name: str, bound: frozenset[str]) -> Callable[..., Any]:
        """The action's formula with the parameters not in ``bound`` quantified."""
        key = (name, bound)
        if key not in self._actions:
            action = self.ts.actions[name]
            hidden = [p for p in action.params if p.decl().name() not in bound]
            self._actions[key] = self._compile(z3.Exists(hidden, action.formula) if hidden
                                               else action.formula)
        return self._actions[key]

    def axioms_hold(self) -> bool:
        """The universe is a model of the symbolic axioms (total orders, quorums intersect)."""
        return all(self._compile(f)(self.u.rigid, ()) for f in self.ts.axioms.values())

    def initial(self, s: State) -> bool:
        return bool(self.init({**self.u.rigid, **translate(s, History())}, ()))

    def broken(self, s: State, h: History) -> list[str]:
        image = translate(s, h)
        key = tuple(image.values())  # many states have one symbolic image
        if key not in self._states:
            interp = {**self.u.rigid, **image}
            self._states[key] = [k for k, f in self.conjuncts.items() if not f(interp, ())]
        return self._states[key]

    def step_matches(self, s: State, h: History, label: Any, t: State, h2: History) -> bool:
        pre, post = translate(s, h), translate(t, h2)
        if pre == post:
            return True
        actions = stands_for(label, s)
        key = (tuple(pre.values()), tuple(post.values()),
               tuple((name, tuple(args.items())) for name, args in actions))
        if key not in self._steps:  # many explicit steps have one symbolic image
            interp = {**self.u.rigid, **pre, **{k + "'": v for k, v in post.items()}}
            self._steps[key] = any(self.action(name, frozenset(args))({**interp, **args}, ())
                                   for name, args in actions if name in self.ts.actions)
        return self._steps[key]

    def matching_actions(self, s: State, h: History, t: State, h2: History) -> list[str]:
        """Every symbolic action that relates s to t, whatever its arguments."""
        interp = {**self.u.rigid, **translate(s, h),
                  **{k + "'": v for k, v in translate(t, h2).items()}}
        return [name for name in self.ts.actions if self.action(name, frozenset())(interp, ())]


# -- the searches ------------------------------------------------------------------------
Mismatch = tuple[str, Any, Any]  # ("init" | "state" | "step", state, label or conjuncts)


def _expand(checker: Checker, s: State, h: History, bad: list[Mismatch]
            ) -> Iterator[tuple[Any, State, History, bool]]:
    """Check s and every step from it (within the bounds or not); yield each step's
    label, successor, history and whether the successor is within the bounds."""
    broken = checker.broken(s, h)
    if broken:
        bad.append(("state", s, broken))
    for label, t in checker.model.successors(s):
        h2 = advance(h, s, t, checker.u.quorums)
        if not checker.step_matches(s, h, label, t, h2):
            bad.append(("step", s, label))
        yield label, t, h2, checker.model.within_bounds(t)


def crosscheck(model: RaftModel, ts: TransitionSystem = TS, limit: int = 3
               ) -> tuple[int, int, list[Mismatch]]:
    """Every reachable (state, history) pair within the bounds, and every step from it:
    (pairs, steps checked, the first ``limit`` mismatches)."""
    checker = Checker(model, ts)
    (init,) = model.initial_states()
    bad: list[Mismatch] = [] if checker.initial(init) else [("init", init, None)]
    start = (init, History())
    seen, queue, steps = {start}, deque([start]), 0
    while queue and len(bad) < limit:
        s, h = queue.popleft()
        for _, t, h2, inside in _expand(checker, s, h, bad):
            steps += 1
            if inside and (t, h2) not in seen:
                seen.add((t, h2))
                queue.append((t, h2))
    return len(seen), steps, bad[:limit]


def crosscheck_walks(model: RaftModel, seed: int, walks: int, depth: int,
                     ts: TransitionSystem = TS, limit: int = 3) -> tuple[int, list[Mismatch]]:
    """Seeded random walks (each state of a walk and every step from it checked), for
    models too large to search: (states checked, the first ``limit`` mismatches).  A walk
    picks an action name by the model's ``action_weights`` among the steps that move and
    stay within the bounds, then one of its steps (as guided simulation does)."""
    checker = Checker(model, ts)
    rng = random.Random(seed)
    (init,) = model.initial_states()
    bad: list[Mismatch] = [] if checker.initial(init) else [("init", init, None)]
    states = 0
    for _ in range(walks):
        s, h = init, History()
        for _ in range(depth - 1):
            states += 1
            moves: dict[str, list[tuple[State, History]]] = {}
            for label, t, h2, inside in _expand(checker, s, h, bad):
                if inside and t != s:
                    moves.setdefault(label[0], []).append((t, h2))
            if not moves or len(bad) >= limit:
                break
            names = list(moves)
            name = rng.choices(names, [model.action_weights.get(n, 1.0) for n in names])[0]
            s, h = rng.choice(moves[name])
    return states, bad[:limit]


def raft(mutant: str | None = None, **bounds: int) -> RaftModel:
    return SPEC.build({**SPEC.defaults(mutant), **bounds}, mutant, False)


# -- the tests ---------------------------------------------------------------------------
def test_two_servers_every_state_and_step_matches():
    """TLC's model (2 servers, 1 value, terms up to 2, logs of 1 entry, 1 message in
    flight: 1,657 states) with its histories, and every step from each pair."""
    model = raft(servers=2, values=1, max_term=2, max_log=1, max_msgs=1)
    assert Checker(model).axioms_hold() and Checker(raft(servers=3)).axioms_hold()
    pairs, steps, bad = crosscheck(model)
    assert bad == []
    assert (pairs, steps) == (4642, 36036)


@pytest.mark.slow
def test_two_servers_two_messages_every_state_and_step_matches():
    """Two messages in flight: requests and answers overtake each other."""
    pairs, steps, bad = crosscheck(raft(servers=2, values=1, max_term=2, max_log=1, max_msgs=2))
    assert bad == []
    assert (pairs, steps) == (53078, 498516)


@pytest.mark.slow
def test_three_servers_random_walks_match():
    """3 servers, 2 values, terms up to 3, logs of 2 entries, 2 messages in flight."""
    states, bad = crosscheck_walks(raft(servers=3, values=2, max_term=3, max_log=2, max_msgs=2),
                                   seed=1, walks=40, depth=60)
    assert bad == []
    assert states == 2005


# -- the step the published symbolic model lacks ------------------------------------------
#: 3 servers: s2 votes for itself in term 2, s1 wins term 2 with s3's vote and sends s2 an
#: AppendEntries of term 2; s2, a candidate with a vote granted, returns to follower
RETURN_TO_FOLLOWER = [
    "Timeout(i='s1')", "Timeout(i='s2')", "RequestVote(i='s2', j='s2')",
    "Receive(m='RequestVoteRequest(s2->s2, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')",
    "Receive(m='RequestVoteResponse(s2->s2, mterm=2, mvoteGranted=True, mlog=<<>>)')",
    "RequestVote(i='s1', j='s1')",
    "Receive(m='RequestVoteRequest(s1->s1, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')",
    "Receive(m='RequestVoteResponse(s1->s1, mterm=2, mvoteGranted=True, mlog=<<>>)')",
    "RequestVote(i='s1', j='s3')",
    "Receive(m='RequestVoteRequest(s1->s3, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')",
    "Receive(m='RequestVoteRequest(s1->s3, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')",
    "Receive(m='RequestVoteResponse(s3->s1, mterm=2, mvoteGranted=True, mlog=<<>>)')",
    "BecomeLeader(i='s1')", "AppendEntries(i='s1', j='s2')",
    "Receive(m='AppendEntriesRequest(s1->s2, mterm=2, mprevLogIndex=0, mprevLogTerm=0, "
    "mentries=<<>>, mlog=<<>>, mcommitIndex=0)')",
]


def _replay(model: RaftModel, steps: list[str], quorums: tuple) -> list[tuple[Any, State, History]]:
    """(label, state, history) along the steps, each found by its printed label."""
    from quorum.model_checker.model import format_label

    (s,) = model.initial_states()
    path = [(None, s, History())]
    for text in steps:
        (label, t), = [(lab, t) for lab, t in model.successors(s) if format_label(lab, model) == text]
        path.append((label, t, advance(path[-1][2], s, t, quorums)))
        s = t
    return path


def test_a_candidate_returning_to_follower_is_no_step_of_the_published_model():
    """Found by this cross-check: raft.tla's HandleAppendEntriesRequest makes a candidate
    of the request's term a follower, keeping its votes; ``symbolic.py`` has no such step
    (Restart would forget the votes, UpdateTerm needs a higher term)."""
    model = raft(servers=3, values=1, max_term=2, max_log=0, max_msgs=1)
    published, extended = Checker(model, PUBLISHED), Checker(model, TS)
    path = _replay(model, RETURN_TO_FOLLOWER, published.u.quorums)
    (_, s, h), (label, t, h2) = path[-2:]
    assert s.role[1] == CANDIDATE and s.votes_granted[1] == 0b010 and t.role[1] != CANDIDATE
    assert published.matching_actions(s, h, t, h2) == []
    assert not published.step_matches(s, h, label, t, h2)
    assert extended.matching_actions(s, h, t, h2) == ["ReturnToFollower"]
    assert all(extended.step_matches(s, h, label, t, h2)
               for (_, s, h), (label, t, h2) in zip(path, path[1:], strict=False))


@pytest.mark.parametrize("make", [symbolic.election_safety, symbolic.log_matching])
def test_the_missing_step_keeps_the_published_invariants_inductive(make):
    """So the published proofs (``quorum prove raft``, ``raft-log``) still hold of raft.tla:
    the step only makes a candidate a follower, which breaks no conjunct."""
    proof = prove(_with_return_to_follower(make(), only=True))
    assert proof.ok, [c for c in proof.checks if c.result != "proved"]


# -- drift is noticed ------------------------------------------------------------------------
@pytest.mark.parametrize("mutant, action", [
    ("ceil-quorum", "BecomeLeader"),  # a leader without a majority: no quorum elects it
    ("forget-vote", "Restart"),  # symbolic Restart keeps votedFor
    ("follower-writes", "ClientRequest"),  # symbolic ClientRequest needs a leader
])
def test_a_drifted_explicit_model_is_caught(mutant, action):
    _, _, bad = crosscheck(raft(mutant, max_log=min(SPEC.defaults(mutant)["max_log"], 1)),
                           limit=1)
    assert bad and bad[0][0] == "step" and bad[0][2][0] == action


def test_a_drifted_symbolic_model_is_caught():
    """HandleRequestVoteRequest that forgets to record the vote in ``voted``."""
    sym = symbolic
    drifted = z3.And(
        sym.rv_request(sym.j, sym.i, sym.t), sym.term(sym.i, sym.t),
        z3.ForAll([sym.x], z3.Implies(sym.voted_for(sym.i, sym.x), sym.x == sym.j)),
        z3.ForAll([sym.x, sym.y], sym.VOTED_FOR[1](sym.x, sym.y) ==
                  z3.If(sym.x == sym.i, sym.y == sym.j, sym.voted_for(sym.x, sym.y))),
        sym.insert(sym.RV_GRANT, sym.i, sym.j, sym.t),
        sym.unchanged(*(x for x in sym.LOG_STATE if x not in (sym.VOTED_FOR, sym.RV_GRANT))))
    data = _with_return_to_follower(symbolic.log_matching())
    data["actions"]["HandleRequestVoteRequest"] = ((sym.i, sym.j, sym.t), drifted)
    _, _, bad = crosscheck(raft(servers=2, values=1, max_term=2, max_log=0, max_msgs=1),
                           TransitionSystem.from_data(data), limit=1)
    assert bad and bad[0][0] == "step" and bad[0][2][0] == "Receive"
    assert bad[0][2][1][0][1].mtype == REQUEST_VOTE_REQUEST
