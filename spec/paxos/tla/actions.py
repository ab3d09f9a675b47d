"""The actions of Paxos.tla, each a guard and an update, and ``Next``.

Each action yields its successor states (none when disabled), labelled with Paxos.tla's
action name and every choice it made, e.g. ``Phase2a(b=1, v='v1')``.  One pass over
``msgs`` (:class:`_Index`) is shared by every action enabled in a state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from quorum.spec.paxos.config import Config, acceptor_name, value_name
from quorum.spec.paxos.tla.state import (
    MSG_1A,
    MSG_1B,
    MSG_2A,
    MSG_2B,
    Label,
    Message,
    Msg1a,
    Msg1b,
    Msg2a,
    Msg2b,
    PaxosState,
)

__all__ = ["phase1a", "phase1b", "phase2a", "phase2b", "safe_values", "successors"]


def _set(t: tuple[int, ...], i: int, x: int) -> tuple[int, ...]:
    return t[:i] + (x,) + t[i + 1:]


class _Index(NamedTuple):
    """One pass over ``msgs``, shared by every action enabled in a state."""

    ballots_1a: list[int]  # sorted
    promises: dict[int, dict[int, Msg1b]]  # b -> a -> the 1b message of a for b
    ballots_2a: set[int]
    proposals: list[tuple[int, int]]  # sorted (b, v) of 2a msgs


def _index(msgs: frozenset[Message]) -> _Index:
    ones: list[int] = []
    promises: dict[int, dict[int, Msg1b]] = {}
    twos: set[int] = set()
    proposals: list[tuple[int, int]] = []
    for m in msgs:
        if isinstance(m, Msg1a):
            ones.append(m.bal)
        elif isinstance(m, Msg1b):
            promises.setdefault(m.bal, {})[m.acc] = m
        elif isinstance(m, Msg2a):
            twos.add(m.bal)
            proposals.append((m.bal, m.val))
    ones.sort()
    proposals.sort()
    return _Index(ones, promises, twos, proposals)


def phase1a(cfg: Config, s: PaxosState, b: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase1a(b): a proposer asks the acceptors to join ballot b (sends 1a)."""
    yield ("Phase1a", (("b", b),)), s._replace(msgs=s.msgs | {Msg1a(MSG_1A, b)})


def phase1b(cfg: Config, s: PaxosState, ix: _Index, a: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase1b(a): acceptor a promises a higher ballot and reports its latest vote (1b)."""
    for b in ix.ballots_1a:
        if b > s.maxBal[a]:
            m = Msg1b(MSG_1B, a, b, s.maxVBal[a], s.maxVal[a])
            yield (("Phase1b", (("a", acceptor_name(a)), ("b", b))),
                   s._replace(maxBal=_set(s.maxBal, a, b), msgs=s.msgs | {m}))


def safe_values(cfg: Config, ix: _Index, b: int) -> set[int] | None:
    """Values Phase2a may propose in ballot b: ``None`` when no quorum has promised b.

    For a quorum Q whose members all sent 1b for b, the values the rules allow given the
    votes they reported (``rules.proposable``: with none reported any value, otherwise
    the value of the highest-ballot vote reported).
    """
    promised = ix.promises.get(b)
    if promised is None:
        return None
    proposable = cfg.rules.proposable
    allowed: set[int] | None = None
    for q in cfg.quorum_sets():
        if not all(a in promised for a in q):
            continue
        allowed = allowed if allowed is not None else set()
        reported = [(promised[a].mbal, promised[a].mval) for a in q if promised[a].mbal >= 0]
        allowed.update(v for v in range(cfg.values) if proposable(reported, v))
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
                   s._replace(msgs=s.msgs | {Msg2a(MSG_2A, b, v)}))


def phase2b(cfg: Config, s: PaxosState, ix: _Index, a: int) -> Iterator[tuple[Label, PaxosState]]:
    """Phase2b(a): acceptor a votes for a 2a proposal of a ballot it has not promised to
    skip (``rules.may_vote``); its promise becomes that ballot, or stays if higher."""
    may_vote = cfg.rules.may_vote
    for b, v in ix.proposals:
        if may_vote(s.maxBal[a], b):
            promise = max(b, s.maxBal[a])
            yield (("Phase2b", (("a", acceptor_name(a)), ("b", b), ("v", value_name(v)))),
                   PaxosState(_set(s.maxBal, a, promise), _set(s.maxVBal, a, b),
                              _set(s.maxVal, a, v), s.msgs | {Msg2b(MSG_2B, a, b, v)}))


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
