"""The properties of Paxos.tla: its ``Inv``, Voting.tla's ``Inv``, and Agreement.

Each property is a function of the state alone, named as in
:mod:`quorum.spec.paxos.fast.properties` (which computes the same ones on bit sets).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from quorum.spec.paxos.config import Config
from quorum.spec.paxos.tla.state import (
    MSG_1A,
    MSG_1B,
    MSG_2A,
    MSG_2B,
    Message,
    Msg1a,
    Msg1b,
    Msg2a,
    Msg2b,
    PaxosState,
)

__all__ = ["chosen", "invariants", "reachability", "votes"]

Vote = tuple[int, int, int]  # (acceptor, ballot, value)


def votes(s: PaxosState) -> set[Vote]:
    """``votes`` of Paxos.tla: the (acceptor, ballot, value) of every 2b message."""
    return {(m.acc, m.bal, m.val) for m in s.msgs if isinstance(m, Msg2b)}


def chosen(cfg: Config, s: PaxosState) -> set[int]:
    """Values some quorum has voted for in one ballot (Voting.tla's ``chosen``)."""
    vs = votes(s)
    return {
        v
        for (_, b, v) in vs
        if any(all((a, b, v) in vs for a in q) for q in cfg.quorum_sets())
    }


def _type_ok(cfg: Config, s: PaxosState) -> bool:
    n, bals, vals = cfg.acceptors, range(-1, cfg.max_ballot + 1), range(-1, cfg.values)
    arrays_ok = all(len(x) == n for x in (s.maxBal, s.maxVBal, s.maxVal)) and all(
        b in bals and vb in bals and v in vals
        for b, vb, v in zip(s.maxBal, s.maxVBal, s.maxVal, strict=True)
    )
    return arrays_ok and all(_message_ok(cfg, m) for m in s.msgs)


def _message_ok(cfg: Config, m: Message) -> bool:
    """m is in Paxos.tla's ``Message``: a record of one of the four types, fields in range."""
    bals, vals, accs = range(cfg.max_ballot + 1), range(cfg.values), range(cfg.acceptors)
    if isinstance(m, Msg1a):
        return m.type == MSG_1A and m.bal in bals
    if isinstance(m, Msg1b):
        return (m.type == MSG_1B and m.acc in accs and m.bal in bals
                and (m.mbal == -1 and m.mval == -1 or m.mbal in bals and m.mval in vals))
    if isinstance(m, Msg2a):
        return m.type == MSG_2A and m.bal in bals and m.val in vals
    return (isinstance(m, Msg2b) and m.type == MSG_2B and m.acc in accs and m.bal in bals
            and m.val in vals)


def _acc_inv(cfg: Config, s: PaxosState) -> bool:
    for a in range(cfg.acceptors):
        if s.maxVBal[a] == -1:
            if s.maxVal[a] != -1:
                return False
        elif Msg2b(MSG_2B, a, s.maxVBal[a], s.maxVal[a]) not in s.msgs:
            return False
    return True


def _shows_safe_at(s: PaxosState, vs: set[Vote], q: frozenset[int], b: int, v: int) -> bool:
    """Voting.tla's ShowsSafeAt(Q, b, v): Q promised b, and some c < b is the last ballot
    below b in which a member of Q voted, for v (or no member voted below b: c = -1)."""
    if any(s.maxBal[a] < b for a in q):
        return False
    for c in range(-1, b):
        if c != -1 and not any((a, c, v) in vs for a in q):
            continue
        if all(not any(x == a and y == d for (x, y, _) in vs) for d in range(c + 1, b) for a in q):
            return True
    return False


def _msg_inv(cfg: Config, s: PaxosState) -> bool:
    vs = votes(s)
    proposal: dict[int, int] = {}
    for m in s.msgs:
        if isinstance(m, Msg1b):
            if s.maxBal[m.acc] < m.bal or (m.mbal >= 0 and (m.acc, m.mbal, m.mval) not in vs):
                return False
        elif isinstance(m, Msg2a):
            if proposal.setdefault(m.bal, m.val) != m.val:
                return False
            if not any(_shows_safe_at(s, vs, q, m.bal, m.val) for q in cfg.quorum_sets()):
                return False
    return True


def _votes_safe(cfg: Config, s: PaxosState) -> bool:
    """Every vote (a, b, v) is safe: for each c < b some quorum has voted v at c or can no
    longer vote at c (promised a higher ballot, and did not vote at c)."""
    vs = votes(s)
    voted_at = {(a, b) for (a, b, _) in vs}
    for (_, b, v) in vs:
        for c in range(b):
            if not any(
                all((a, c, v) in vs or (s.maxBal[a] > c and (a, c) not in voted_at) for a in q)
                for q in cfg.quorum_sets()
            ):
                return False
    return True


def _one_value_per_ballot(cfg: Config, s: PaxosState) -> bool:
    seen: dict[int, int] = {}
    return all(seen.setdefault(b, v) == v for (_, b, v) in votes(s))


def _agreement(cfg: Config, s: PaxosState) -> bool:
    return len(chosen(cfg, s)) <= 1


_INVARIANTS: dict[str, Callable[[Config, PaxosState], bool]] = {
    "Agreement": _agreement,
    "TypeOK": _type_ok,
    "AccInv": _acc_inv,
    "MsgInv": _msg_inv,
    "VotesSafe": _votes_safe,
    "OneValuePerBallot": _one_value_per_ballot,
}


def invariants(cfg: Config) -> dict[str, Callable[[PaxosState], bool]]:
    return {name: functools.partial(f, cfg) for name, f in _INVARIANTS.items()}


def reachability(cfg: Config) -> dict[str, Callable[[PaxosState], bool]]:
    """"Sometimes" properties: a spec that can never choose a value is broken."""
    return {"ValueChosen": lambda s: bool(chosen(cfg, s))}
