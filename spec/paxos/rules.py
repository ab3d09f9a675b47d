"""The decisions of Paxos.tla that the known Paxos bugs get wrong, as a table.

The actions of both encodings (:mod:`quorum.spec.paxos.tla.actions`,
:mod:`quorum.spec.paxos.fast.actions`) and the quorum system of
:class:`~quorum.spec.paxos.config.Config` follow Paxos.tla, except at the few places where
a known bug lives: there they ask a :class:`Rules` object.  :data:`PAXOS` holds
Paxos.tla's own answers; each mutant in :mod:`quorum.spec.paxos.mutants` swaps one, so
the difference between the correct protocol and a bug is a single, named function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from quorum.spec.common import majority

__all__ = ["PAXOS", "Report", "Rules", "may_vote", "proposable"]

#: ``(mbal, mval)``: the vote an acceptor reports in its 1b message
Report = tuple[int, int]


def proposable(reported: Sequence[Report], v: int) -> bool:
    """Phase2a may propose v to a quorum whose 1b messages reported these votes: any
    value when they reported none, else the value of the highest-ballot vote reported
    (Paxos Made Simple, phase 2a; Paxos.tla's ``Q1bv``)."""
    if not reported:
        return True
    top = max(mbal for mbal, _ in reported)
    return any(mbal == top and mval == v for mbal, mval in reported)


def may_vote(max_bal: int, b: int) -> bool:
    """An acceptor that promised ``max_bal`` votes in ballot b only if b is not below
    its promise (Paxos Made Simple, phase 2b; Paxos.tla's ``m.bal >= maxBal[a]``)."""
    return b >= max_bal


@dataclass(frozen=True)
class Rules:
    """The bug-prone decisions: the quorum size (for n acceptors), Phase2a's choice of
    value, Phase2b's guard."""

    quorum_size: Callable[[int], int] = majority
    proposable: Callable[[Sequence[Report], int], bool] = proposable
    may_vote: Callable[[int, int], bool] = may_vote


PAXOS = Rules()
