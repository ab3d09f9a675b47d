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
``election_safety()`` is that system.

``log_matching()`` adds the log part and proves Log Matching (Figure 3: two logs that
hold an entry with the same index and term are identical up to that index).  Extra
sorts and state: ``index`` (totally ordered, least ``i0``: "no entry"), ``log(s, k, t)``
(server s's entry at index k has term t; values are left out, so "identical" means
identical terms), ``ae(p, pt, k, te)`` (an AppendEntries request carrying entry (k, te)
after (p, pt), whoever sent it to whomever), and the ghost ``has_entries(t)`` (an entry
of term t was ever created).  ``leader(s, q)`` remembers the quorum that elected s (a
ghost argument: it keeps every query in EPR).  Actions: ``ClientRequest`` (the leader
appends an entry of its term), ``AppendEntries`` (the leader sends one entry and its
predecessor), ``HandleAppendEntriesRequest`` (a non-leader whose log matches the
predecessor and ends there appends the entry; the message's term is not checked, an
over-approximation), and ``Truncate`` (a non-leader drops a suffix of its log: raft.tla
drops one conflicting entry at a time, so this over-approximates it too).
"""

from __future__ import annotations

from typing import Any

import z3

from quorum.spec import symbolic
from quorum.spec.symbolic import insert, remove_row, state, unchanged

__all__ = ["CONJUNCTS", "LOG_CONJUNCTS", "election_safety", "log_matching"]

Server = z3.DeclareSort("server")
Term = z3.DeclareSort("term")
Index = z3.DeclareSort("index")
Quorum = z3.DeclareSort("quorum")
Bool = z3.BoolSort()

le = z3.Function("le", Term, Term, Bool)
ile = z3.Function("ile", Index, Index, Bool)
member = z3.Function("member", Server, Quorum, Bool)
t0 = z3.Const("t0", Term)  # the first term (raft.tla: 1)
i0 = z3.Const("i0", Index)  # index 0: before the first entry

TERM = state("term", Server, Term, Bool)
CANDIDATE = state("candidate", Server, Bool)
LEADER = state("leader", Server, Quorum, Bool)
VOTED_FOR = state("voted_for", Server, Server, Bool)
VOTES_GRANTED = state("votes_granted", Server, Server, Bool)
RV_REQUEST = state("rv_request", Server, Server, Term, Bool)
RV_GRANT = state("rv_grant", Server, Server, Term, Bool)
VOTED = state("voted", Server, Term, Server, Bool)
ELECTED = state("elected", Server, Term, Quorum, Bool)
ELECTION_STATE = (TERM, CANDIDATE, LEADER, VOTED_FOR, VOTES_GRANTED, RV_REQUEST, RV_GRANT,
                  VOTED, ELECTED)
LOG = state("log", Server, Index, Term, Bool)
AE = state("ae", Index, Term, Index, Term, Bool)
HAS_ENTRIES = state("has_entries", Term, Bool)
LOG_STATE = (*ELECTION_STATE, LOG, AE, HAS_ENTRIES)

term, candidate, leader = TERM[0], CANDIDATE[0], LEADER[0]
voted_for, votes_granted = VOTED_FOR[0], VOTES_GRANTED[0]
rv_request, rv_grant, voted, elected = RV_REQUEST[0], RV_GRANT[0], VOTED[0], ELECTED[0]
log, ae, has_entries = LOG[0], AE[0], HAS_ENTRIES[0]

i, j, x, y, s1, s2 = z3.Consts("i j x y s1 s2", Server)
t, t2, u, tm, te, pt, pt2 = z3.Consts("t t2 u tm te pt pt2", Term)
k, k2, p, p2, last, m = z3.Consts("k k2 p p2 last m", Index)
q, q1, q2 = z3.Consts("q q1 q2", Quorum)
lu = z3.Const("lu", Term)

Symbols = tuple[tuple[z3.FuncDeclRef, z3.FuncDeclRef], ...]


def lt(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    return symbolic.lt(le, a, b)


def ilt(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    return symbolic.lt(ile, a, b)


def succ(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    """b is the index right after a."""
    return z3.And(ilt(a, b), z3.ForAll([m], z3.Not(z3.And(ilt(a, m), ilt(m, b)))))


def _set_term(new: z3.ExprRef) -> z3.BoolRef:
    """``currentTerm' = [currentTerm EXCEPT ![i] = new]``."""
    pre, post = TERM
    return z3.ForAll([x, u], post(x, u) == z3.If(x == i, u == new, pre(x, u)))


