"""Raft's leader election as a symbolic transition system (z3py data): Election Safety.

The voting part of Ongaro's ``raft.tla`` (github ongardie/raft.tla), for every number
of servers and terms: servers, terms and quorums are uninterpreted sorts; terms are
totally ordered with a least element ``t0`` (raft.tla's initial term 1); quorums have
a membership relation and the intersection axiom (majorities are one model of it).

State (relations only, so that every query stays in the decidable EPR fragment):

* ``term(s, t)``: ``currentTerm[s] = t``;  ``candidate(s)``, ``leader(s)``: ``state[s]``;
* ``voted_for(s, x)``: ``votedFor[s] = x`` (no tuple: ``Nil``);
* ``votes_granted(s, x)``: ``x \\in votesGranted[s]``;
* ``rv_request(i, j, t)`` / ``rv_grant(j, i, t)``: RequestVote requests and granting
  responses ever sent (a set: raft.tla's bag with duplication and loss allowed);
* history, like raft.tla's ``elections`` and ``voterLog``: ``voted(x, t, s)`` (x
  granted its vote to s in term t) and ``elected(s, t, q)`` (s became leader in t,
  with the votes of quorum q).

The model over-approximates raft.tla's voting part, which is sound for safety:
``Timeout`` may jump to any higher term (raft.tla: ``currentTerm + 1``), ``UpdateTerm``
may adopt any higher term at any time (it covers the AppendEntries messages of the log
part, not modelled here), the log check of a vote (``logOk``) is left free, and denied
votes and ``votesResponded`` (which only disable steps) are dropped.

Election Safety (Raft paper, Figure 3): at most one leader is elected in a term.
"""

from __future__ import annotations

from typing import Any

import z3

from spec import symbolic
from spec.symbolic import insert, remove_row, state, unchanged

__all__ = ["CONJUNCTS", "election_safety"]

Server = z3.DeclareSort("server")
Term = z3.DeclareSort("term")
Quorum = z3.DeclareSort("quorum")
Bool = z3.BoolSort()

le = z3.Function("le", Term, Term, Bool)
member = z3.Function("member", Server, Quorum, Bool)
t0 = z3.Const("t0", Term)  # the first term (raft.tla: 1)

TERM = state("term", Server, Term, Bool)
CANDIDATE = state("candidate", Server, Bool)
LEADER = state("leader", Server, Bool)
VOTED_FOR = state("voted_for", Server, Server, Bool)
VOTES_GRANTED = state("votes_granted", Server, Server, Bool)
RV_REQUEST = state("rv_request", Server, Server, Term, Bool)
RV_GRANT = state("rv_grant", Server, Server, Term, Bool)
VOTED = state("voted", Server, Term, Server, Bool)
ELECTED = state("elected", Server, Term, Quorum, Bool)
STATE = (TERM, CANDIDATE, LEADER, VOTED_FOR, VOTES_GRANTED, RV_REQUEST, RV_GRANT, VOTED,
         ELECTED)
ALL = STATE

term, candidate, leader = TERM[0], CANDIDATE[0], LEADER[0]
voted_for, votes_granted = VOTED_FOR[0], VOTES_GRANTED[0]
rv_request, rv_grant, voted, elected = RV_REQUEST[0], RV_GRANT[0], VOTED[0], ELECTED[0]

i, j, x, y, s1, s2 = z3.Consts("i j x y s1 s2", Server)
t, t2, u, tm = z3.Consts("t t2 u tm", Term)
q, q1, q2 = z3.Consts("q q1 q2", Quorum)


