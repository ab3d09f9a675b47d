"""Known Paxos bugs, each a one-decision change of Paxos.tla's :class:`~quorum.spec.paxos.rules.Rules`.

Every mutant names the rules it runs with, the property the checker reports, and the
smallest bounds known to expose it (used when ``--mutant`` is given without explicit
flags).  ``docs/paxos.md`` tells each bug's story with its trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from quorum.spec.common import Mutant, ceil_half
from quorum.spec.paxos.rules import PAXOS, Report

__all__ = ["MUTANTS"]


def _any_value(reported: Sequence[Report], v: int) -> bool:
    return True


def _below_promise(max_bal: int, b: int) -> bool:
    return True  # the acceptor still keeps the higher of the two ballots as its promise


MUTANTS: dict[str, Mutant] = {
    "ceil-quorum": Mutant(
        "ceil-quorum",
        "quorums of ceil(n/2) acceptors (the tutorial's formula): with an even n two "
        "quorums can be disjoint, and each chooses its own value",
        defaults={"acceptors": 4, "values": 2, "max_ballot": 1},
        expect="Agreement",
        rules=replace(PAXOS, quorum_size=ceil_half),
    ),
    "vote-below-promise": Mutant(
        "vote-below-promise",
        "an acceptor votes for a 2a proposal of a ballot below the one it promised, "
        "breaking the promise that Phase2a's choice of value relies on",
        defaults={"acceptors": 3, "values": 2, "max_ballot": 1},
        expect="Agreement",
        rules=replace(PAXOS, may_vote=_below_promise),
    ),
    "ignore-1b-votes": Mutant(
        "ignore-1b-votes",
        "a proposer ignores the votes reported in 1b messages and proposes any value",
        defaults={"acceptors": 3, "values": 2, "max_ballot": 1},
        expect="Agreement",
        rules=replace(PAXOS, proposable=_any_value),
    ),
}
