"""Single-decree Paxos as a symbolic transition system (z3py data), for proofs of all sizes.

The protocol is the one of Lamport's ``Paxos.tla`` (and of ``spec/paxos/tla/``),
seen through relations only, so that every query stays in the decidable EPR fragment
(no function from acceptors to ballots, whose cycle with the invariant's existential
would send z3's model search into a loop):

* ``left(a, r)`` holds when ``r < maxBal[a]``: the acceptor has left ballot ``r``;
* one relation per message type: ``msg1a(b)``, ``msg1b(a, b)``, ``msg2a(b, v)``,
  ``msg2b(a, b, v)`` (the set of messages ever sent only grows);
* ``maxVBal``/``maxVal`` and the vote a 1b message reports are not state here: they
  are the acceptor's highest vote, which ``msg2b`` records, and Phase2a reads it
  there (the cross-validation test checks that this agrees with the explicit spec
  on every reachable state of the reference instance).

Nothing is bounded: acceptors, ballots, values and quorums are uninterpreted sorts,
so a proof holds for every number of each.  Following Padon et al., "Paxos Made EPR"
(OOPSLA 2017):

* ballots are totally ordered by ``le``; ``neg`` is the least ballot and plays
  ``Paxos.tla``'s ``-1`` (no ballot yet); ``none`` is the value ``None``;
* quorums are a sort with a membership relation and one axiom, that any two
  quorums share a member (majorities are one model of it, but so is every
  other intersecting family: the proof covers them all);
* the invariant is a list of named, universally quantified conjuncts, except
  ``choosable`` which has one existential (section 5 of the paper: a value
  other than a proposal's is not choosable at an earlier ballot).

``system()`` returns the plain data the engine in ``quorum.model_checker.symbolic.induction``
consumes.  Action parameters are named after the explicit spec's label parameters
(``a``, ``b``, ``v``); Phase2a's quorum ``q`` is the one parameter a label omits.
"""

from __future__ import annotations

from typing import Any

import z3

from quorum.spec import symbolic
from quorum.spec.symbolic import insert, state, unchanged

__all__ = ["CONJUNCTS", "system"]

Acceptor = z3.DeclareSort("acceptor")
Ballot = z3.DeclareSort("ballot")
Value = z3.DeclareSort("value")
Quorum = z3.DeclareSort("quorum")
Bool = z3.BoolSort()

le = z3.Function("le", Ballot, Ballot, Bool)
member = z3.Function("member", Acceptor, Quorum, Bool)
neg = z3.Const("neg", Ballot)  # Paxos.tla's -1: "no ballot"
none = z3.Const("none", Value)  # Paxos.tla's None: "no value"


LEFT = state("left", Acceptor, Ballot, Bool)  # left(a, r): r < maxBal[a]
MSG_1A = state("msg1a", Ballot, Bool)
MSG_1B = state("msg1b", Acceptor, Ballot, Bool)  # acc, bal (the report is abstracted)
MSG_2A = state("msg2a", Ballot, Value, Bool)
MSG_2B = state("msg2b", Acceptor, Ballot, Value, Bool)
STATE = (LEFT, MSG_1A, MSG_1B, MSG_2A, MSG_2B)

left = LEFT[0]
msg1a, msg1b, msg2a, msg2b = MSG_1A[0], MSG_1B[0], MSG_2A[0], MSG_2B[0]

a, a0 = z3.Consts("a a0", Acceptor)
b, b1, b2, mb0 = z3.Consts("b b1 b2 mb0", Ballot)
v, v1, v2 = z3.Consts("v v1 v2", Value)
q, q1, q2 = z3.Consts("q q1 q2", Quorum)
A, B, V = z3.Const("A", Acceptor), z3.Const("B", Ballot), z3.Const("V", Value)


