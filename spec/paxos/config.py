"""Bounds and quorum system of a Paxos model (the MC file of Paxos.tla, in Python).

Acceptors are numbered 0..n-1 and shown as a1..an; values 0..m-1 shown as v1..vm;
ballots are 0..max_ballot.  ``-1`` stands for "none" (no ballot, no value), as in
Paxos.tla, where ``maxVBal`` starts at -1 and ``maxVal`` at ``None``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from quorum.spec.common import ConfigError
from quorum.spec.paxos.mutants import MUTANTS
from quorum.spec.paxos.rules import PAXOS, Rules

__all__ = ["BOUNDS", "Config", "acceptor_name", "parse_quorums", "value_name"]


def acceptor_name(a: int) -> str:
    return f"a{a + 1}"


def value_name(v: int) -> str:
    return "None" if v < 0 else f"v{v + 1}"


#: the largest models worth asking for: the state space grows about 35-fold with each
#: acceptor (3: 3,921 states; 4: 20,609; 5: 701,505, 13 s on one core; 6: tens of
#: millions) and about 50-fold with each ballot (max_ballot 2: 185,369); values cost less
BOUNDS = {"acceptors": (1, 7), "values": (1, 5), "max_ballot": (0, 5)}
GROWTH = "paxos states grow ~35x per acceptor and ~50x per ballot; 5 acceptors: 0.7 M"


@dataclass(frozen=True)
class Config:
    acceptors: int = 3
    values: int = 2
    max_ballot: int = 1
    #: explicit quorums (sets of acceptor numbers); None means all majorities
    quorums: tuple[frozenset[int], ...] | None = None
    #: a known bug (quorum.spec.paxos.mutants) whose rules the model runs
    mutant: str | None = None

    def __post_init__(self) -> None:
        for flag, value, (low, high) in (("--acceptors", self.acceptors, BOUNDS["acceptors"]),
                                         ("--values", self.values, BOUNDS["values"]),
                                         ("--max-ballot", self.max_ballot,
                                          BOUNDS["max_ballot"])):
            if not low <= value <= high:
                raise ConfigError(f"{flag} must be between {low} and {high}, got {value} "
                                  f"({GROWTH})")
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise ConfigError(f"unknown mutant {self.mutant!r} (paxos has: {', '.join(MUTANTS)})")
        if self.quorums is not None:
            self._validate_quorums(self.quorums)

    @property
    def rules(self) -> Rules:
        """The decisions the actions ask: Paxos.tla's, or the mutant's (rules.py)."""
        return MUTANTS[self.mutant].rules if self.mutant is not None else PAXOS

    def _validate_quorums(self, quorums: tuple[frozenset[int], ...]) -> None:
        if self.rules.quorum_size is not PAXOS.quorum_size:
            raise ConfigError(f"--quorums and --mutant {self.mutant} both choose the quorums")
        if not quorums:
            raise ConfigError("--quorums names no quorum")
        for q in quorums:
            if not q:
                raise ConfigError("--quorums contains an empty quorum")
            if max(q) >= self.acceptors:
                raise ConfigError(
                    f"quorum {_names(q)} names an acceptor beyond a{self.acceptors}"
                )
        for q1, q2 in itertools.combinations(quorums, 2):
            if not q1 & q2:
                raise ConfigError(
                    f"quorums {_names(q1)} and {_names(q2)} do not intersect: "
                    "Paxos needs every two quorums to share an acceptor"
                )

    @property
    def ballots(self) -> range:
        return range(self.max_ballot + 1)

    def quorum_sets(self) -> tuple[frozenset[int], ...]:
        """The quorum system: explicit, or the minimal quorums of the rules' size.

        Only minimal quorums are listed: Paxos.tla's MCQuorum also admits supersets of
        majorities, but a superset enables no Phase2a and chooses no value that one of
        its majorities does not, so the state space is the same.
        """
        if self.quorums is not None:
            return self.quorums
        size = self.rules.quorum_size(self.acceptors)
        return tuple(frozenset(c) for c in itertools.combinations(range(self.acceptors), size))

    def symmetric(self) -> bool:
        """Is the quorum system preserved by every permutation of the acceptors?"""
        qs = set(self.quorum_sets())
        sizes = {len(q) for q in qs}
        return all(
            sum(1 for q in qs if len(q) == k) == math.comb(self.acceptors, k) for k in sizes
        )


def _names(q: frozenset[int]) -> str:
    return "{" + ",".join(acceptor_name(a) for a in sorted(q)) + "}"


def parse_quorums(text: str, acceptors: int) -> tuple[frozenset[int], ...]:
    """Parse ``'a1,a2;a2,a3'`` into quorums of acceptor numbers (ConfigError if malformed)."""
    quorums = []
    for part in text.split(";"):
        names = [n.strip() for n in part.split(",") if n.strip()]
        members = set()
        for n in names:
            if not (n.startswith("a") and n[1:].isdigit() and 1 <= int(n[1:]) <= acceptors):
                raise ConfigError(
                    f"--quorums: {n!r} is not an acceptor (expected a1..a{acceptors})"
                )
            members.add(int(n[1:]) - 1)
        quorums.append(frozenset(members))
    return tuple(quorums)
