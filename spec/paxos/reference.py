"""Single-decree Paxos, following Lamport's Paxos.tla action for action: the version to READ.

This module is the reference: one state variable per TLA+ variable, ``msgs`` a frozenset
of message tuples, each action a guard and an update.  ``spec.py`` is the same state
machine in a bit-set encoding that the checker runs ten times faster;
``tests/spec/paxos/test_encodings.py`` checks that the two have the same reachable
states and the same labelled steps, so what you read here is what is checked.

State: per acceptor ``maxBal`` (highest ballot promised), ``maxVBal``/``maxVal`` (the
vote with the highest ballot it cast, -1/-1 if none), and ``msgs``, the set of every
message ever sent.  Because ``msgs`` only grows, loss, delay, duplication and
reordering come for free: a message may be received any number of times, or never.

Messages are int tuples, tagged by type:
``(0, b)`` 1a; ``(1, a, b, mbal, mval)`` 1b; ``(2, b, v)`` 2a; ``(3, a, b, v)`` 2b.

Roles: proposers run Phase1a and Phase2a (the ballot's leader), acceptors run Phase1b
and Phase2b, and learners are implicit: a value is *chosen* when a quorum of
acceptors has voted for it in one ballot (see ``properties.chosen``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import NamedTuple

from quorum.spec.paxos.config import Config, acceptor_name, value_name

__all__ = ["MSG_1A", "MSG_1B", "MSG_2A", "MSG_2B", "PaxosState", "ReferenceModel", "chosen",
           "initial_state", "invariants", "successors", "votes"]

MSG_1A, MSG_1B, MSG_2A, MSG_2B = 0, 1, 2, 3

Label = tuple[str, tuple[tuple[str, object], ...]]


class PaxosState(NamedTuple):
    maxBal: tuple[int, ...]
    maxVBal: tuple[int, ...]
    maxVal: tuple[int, ...]
    msgs: frozenset[tuple[int, ...]]


def initial_state(cfg: Config) -> PaxosState:
    """Init: no promises, no votes, no messages."""
    none = (-1,) * cfg.acceptors
    return PaxosState(none, none, none, frozenset())


def _set(t: tuple[int, ...], i: int, x: int) -> tuple[int, ...]:
    return t[:i] + (x,) + t[i + 1:]


class _Index(NamedTuple):
    """One pass over ``msgs``, shared by every action enabled in a state."""

    ballots_1a: list[int]  # sorted
    promises: dict[int, dict[int, tuple[int, int]]]  # b -> a -> (mbal, mval) from 1b msgs
    ballots_2a: set[int]
    proposals: list[tuple[int, int]]  # sorted (b, v) of 2a msgs


def _index(msgs: frozenset[tuple[int, ...]]) -> _Index:
    ones, promises, twos, proposals = [], {}, set(), []  # type: ignore[var-annotated]
    for m in msgs:
        t = m[0]
        if t == MSG_1A:
            ones.append(m[1])
        elif t == MSG_1B:
            promises.setdefault(m[2], {})[m[1]] = (m[3], m[4])
        elif t == MSG_2A:
            twos.add(m[1])
            proposals.append((m[1], m[2]))
    ones.sort()
    proposals.sort()
    return _Index(ones, promises, twos, proposals)


def phase1a(cfg: Config, s: PaxosState, b: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase1a(b): a proposer asks the acceptors to join ballot b (sends 1a)."""
    yield ("Phase1a", (("b", b),)), s._replace(msgs=s.msgs | {(MSG_1A, b)})


