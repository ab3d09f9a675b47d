"""Known Multi-Paxos bugs, each a one-decision change of :class:`~quorum.spec.multipaxos.rules.Rules`.

Every mutant names the rules it runs with, the property breadth-first search reports,
and the smallest bounds known to expose it.  ``docs/multipaxos.md`` tells each story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from quorum.spec.common import Mutant, ceil_half
from quorum.spec.multipaxos.rules import MULTIPAXOS, Vote

__all__ = ["MUTANTS"]

EMPTY = 0  # the status of a slot the replica has nothing in (tla/state.py's EMPTY)


def _only_known_slots(own_status: int) -> bool:
    return own_status != EMPTY  # phase 1 skipped for the slots the new leader never saw


def _any_arrival(votes: Sequence[Vote]) -> tuple[int, ...]:
    # the vote that arrived last wins, and any reported vote may be the last to arrive
    cmds = sorted({cmd for bal, cmd in votes if bal > 0})
    return tuple(cmds) if cmds else (0,)


MUTANTS: dict[str, Mutant] = {
    "skip-phase1-slots": Mutant(
        "skip-phase1-slots",
        "a new leader recovers from the PrepareReplies only the slots its own log already "
        "holds, and treats the others as free: it proposes a new command in a slot where "
        "another leader's command may already be chosen",
        defaults={"replicas": 3, "writes": 1, "reads": 1, "max_ballot": 2,
                  "notice_ballot": True},
        expect="Agreement",
        rules=replace(MULTIPAXOS, recovers=_only_known_slots),
        symmetry=True,
    ),
    "recover-by-arrival": Mutant(
        "recover-by-arrival",
        "a new leader re-proposes in each slot the vote whose PrepareReply arrived last "
        "instead of the vote with the highest ballot: it revives a command that lost, and "
        "a replica that executed the winner replaces it in its log",
        defaults={"replicas": 3, "writes": 1, "reads": 1, "max_ballot": 3, "any_request": True,
                  "notice_ballot": True},
        expect="ExecutedChosen",
        rules=replace(MULTIPAXOS, recovery=_any_arrival),
        symmetry=True,
    ),
    "hole-without-noop": Mutant(
        "hole-without-noop",
        "a leader executes past an empty slot (a hole left by a failed leader) as if a "
        "no-op had been chosen there, without running phase 2 for the no-op",
        defaults={"replicas": 3, "writes": 1, "reads": 1, "max_ballot": 2,
                  "notice_ballot": True},
        expect="ExecutedChosen",
        rules=replace(MULTIPAXOS, executes_holes=True),
        symmetry=True,
    ),
    "ceil-quorum": Mutant(
        "ceil-quorum",
        "quorums of ceil(n/2) replicas: with an even n two quorums can be disjoint, and "
        "two leaders each get their own command chosen in one slot",
        defaults={"replicas": 2, "writes": 1, "reads": 1, "max_ballot": 2,
                  "notice_ballot": True},
        expect="Agreement",
        rules=replace(MULTIPAXOS, quorum_size=ceil_half),
    ),
}