def lt(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    return symbolic.lt(le, a, b)


def _others(*changed: tuple[z3.FuncDeclRef, z3.FuncDeclRef]) -> z3.BoolRef:
    return unchanged(*(sym for sym in ALL if sym not in changed))


def _set_term(new: z3.ExprRef) -> z3.BoolRef:
    """``currentTerm' = [currentTerm EXCEPT ![i] = new]``."""
    pre, post = TERM
    return z3.ForAll([x, u], post(x, u) == z3.If(x == i, u == new, pre(x, u)))


def _set_flag(symbol: tuple[z3.FuncDeclRef, z3.FuncDeclRef], value: bool) -> z3.BoolRef:
    pre, post = symbol
    return z3.ForAll([x], post(x) == z3.If(x == i, z3.BoolVal(value), pre(x)))


AXIOMS = {
    **symbolic.total_order(le, t0),
    "quorum_intersection": z3.ForAll([q1, q2], z3.Exists([x], z3.And(member(x, q1),
                                                                     member(x, q2)))),
}

INIT = z3.And(
    z3.ForAll([x, u], term(x, u) == (u == t0)),
    z3.ForAll([x], z3.And(z3.Not(candidate(x)), z3.Not(leader(x)))),
    z3.ForAll([x, y], z3.And(z3.Not(voted_for(x, y)), z3.Not(votes_granted(x, y)))),
    z3.ForAll([x, y, u], z3.And(z3.Not(rv_request(x, y, u)), z3.Not(rv_grant(x, y, u)),
                                z3.Not(voted(x, u, y)))),
    z3.ForAll([x, u, q], z3.Not(elected(x, u, q))),
)

# Restart(i): server i restarts from stable storage (currentTerm, votedFor kept).
RESTART = z3.And(_set_flag(CANDIDATE, False), _set_flag(LEADER, False),
                 remove_row(VOTES_GRANTED, i),
                 _others(CANDIDATE, LEADER, VOTES_GRANTED))

# Timeout(i): a follower or candidate starts an election in a higher term t2.
TIMEOUT = z3.And(
    term(i, t), z3.Not(leader(i)), lt(t, t2),
    _set_term(t2), _set_flag(CANDIDATE, True), remove_row(VOTED_FOR, i),
    remove_row(VOTES_GRANTED, i),
    _others(TERM, CANDIDATE, VOTED_FOR, VOTES_GRANTED))

# RequestVote(i, j): candidate i asks j for its vote in i's term t.
REQUEST_VOTE = z3.And(candidate(i), term(i, t), insert(RV_REQUEST, i, j, t),
                      _others(RV_REQUEST))

# UpdateTerm(i): i sees a higher term tm and steps down to follower in it.
UPDATE_TERM = z3.And(
    term(i, t), lt(t, tm),
    _set_term(tm), _set_flag(CANDIDATE, False), _set_flag(LEADER, False),
    remove_row(VOTED_FOR, i),
    _others(TERM, CANDIDATE, LEADER, VOTED_FOR))

# HandleRequestVoteRequest(i, j): i, in j's term t, grants its vote to j unless it voted
# for another server in t (the log check, logOk, is left free).
GRANT_VOTE = z3.And(
    rv_request(j, i, t), term(i, t), z3.ForAll([x], z3.Implies(voted_for(i, x), x == j)),
    z3.ForAll([x, y], VOTED_FOR[1](x, y) == z3.If(x == i, y == j, voted_for(x, y))),
    insert(RV_GRANT, i, j, t), insert(VOTED, i, t, j),
    _others(VOTED_FOR, RV_GRANT, VOTED))

# HandleRequestVoteResponse(i, j): i, in term t, counts j's granted vote.
COUNT_VOTE = z3.And(rv_grant(j, i, t), term(i, t), insert(VOTES_GRANTED, i, j),
                    _others(VOTES_GRANTED))

# BecomeLeader(i): candidate i holds the votes of a quorum q in its term t.
BECOME_LEADER = z3.And(
    candidate(i), term(i, t), z3.ForAll([x], z3.Implies(member(x, q), votes_granted(i, x))),
    _set_flag(CANDIDATE, False), _set_flag(LEADER, True), insert(ELECTED, i, t, q),
    _others(CANDIDATE, LEADER, ELECTED))

ACTIONS = {
    "Restart": ((i,), RESTART),
    "Timeout": ((i, t, t2), TIMEOUT),
    "RequestVote": ((i, j, t), REQUEST_VOTE),
    "UpdateTerm": ((i, t, tm), UPDATE_TERM),
    "HandleRequestVoteRequest": ((i, j, t), GRANT_VOTE),
    "HandleRequestVoteResponse": ((i, j, t), COUNT_VOTE),
    "BecomeLeader": ((i, t, q), BECOME_LEADER),
}

SAFETY = {
    "ElectionSafety": z3.ForAll([s1, s2, t, q1, q2], z3.Implies(
        z3.And(elected(s1, t, q1), elected(s2, t, q2)), s1 == s2)),
}

#: name -> (conjunct, one line saying why it holds); the names are what --drop takes
CONJUNCTS: dict[str, tuple[z3.BoolRef, str]] = {
    "one_term": (
        z3.ForAll([x, t, t2], z3.Implies(z3.And(term(x, t), term(x, t2)), t == t2)),
        "a server has one current term"),
    "vote_not_in_future": (
        z3.ForAll([x, t, y, u], z3.Implies(z3.And(voted(x, t, y), term(x, u)), le(t, u))),
        "a server has voted only in its current term or earlier ones"),
    "vote_remembered": (
        z3.ForAll([x, t, y], z3.Implies(z3.And(voted(x, t, y), term(x, t)), voted_for(x, y))),
        "in the term of its vote, a server's votedFor is the server it voted for"),
    "one_vote_per_term": (
        z3.ForAll([x, t, s1, s2], z3.Implies(z3.And(voted(x, t, s1), voted(x, t, s2)),
                                             s1 == s2)),
        "a server votes for at most one server in a term"),
    "grant_is_vote": (
        z3.ForAll([x, y, t], z3.Implies(rv_grant(x, y, t), voted(x, t, y))),
        "a granting response records a vote"),
    "granted_is_vote": (
        z3.ForAll([x, y, t], z3.Implies(z3.And(candidate(x), term(x, t),
                                               votes_granted(x, y)), voted(y, t, x))),
        "a candidate's granted votes were cast for it in its current term"),
    "elected_by_quorum": (
        z3.ForAll([x, t, q, y], z3.Implies(z3.And(elected(x, t, q), member(y, q)),
                                           voted(y, t, x))),
        "a leader of term t was voted for in t by every member of its quorum"),
}

INVARIANT = {name: formula for name, (formula, _) in CONJUNCTS.items()}


def election_safety() -> dict[str, Any]:
    """The symbolic system as plain data for ``model_checker.induction.prove``."""
    return {
        "name": "raft",
        "sorts": (Server, Term, Quorum),
        "rigid": (le, member, t0.decl()),
        "state": STATE,
        "axioms": AXIOMS,
        "init": INIT,
        "actions": ACTIONS,
        "invariant": INVARIANT,
        "safety": SAFETY,
        "display": {"server": "s", "term": "t", "quorum": "q"},
        "orders": {"term": le},
    }