def phase1b(cfg: Config, s: PaxosState, ix: _Index, a: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase1b(a): acceptor a promises a higher ballot and reports its latest vote (1b)."""
    for b in ix.ballots_1a:
        if b > s.maxBal[a]:
            m = (MSG_1B, a, b, s.maxVBal[a], s.maxVal[a])
            yield (("Phase1b", (("a", acceptor_name(a)), ("b", b))),
                   s._replace(maxBal=_set(s.maxBal, a, b), msgs=s.msgs | {m}))


def safe_values(cfg: Config, ix: _Index, b: int) -> set[int] | None:
    """Values Phase2a may propose in ballot b: ``None`` when no quorum has promised b.

    For a quorum Q whose members all sent 1b for b: if none of them reported a vote,
    any value is safe; otherwise the value of the highest-ballot vote reported.
    """
    promised = ix.promises.get(b)
    if promised is None:
        return None
    allowed: set[int] | None = None
    for q in cfg.quorum_sets():
        if not all(a in promised for a in q):
            continue
        allowed = allowed if allowed is not None else set()
        reported = [promised[a] for a in q if promised[a][0] >= 0]
        if not reported or cfg.mutant == "ignore-1b-votes":
            return set(range(cfg.values))
        top = max(mbal for mbal, _ in reported)
        allowed.update(mval for mbal, mval in reported if mbal == top)
    return allowed


def phase2a(cfg: Config, s: PaxosState, ix: _Index, b: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase2a(b, v): with 1b messages from a quorum, propose a safe value in ballot b (2a)."""
    if b in ix.ballots_2a:
        return
    allowed = safe_values(cfg, ix, b)
    if not allowed:
        return
    for v in range(cfg.values):
        if v in allowed:
            yield (("Phase2a", (("b", b), ("v", value_name(v)))),
                   s._replace(msgs=s.msgs | {(MSG_2A, b, v)}))


def phase2b(cfg: Config, s: PaxosState, ix: _Index, a: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase2b(a): acceptor a votes for a 2a proposal of a ballot it has not promised to skip."""
    buggy = cfg.mutant == "vote-below-promise"  # ignores its promise, keeps the highest one
    for b, v in ix.proposals:
        if b >= s.maxBal[a] or buggy:
            promise = max(b, s.maxBal[a])
            yield (("Phase2b", (("a", acceptor_name(a)), ("b", b), ("v", value_name(v)))),
                   PaxosState(_set(s.maxBal, a, promise), _set(s.maxVBal, a, b),
                              _set(s.maxVal, a, v), s.msgs | {(MSG_2B, a, b, v)}))


def successors(cfg: Config, s: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
    """Next, in Paxos.tla's order: for each ballot Phase1a and Phase2a; for each acceptor
    Phase1b and Phase2b."""
    ix = _index(s.msgs)
    for b in cfg.ballots:
        yield from phase1a(cfg, s, b)
        yield from phase2a(cfg, s, ix, b)
    for a in range(cfg.acceptors):
        yield from phase1b(cfg, s, ix, a)
        yield from phase2b(cfg, s, ix, a)


# -- properties (Paxos.tla's Inv, Voting.tla's Inv, and Agreement) ----------------------
Vote = tuple[int, int, int]  # (acceptor, ballot, value)


def votes(s: PaxosState) -> set[Vote]:
    """``votes`` of Paxos.tla: the (acceptor, ballot, value) of every 2b message."""
    return {(m[1], m[2], m[3]) for m in s.msgs if m[0] == MSG_2B}


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


def _message_ok(cfg: Config, m: tuple[int, ...]) -> bool:
    bals, vals, accs = range(cfg.max_ballot + 1), range(cfg.values), range(cfg.acceptors)
    if m[0] == MSG_1A:
        return len(m) == 2 and m[1] in bals
    if m[0] == MSG_1B:
        return (len(m) == 5 and m[1] in accs and m[2] in bals
                and (m[3] == -1 and m[4] == -1 or m[3] in bals and m[4] in vals))
    if m[0] == MSG_2A:
        return len(m) == 3 and m[1] in bals and m[2] in vals
    return len(m) == 4 and m[0] == MSG_2B and m[1] in accs and m[2] in bals and m[3] in vals


def _acc_inv(cfg: Config, s: PaxosState) -> bool:
    for a in range(cfg.acceptors):
        if s.maxVBal[a] == -1:
            if s.maxVal[a] != -1:
                return False
        elif (MSG_2B, a, s.maxVBal[a], s.maxVal[a]) not in s.msgs:
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
        if m[0] == MSG_1B:
            _, a, b, mbal, mval = m
            if s.maxBal[a] < b or (mbal >= 0 and (a, mbal, mval) not in vs):
                return False
        elif m[0] == MSG_2A:
            _, b, v = m
            if proposal.setdefault(b, v) != v:
                return False
            if not any(_shows_safe_at(s, vs, q, b, v) for q in cfg.quorum_sets()):
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


class ReferenceModel:
    """The reference spec as a checker model (no symmetry; for reading and cross-checks)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.name = "paxos-reference"
        self.invariants = invariants(cfg)
        self.action_properties: dict[str, Callable[..., bool]] = {}
        self.reachability = reachability(cfg)
        self.canonicalize = None
        self.view = None

    def initial_states(self) -> Iterator[PaxosState]:
        yield initial_state(self.cfg)

    def successors(self, s: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
        return successors(self.cfg, s)

    def within_bounds(self, s: PaxosState) -> bool:
        return True

    def render(self, s: PaxosState) -> dict[str, object]:
        from quorum.spec.paxos.config import acceptor_name, value_name

        accs = [acceptor_name(a) for a in range(self.cfg.acceptors)]
        return {"maxBal": dict(zip(accs, s.maxBal, strict=True)),
                "maxVBal": dict(zip(accs, s.maxVBal, strict=True)),
                "maxVal": {a: value_name(v) for a, v in zip(accs, s.maxVal, strict=True)},
                "msgs": s.msgs}
