"""Multi-Paxos as a symbolic transition system (z3py data): per-slot agreement for every
number of replicas, ballots, slots and commands.

The state is MultiPaxos.tla's seen through relations only (the EPR style of
``quorum.spec.paxos.symbolic``, after Padon et al., "Paxos Made EPR", OOPSLA 2017), with
a sort of slots added to phase 2 and nothing added to phase 1, which is the point of
Multi-Paxos: one Prepare and one PrepareReply per ballot cover every slot.

* ``left(r, b)``: replica ``r`` has seen a ballot above ``b`` (``b < balMaxKnown``);
* ``prepare(b)``, ``prepare_reply(r, b)``: phase 1, once per ballot for all slots (the
  votes a PrepareReply reports are abstracted: they are the replica's highest votes
  below ``b`` in each slot, which ``accept_reply`` records, as in the Paxos proof);
* ``accept(b, s, c)``, ``accept_reply(r, b, s, c)``: phase 2, per slot (the reference's
  AcceptReply names the ballot and slot; the command is the one of the ballot's Accept
  for that slot, added here to keep the relations flat).

Actions, named after the explicit spec's: ``BecomeLeader(b)`` (the Prepare; the
reference's own PrepareReply is a ``HandlePrepare`` of the leader), ``HandlePrepare(r,
b)``, ``Propose(b, s, c, q)`` (phase 2a in one slot: ``HandlePrepareReplies`` for a slot
with a reported vote, ``TakeNewRequest`` for a slot without, both after a quorum ``q`` of
PrepareReplies), ``HandleAccept(r, b, s, c)``.  Commits are not state: a command is
chosen in a slot when a quorum voted for it in one ballot, and executing only reads
that.  Replicas, ballots, slots, commands and quorums are uninterpreted sorts; quorums
satisfy the one axiom that any two share a member.
"""

from __future__ import annotations

from typing import Any

import z3

from quorum.spec import symbolic
from quorum.spec.symbolic import insert, state, unchanged

__all__ = ["CONJUNCTS", "system"]

Replica = z3.DeclareSort("replica")
Ballot = z3.DeclareSort("ballot")
Slot = z3.DeclareSort("slot")
Command = z3.DeclareSort("command")
Quorum = z3.DeclareSort("quorum")
Bool = z3.BoolSort()

le = z3.Function("le", Ballot, Ballot, Bool)
member = z3.Function("member", Replica, Quorum, Bool)
zero = z3.Const("zero", Ballot)  # MultiPaxos.tla's ballot 0: "no vote"

LEFT = state("left", Replica, Ballot, Bool)
PREPARE = state("prepare", Ballot, Bool)
PREPARE_REPLY = state("prepare_reply", Replica, Ballot, Bool)
ACCEPT = state("accept", Ballot, Slot, Command, Bool)
ACCEPT_REPLY = state("accept_reply", Replica, Ballot, Slot, Command, Bool)
STATE = (LEFT, PREPARE, PREPARE_REPLY, ACCEPT, ACCEPT_REPLY)

left = LEFT[0]
prepare, prepare_reply, accept, accept_reply = (PREPARE[0], PREPARE_REPLY[0], ACCEPT[0],
                                                ACCEPT_REPLY[0])

r, r0 = z3.Consts("r r0", Replica)
b, b1, b2, mb0 = z3.Consts("b b1 b2 mb0", Ballot)
s = z3.Const("s", Slot)
c, c1, c2 = z3.Consts("c c1 c2", Command)
q, q1, q2 = z3.Consts("q q1 q2", Quorum)
R, B, C = z3.Const("R", Replica), z3.Const("B", Ballot), z3.Const("C", Command)