def _set_flag(symbol: tuple[z3.FuncDeclRef, z3.FuncDeclRef], value: bool) -> z3.BoolRef:
    pre, post = symbol
    return z3.ForAll([x], post(x) == z3.If(x == i, z3.BoolVal(value), pre(x)))


def _not_leader(s: z3.ExprRef) -> z3.BoolRef:
    return z3.ForAll([q], z3.Not(leader(s, q)))


def _log_ends_before(s: z3.ExprRef, index: z3.ExprRef) -> z3.BoolRef:
    """Server s has no entry at ``index`` or beyond."""
    return z3.ForAll([k2, u], z3.Implies(ile(index, k2), z3.Not(log(s, k2, u))))


AXIOMS = {
    **symbolic.total_order(le, t0),
    **symbolic.quorums_intersect(member),
}
LOG_AXIOMS = {**AXIOMS, **{"index_" + k: f for k, f in symbolic.total_order(ile, i0).items()}}

INIT = z3.And(
    z3.ForAll([x, u], term(x, u) == (u == t0)),
    z3.ForAll([x, q], z3.And(z3.Not(candidate(x)), z3.Not(leader(x, q)))),
    z3.ForAll([x, y], z3.And(z3.Not(voted_for(x, y)), z3.Not(votes_granted(x, y)))),
    z3.ForAll([x, y, u], z3.And(z3.Not(rv_request(x, y, u)), z3.Not(rv_grant(x, y, u)),
                                z3.Not(voted(x, u, y)))),
    z3.ForAll([x, u, q], z3.Not(elected(x, u, q))),
)
LOG_INIT = z3.And(
    INIT, z3.ForAll([x, k, u], z3.Not(log(x, k, u))),
    z3.ForAll([p, pt, k, te], z3.Not(ae(p, pt, k, te))), z3.ForAll([u], z3.Not(has_entries(u))))


def election_actions(all_state: Symbols) -> dict[str, tuple[tuple[z3.ExprRef, ...], z3.BoolRef]]:
    """raft.tla's voting actions; every symbol of ``all_state`` not written is unchanged."""

    def others(*changed: tuple[z3.FuncDeclRef, z3.FuncDeclRef]) -> z3.BoolRef:
        return unchanged(*(sym for sym in all_state if sym not in changed))

    return {
        # Restart(i): i restarts from stable storage (currentTerm, votedFor, log kept).
        "Restart": ((i,), z3.And(
            _set_flag(CANDIDATE, False), remove_row(LEADER, i), remove_row(VOTES_GRANTED, i),
            others(CANDIDATE, LEADER, VOTES_GRANTED))),
        # Timeout(i): a follower or candidate starts an election in a higher term t2.
        "Timeout": ((i, t, t2), z3.And(
            term(i, t), _not_leader(i), lt(t, t2),
            _set_term(t2), _set_flag(CANDIDATE, True), remove_row(VOTED_FOR, i),
            remove_row(VOTES_GRANTED, i),
            others(TERM, CANDIDATE, VOTED_FOR, VOTES_GRANTED))),
        # RequestVote(i, j): candidate i asks j for its vote in i's term t.
        "RequestVote": ((i, j, t), z3.And(
            candidate(i), term(i, t), insert(RV_REQUEST, i, j, t), others(RV_REQUEST))),
        # UpdateTerm(i): i sees a higher term tm and steps down to follower in it.
        "UpdateTerm": ((i, t, tm), z3.And(
            term(i, t), lt(t, tm),
            _set_term(tm), _set_flag(CANDIDATE, False), remove_row(LEADER, i),
            remove_row(VOTED_FOR, i),
            others(TERM, CANDIDATE, LEADER, VOTED_FOR))),
        # HandleRequestVoteRequest(i, j): i, in j's term t, grants its vote to j unless it
        # voted for another server in t (the log check, logOk, is left free).
        "HandleRequestVoteRequest": ((i, j, t), z3.And(
            rv_request(j, i, t), term(i, t),
            z3.ForAll([x], z3.Implies(voted_for(i, x), x == j)),
            z3.ForAll([x, y], VOTED_FOR[1](x, y) == z3.If(x == i, y == j, voted_for(x, y))),
            insert(RV_GRANT, i, j, t), insert(VOTED, i, t, j),
            others(VOTED_FOR, RV_GRANT, VOTED))),
        # HandleRequestVoteResponse(i, j): i, in term t, counts j's granted vote.
        "HandleRequestVoteResponse": ((i, j, t), z3.And(
            rv_grant(j, i, t), term(i, t), insert(VOTES_GRANTED, i, j),
            others(VOTES_GRANTED))),
        # BecomeLeader(i): candidate i holds the votes of a quorum q in its term t.
        "BecomeLeader": ((i, t, q), z3.And(
            candidate(i), term(i, t),
            z3.ForAll([x], z3.Implies(member(x, q), votes_granted(i, x))),
            _set_flag(CANDIDATE, False), insert(LEADER, i, q), insert(ELECTED, i, t, q),
            others(CANDIDATE, LEADER, ELECTED))),
    }