def lt(x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
    return symbolic.lt(le, x, y)


def leave_below(ballot: z3.ExprRef) -> z3.BoolRef:
    """Acceptor ``a`` sets ``maxBal`` to ``ballot``: it has now left every lower ballot."""
    return symbolic.gain_below(LEFT, a, ballot, le)


# -- the protocol: Paxos.tla's four actions ---------------------------------------

AXIOMS = {
    **symbolic.total_order(le, neg),
    **symbolic.quorums_intersect(member),
}

INIT = z3.And(
    z3.ForAll([a, b], z3.Not(left(a, b))),
    z3.ForAll([b], z3.Not(msg1a(b))),
    z3.ForAll([a, b], z3.Not(msg1b(a, b))),
    z3.ForAll([b, v], z3.Not(msg2a(b, v))),
    z3.ForAll([a, b, v], z3.Not(msg2b(a, b, v))),
)

# Phase1a(b): a proposer asks acceptors to join ballot b (Paxos Made Simple, phase 1a).
PHASE_1A = z3.And(b != neg, insert(MSG_1A, b), unchanged(LEFT, MSG_1B, MSG_2A, MSG_2B))

# Phase1b(a, b): acceptor a promises ballot b > maxBal[a] (phase 1b); "b > maxBal[a]"
# is "a has not left some ballot below b".  The 1b message's report of a's last vote is
# abstracted away: it is a's highest vote below b, and Phase2a reads it from msg2b.
PHASE_1B = z3.And(
    msg1a(b), z3.Exists([b1], z3.And(lt(b1, b), z3.Not(left(a, b1)))),
    leave_below(b), insert(MSG_1B, a, b),
    unchanged(MSG_1A, MSG_2A, MSG_2B))

# Phase2a(b, v): with 1b messages from a quorum q, propose v for ballot b, where v is
# the value of the highest vote below b cast by a member of q, or any value if there is
# none (phase 2a).  In Paxos.tla the proposer reads those votes from the 1b reports;
# every member of q has left the ballots below b, so the reports still equal the votes
# (Padon et al., "Paxos Made EPR", section 5, use the same formulation).
_VOTED_BELOW = z3.And(member(A, q), lt(B, b), msg2b(A, B, V))
PHASE_2A = z3.And(
    b != neg, v != none, z3.ForAll([V], z3.Not(msg2a(b, V))),
    z3.ForAll([A], z3.Implies(member(A, q), msg1b(A, b))),
    z3.Or(z3.ForAll([A, B, V], z3.Not(_VOTED_BELOW)),
          z3.Exists([a0, mb0], z3.And(member(a0, q), lt(mb0, b), msg2b(a0, mb0, v),
                                      z3.ForAll([A, B, V], z3.Implies(_VOTED_BELOW,
                                                                      le(B, mb0)))))),
    insert(MSG_2A, b, v),
    unchanged(LEFT, MSG_1A, MSG_1B, MSG_2B))

# Phase2b(a, b, v): acceptor a votes for the proposal (b, v) unless it promised a
# higher ballot, i.e. unless it has left b (phase 2b); maxBal[a] becomes b.
PHASE_2B = z3.And(
    msg2a(b, v), z3.Not(left(a, b)),
    leave_below(b), insert(MSG_2B, a, b, v),
    unchanged(MSG_1A, MSG_1B, MSG_2A))

ACTIONS = {
    "Phase1a": ((b,), PHASE_1A),
    "Phase1b": ((a, b), PHASE_1B),
    "Phase2a": ((b, v, q), PHASE_2A),
    "Phase2b": ((a, b, v), PHASE_2B),
}

# -- Agreement and its inductive invariant -----------------------------------------


def chosen_at(value: z3.ExprRef, ballot: z3.ExprRef, quorum: z3.ExprRef) -> z3.BoolRef:
    """Every member of ``quorum`` voted for ``value`` in ``ballot``."""
    return z3.ForAll([A], z3.Implies(member(A, quorum), msg2b(A, ballot, value)))


SAFETY = {
    "Agreement": z3.ForAll([v1, v2, b1, b2, q1, q2], z3.Implies(
        z3.And(chosen_at(v1, b1, q1), chosen_at(v2, b2, q2)), v1 == v2)),
}

#: name -> (conjunct, one line saying why it holds); the names are what --drop takes
CONJUNCTS: dict[str, tuple[z3.BoolRef, str]] = {
    "proposal_real": (
        z3.ForAll([b, v], z3.Implies(msg2a(b, v), z3.And(b != neg, v != none))),
        "2a messages carry a real ballot and a real value (redundant for the proof; it "
        "keeps counterexamples to induction free of proposals at ballot -1)"),
    "one_proposal_per_ballot": (
        z3.ForAll([b, v1, v2], z3.Implies(z3.And(msg2a(b, v1), msg2a(b, v2)), v1 == v2)),
        "at most one 2a message per ballot"),
    "votes_are_proposed": (
        z3.ForAll([a, b, v], z3.Implies(msg2b(a, b, v), msg2a(b, v))),
        "an acceptor votes only for a proposal"),
    "one_b_left_below": (
        z3.ForAll([a, b, b1], z3.Implies(z3.And(msg1b(a, b), lt(b1, b)), left(a, b1))),
        "an acceptor that sent 1b for b has left every ballot below b"),
    "choosable": (
        z3.ForAll([b1, b2, v1, v2, q], z3.Implies(
            z3.And(msg2a(b2, v2), lt(b1, b2), v1 != v2),
            z3.Exists([a], z3.And(member(a, q), left(a, b1),
                                  z3.Not(msg2b(a, b1, v1)))))),
        "below a proposal (b2, v2), no other value v1 is choosable: every quorum has a "
        "member that left b1 without voting v1"),
}

INVARIANT = {name: formula for name, (formula, _) in CONJUNCTS.items()}


def system() -> dict[str, Any]:
    """The symbolic system as plain data for ``quorum.model_checker.symbolic.induction.prove``."""
    return {
        "name": "paxos",
        "sorts": (Acceptor, Ballot, Value, Quorum),
        "rigid": (le, member, neg.decl(), none.decl()),
        "state": STATE,
        "axioms": AXIOMS,
        "init": INIT,
        "actions": ACTIONS,
        "invariant": INVARIANT,
        "safety": SAFETY,
        "display": {"acceptor": "a", "ballot": "b", "value": "v", "quorum": "q"},
        "orders": {"ballot": le},
    }