def lt(x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
    return symbolic.lt(le, x, y)


def leave_below(ballot: z3.ExprRef) -> z3.BoolRef:
    """Replica ``r`` sets ``balMaxKnown`` to ``ballot``: it leaves every lower ballot."""
    return symbolic.gain_below(LEFT, r, ballot, le)


AXIOMS = {
    **symbolic.total_order(le, zero),
    **symbolic.quorums_intersect(member),
}

INIT = z3.And(
    z3.ForAll([r, b], z3.Not(left(r, b))),
    z3.ForAll([b], z3.Not(prepare(b))),
    z3.ForAll([r, b], z3.Not(prepare_reply(r, b))),
    z3.ForAll([b, s, c], z3.Not(accept(b, s, c))),
    z3.ForAll([r, b, s, c], z3.Not(accept_reply(r, b, s, c))),
)

# BecomeLeader(b): a Prepare for a fresh ballot, for every slot at once.
BECOME_LEADER = z3.And(b != zero, insert(PREPARE, b),
                       unchanged(LEFT, PREPARE_REPLY, ACCEPT, ACCEPT_REPLY))

# HandlePrepare(r, b): r joins b, above every ballot it has seen (b > balMaxKnown).
HANDLE_PREPARE = z3.And(
    prepare(b), z3.Exists([b1], z3.And(lt(b1, b), z3.Not(left(r, b1)))),
    leave_below(b), insert(PREPARE_REPLY, r, b),
    unchanged(PREPARE, ACCEPT, ACCEPT_REPLY))

# Propose(b, s, c, q): with PrepareReplies of b from a quorum q, the leader proposes c in
# slot s: the command of the highest-ballot vote its quorum reported in s
# (HandlePrepareReplies' PeakVotedCmd), or, when none was reported, a new request
# (TakeNewRequest).  One proposal per ballot and slot.
_VOTED_BELOW = z3.And(member(R, q), lt(B, b), accept_reply(R, B, s, C))
PROPOSE = z3.And(
    b != zero, z3.ForAll([C], z3.Not(accept(b, s, C))),
    z3.ForAll([R], z3.Implies(member(R, q), prepare_reply(R, b))),
    z3.Or(z3.ForAll([R, B, C], z3.Not(_VOTED_BELOW)),
          z3.Exists([r0, mb0], z3.And(member(r0, q), lt(mb0, b), accept_reply(r0, mb0, s, c),
                                      z3.ForAll([R, B, C], z3.Implies(_VOTED_BELOW,
                                                                      le(B, mb0)))))),
    insert(ACCEPT, b, s, c),
    unchanged(LEFT, PREPARE, PREPARE_REPLY, ACCEPT_REPLY))

# HandleAccept(r, b, s, c): r votes for the proposal unless it has seen a higher ballot.
HANDLE_ACCEPT = z3.And(
    accept(b, s, c), z3.Not(left(r, b)),
    leave_below(b), insert(ACCEPT_REPLY, r, b, s, c),
    unchanged(PREPARE, PREPARE_REPLY, ACCEPT))

ACTIONS = {
    "BecomeLeader": ((b,), BECOME_LEADER),
    "HandlePrepare": ((r, b), HANDLE_PREPARE),
    "Propose": ((b, s, c, q), PROPOSE),
    "HandleAccept": ((r, b, s, c), HANDLE_ACCEPT),
}


def chosen_at(cmd: z3.ExprRef, ballot: z3.ExprRef, slot: z3.ExprRef,
              quorum: z3.ExprRef) -> z3.BoolRef:
    """Every member of ``quorum`` voted for ``cmd`` in ``slot`` in ``ballot``."""
    return z3.ForAll([R], z3.Implies(member(R, quorum), accept_reply(R, ballot, slot, cmd)))


SAFETY = {
    "Agreement": z3.ForAll([c1, c2, b1, b2, s, q1, q2], z3.Implies(
        z3.And(chosen_at(c1, b1, s, q1), chosen_at(c2, b2, s, q2)), c1 == c2)),
}

#: name -> (conjunct, one line saying why it holds); the names are what --drop takes
CONJUNCTS: dict[str, tuple[z3.BoolRef, str]] = {
    "proposal_real": (
        z3.ForAll([b, s, c], z3.Implies(accept(b, s, c), b != zero)),
        "Accepts carry a real ballot (redundant for the proof; it keeps counterexamples to "
        "induction free of proposals at ballot 0)"),
    "one_proposal_per_slot": (
        z3.ForAll([b, s, c1, c2], z3.Implies(z3.And(accept(b, s, c1), accept(b, s, c2)),
                                             c1 == c2)),
        "at most one Accept per ballot and slot"),
    "votes_are_proposed": (
        z3.ForAll([r, b, s, c], z3.Implies(accept_reply(r, b, s, c), accept(b, s, c))),
        "a replica votes only for a proposal"),
    "replied_left_below": (
        z3.ForAll([r, b, b1], z3.Implies(z3.And(prepare_reply(r, b), lt(b1, b)), left(r, b1))),
        "a replica that sent a PrepareReply for b has left every ballot below b"),
    "choosable": (
        z3.ForAll([b1, b2, s, c1, c2, q], z3.Implies(
            z3.And(accept(b2, s, c2), lt(b1, b2), c1 != c2),
            z3.Exists([r], z3.And(member(r, q), left(r, b1),
                                  z3.Not(accept_reply(r, b1, s, c1)))))),
        "below a proposal (b2, s, c2), no other command c1 is choosable in slot s: every "
        "quorum has a member that left b1 without voting c1 there"),
}

INVARIANT = {name: formula for name, (formula, _) in CONJUNCTS.items()}


def system() -> dict[str, Any]:
    """The symbolic system as plain data for ``quorum.model_checker.symbolic.induction.prove``."""
    return {
        "name": "multipaxos",
        "sorts": (Replica, Ballot, Slot, Command, Quorum),
        "rigid": (le, member, zero.decl()),
        "state": STATE,
        "axioms": AXIOMS,
        "init": INIT,
        "actions": ACTIONS,
        "invariant": INVARIANT,
        "safety": SAFETY,
        "display": {"replica": "s", "ballot": "b", "slot": "i", "command": "c", "quorum": "q"},
        "orders": {"ballot": le},
    }