def log_actions() -> dict[str, tuple[tuple[z3.ExprRef, ...], z3.BoolRef]]:
    """raft.tla's log replication, as far as Log Matching needs it."""

    def others(*changed: tuple[z3.FuncDeclRef, z3.FuncDeclRef]) -> z3.BoolRef:
        return unchanged(*(sym for sym in LOG_STATE if sym not in changed))

    return {
        # ClientRequest(i): leader i appends an entry of its term t after its last entry.
        "ClientRequest": ((i, q, t, last, lu, k), z3.And(
            leader(i, q), term(i, t), z3.Or(last == i0, log(i, last, lu)), succ(last, k),
            _log_ends_before(i, k),
            insert(LOG, i, k, t), insert(HAS_ENTRIES, t), others(LOG, HAS_ENTRIES))),
        # AppendEntries(i, j): leader i sends its entry (k, te) and the one before it.
        "AppendEntries": ((i, q, t, p, pt, k, te), z3.And(
            leader(i, q), term(i, t), log(i, k, te), succ(p, k),
            z3.Or(z3.And(p == i0, pt == t0), log(i, p, pt)),
            insert(AE, p, pt, k, te), others(AE))),
        # HandleAppendEntriesRequest(j): a non-leader whose log holds (p, pt) and ends
        # there appends (k, te).
        "HandleAppendEntriesRequest": ((j, p, pt, k, te), z3.And(
            ae(p, pt, k, te), _not_leader(j), z3.Or(p == i0, log(j, p, pt)),
            _log_ends_before(j, k),
            insert(LOG, j, k, te), others(LOG))),
        # Truncate(j): a non-leader drops its entries from index k on (a conflict).
        "Truncate": ((j, k), z3.And(
            _not_leader(j),
            z3.ForAll([x, k2, u], LOG[1](x, k2, u) == z3.And(
                log(x, k2, u), z3.Not(z3.And(x == j, ile(k, k2))))),
            others(LOG))),
    }


ELECTION_SAFETY = z3.ForAll([s1, s2, t, q1, q2], z3.Implies(
    z3.And(elected(s1, t, q1), elected(s2, t, q2)), s1 == s2))
LOG_MATCHING = z3.ForAll([s1, s2, k, t, k2, u], z3.Implies(
    z3.And(log(s1, k, t), log(s2, k, t), ile(k2, k), log(s1, k2, u)), log(s2, k2, u)))

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

