"""The decisions of MultiPaxos.tla that the known Multi-Paxos bugs get wrong, as a table.

The actions (:mod:`quorum.spec.multipaxos.tla.actions`) follow Guanzhou Hu's
MultiPaxos.tla (tlaplus/Examples, ``specifications/MultiPaxos-SMR``) except at the few
places where a known bug lives: there they ask a :class:`Rules` object.  :data:`MULTIPAXOS`
holds the reference's own answers; each mutant in :mod:`quorum.spec.multipaxos.mutants`
swaps one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from quorum.spec.common import majority

__all__ = ["MULTIPAXOS", "Rules", "Vote", "peak_voted", "recovers"]

#: ``(bal, cmd)``: the vote one replica reports for one slot in its PrepareReply
#: (``(0, 0)``: it has not voted in that slot)
Vote = tuple[int, int]


def peak_voted(votes: Sequence[Vote]) -> tuple[int, ...]:
    """The commands a new leader may re-propose in a slot whose PrepareReplies reported
    ``votes``: the command of the highest-ballot vote, or 0 (nil) when nobody voted
    (MultiPaxos.tla's ``PeakVotedCmd``; Paxos Made Simple, phase 2a).  One candidate:
    the correct rule leaves the leader no choice."""
    top = max(votes)
    return (top[1] if top[0] > 0 else 0,)


def recovers(own_status: int) -> bool:
    """Whether a new leader takes the PrepareReplies into account for a slot whose own
    instance has this status: always (phase 1 covers every slot at once)."""
    return True


@dataclass(frozen=True)
class Rules:
    """The bug-prone decisions: the quorum size (for n replicas), which slots phase 1
    recovers, which reported vote recovery keeps, and whether a leader may execute past
    a hole in its log."""

    quorum_size: Callable[[int], int] = majority
    recovers: Callable[[int], bool] = recovers
    recovery: Callable[[Sequence[Vote]], tuple[int, ...]] = peak_voted
    executes_holes: bool = False


MULTIPAXOS = Rules()
