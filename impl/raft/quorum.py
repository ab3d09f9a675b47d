"""Quorum arithmetic for majority and joint configurations (etcd-raft's ``quorum``).

A majority of ``n`` voters is ``n // 2 + 1`` (not ``ceil(n / 2)``, which is too small for
even ``n``).  A joint configuration ``(incoming, outgoing)`` (Raft paper, section 6) needs a
majority of each half; an empty outgoing half agrees with anything, so a plain
configuration is the joint configuration ``(voters, ())``.

All functions are pure and take plain collections; they never see a Raft instance.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import Enum

__all__ = ["VoteResult", "committed_index", "joint_committed_index", "joint_vote_result",
           "majority", "vote_result"]


class VoteResult(Enum):
    PENDING = "pending"  # neither a majority of yes nor of no yet
    LOST = "lost"
    WON = "won"


def majority(n: int, ceil: bool = False) -> int:
    """Smallest majority of ``n`` voters: floor(n/2) + 1.

    ``ceil``: the ``ceil-majority`` mutant's ceil(n/2), half of an even cluster."""
    return (n + 1) // 2 if ceil else n // 2 + 1


def committed_index(voters: Collection[int], acked: Mapping[int, int],
                    ceil: bool = False) -> int | None:
    """Largest index acknowledged by a majority of ``voters`` (``None``: no voters).

    ``acked`` maps a voter to the highest index it has durably stored (its match index);
    missing voters count as 0.  Sorting the acknowledged indexes in decreasing order,
    the answer is the one at position ``majority(n) - 1``.
    """
    if not voters:
        return None
    indexes = sorted((acked.get(v, 0) for v in voters), reverse=True)
    return indexes[majority(len(voters), ceil) - 1]


def vote_result(voters: Collection[int], votes: Mapping[int, bool],
                ceil: bool = False) -> VoteResult:
    """Outcome of an election among ``voters`` given the ``votes`` received so far.

    An empty configuration wins any vote (it is the neutral half of a joint one).
    """
    if not voters:
        return VoteResult.WON
    yes = sum(1 for v in voters if votes.get(v) is True)
    no = sum(1 for v in voters if votes.get(v) is False)
    q = majority(len(voters), ceil)
    if yes >= q:
        return VoteResult.WON
    if no >= q or yes + (len(voters) - yes - no) < q:
        return VoteResult.LOST
    return VoteResult.PENDING


def joint_committed_index(
    incoming: Collection[int], outgoing: Collection[int], acked: Mapping[int, int],
    ceil: bool = False,
) -> int:
    """Committed index of a joint configuration: the smaller of both halves' indexes."""
    halves = [c for c in (committed_index(incoming, acked, ceil),
                          committed_index(outgoing, acked, ceil)) if c is not None]
    return min(halves) if halves else 0


def joint_vote_result(
    incoming: Collection[int], outgoing: Collection[int], votes: Mapping[int, bool],
    ceil: bool = False,
) -> VoteResult:
    """Won when both halves win, lost when either loses, else pending."""
    r1, r2 = vote_result(incoming, votes, ceil), vote_result(outgoing, votes, ceil)
    if r1 is r2:
        return r1
    if VoteResult.LOST in (r1, r2):
        return VoteResult.LOST
    return VoteResult.PENDING