#: the conjuncts Log Matching needs on top of the election's
LOG_CONJUNCTS: dict[str, tuple[z3.BoolRef, str]] = {
    "leader_elected": (
        z3.ForAll([x, q, t], z3.Implies(z3.And(leader(x, q), term(x, t)), elected(x, t, q))),
        "a leader was elected in its current term by its quorum"),
    "elected_not_candidate": (
        z3.ForAll([x, t, q], z3.Implies(z3.And(elected(x, t, q), term(x, t)),
                                        z3.Not(candidate(x)))),
        "a server elected in its current term is not a candidate again"),
    "elected_not_in_future": (
        z3.ForAll([x, t, q, u], z3.Implies(z3.And(elected(x, t, q), term(x, u)), le(t, u))),
        "a server was elected only in its current term or earlier ones"),
    "log_functional": (
        z3.ForAll([x, k, t, u], z3.Implies(z3.And(log(x, k, t), log(x, k, u)), t == u)),
        "one entry per index"),
    "no_entry_at_zero": (
        z3.ForAll([x, t], z3.Not(log(x, i0, t))),
        "indices of entries start after i0"),
    "log_matching": (LOG_MATCHING, "Log Matching itself"),
    "ae_follows": (
        z3.ForAll([p, pt, k, te], z3.Implies(ae(p, pt, k, te), z3.And(
            succ(p, k), z3.Implies(p == i0, pt == t0)))),
        "an AppendEntries entry comes right after its predecessor (i0 with term t0)"),
    "ae_prev_in_logs": (
        z3.ForAll([p, pt, k, te, x], z3.Implies(
            z3.And(ae(p, pt, k, te), log(x, k, te), p != i0), log(x, p, pt))),
        "every log holding a sent entry holds the predecessor sent with it"),
    "ae_prev_unique": (
        z3.ForAll([p, pt, p2, pt2, k, te], z3.Implies(
            z3.And(ae(p, pt, k, te), ae(p2, pt2, k, te)), pt == pt2)),
        "all AppendEntries with one entry agree on its predecessor's term"),
    "leader_has_term_entries": (
        z3.ForAll([x, q, t, y, k], z3.Implies(z3.And(leader(x, q), term(x, t), log(y, k, t)),
                                              log(x, k, t))),
        "the leader of term t holds every entry of term t"),
    "ae_entry_with_leader": (
        z3.ForAll([p, pt, k, te, x, q], z3.Implies(
            z3.And(ae(p, pt, k, te), leader(x, q), term(x, te)), log(x, k, te))),
        "the leader of term te holds every sent entry of term te"),
    "entries_marked": (
        z3.ForAll([x, k, t, p, pt, te], z3.And(
            z3.Implies(log(x, k, t), has_entries(t)),
            z3.Implies(ae(p, pt, k, te), has_entries(te)))),
        "entries in logs and messages are recorded in has_entries"),
    "entries_have_leader": (
        z3.ForAll([t], z3.Implies(has_entries(t), z3.Exists([x, q], elected(x, t, q)))),
        "entries of term t exist only once someone was elected in t"),
}


def _system(name: str, axioms: dict[str, z3.BoolRef], init: z3.BoolRef, state: Symbols,
            actions: dict[str, Any], conjuncts: dict[str, tuple[z3.BoolRef, str]],
            safety: dict[str, z3.BoolRef], sorts: tuple[z3.SortRef, ...]) -> dict[str, Any]:
    rigid = [le, member, t0.decl()]
    if Index in sorts:
        rigid += [ile, i0.decl()]
    return {
        "name": name, "sorts": sorts, "rigid": tuple(rigid), "state": state,
        "axioms": axioms, "init": init, "actions": actions,
        "invariant": {n: f for n, (f, _) in conjuncts.items()}, "safety": safety,
        "display": {"server": "s", "term": "t", "quorum": "q", "index": "k"},
        "orders": {"term": le, "index": ile},
    }


def election_safety() -> dict[str, Any]:
    """Election Safety for every number of servers and terms (plain data for the engine)."""
    return _system("raft", AXIOMS, INIT, ELECTION_STATE, election_actions(ELECTION_STATE),
                   CONJUNCTS, {"ElectionSafety": ELECTION_SAFETY}, (Server, Term, Quorum))


def log_matching() -> dict[str, Any]:
    """Log Matching (with Election Safety) for every number of servers, terms and indices."""
    return _system("raft-log", LOG_AXIOMS, LOG_INIT, LOG_STATE,
                   {**election_actions(LOG_STATE), **log_actions()},
                   {**CONJUNCTS, **LOG_CONJUNCTS},
                   {"ElectionSafety": ELECTION_SAFETY, "LogMatching": LOG_MATCHING},
                   (Server, Term, Index, Quorum))
