"""Bounds of a Multi-Paxos model (the constants of MultiPaxos_MC.tla, in Python).

Replicas are numbered 0..n-1 and shown as s1..sn.  Commands are ints: 0 is ``nil``, the
writes are 1..W (shown w1..wW; a write's command is also the value it writes) and the
reads W+1..W+R (shown r1..rR).  Ballots are 1..max_ballot, 0 meaning none; slots are
1..W+R, one per command.
"""

from __future__ import annotations

from dataclasses import dataclass

from quorum.spec.common import ConfigError
from quorum.spec.multipaxos.mutants import MUTANTS
from quorum.spec.multipaxos.rules import MULTIPAXOS, Rules

__all__ = ["BOUNDS", "Config", "command_name", "replica_name"]

#: the largest models worth asking for; 3 replicas, 1 write, 1 read and ballots 1..2
#: (TLC's MultiPaxos_MC_small.cfg) are 343,796 states under symmetry
BOUNDS = {"replicas": (1, 5), "writes": (1, 3), "reads": (0, 3), "max_ballot": (1, 4)}
GROWTH = ("multipaxos states grow fast: 3 replicas, 1 write, 1 read, ballots 1..2 are "
          "0.34 M states under --symmetry")


def replica_name(r: int) -> str:
    return "none" if r < 0 else f"s{r + 1}"


@dataclass(frozen=True)
class Config:
    replicas: int = 3
    writes: int = 1
    reads: int = 1
    max_ballot: int = 2
    #: TakeNewRequest may take any pending request not yet in the leader's log, not only
    #: the first (the reference takes the first, W.L.O.G. for its own bounds)
    any_request: bool = False
    #: CommitNotice carries the leader's ballot, and a follower executes the slot only if
    #: its own vote there is of that ballot.  Off in the reference, whose followers
    #: execute whatever their slot holds: a stale vote when a newer ballot chose another
    #: command (docs/multipaxos.md, "A finding"); on, every executed slot is chosen
    notice_ballot: bool = False
    #: a known bug (quorum.spec.multipaxos.mutants) whose rules the model runs
    mutant: str | None = None

    def __post_init__(self) -> None:
        for flag, value, (low, high) in (
                ("--replicas", self.replicas, BOUNDS["replicas"]),
                ("--writes", self.writes, BOUNDS["writes"]),
                ("--reads", self.reads, BOUNDS["reads"]),
                ("--max-ballot", self.max_ballot, BOUNDS["max_ballot"])):
            if not low <= value <= high:
                raise ConfigError(f"{flag} must be between {low} and {high}, got {value} "
                                  f"({GROWTH})")
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise ConfigError(f"unknown mutant {self.mutant!r} "
                              f"(multipaxos has: {', '.join(MUTANTS)})")

    @property
    def rules(self) -> Rules:
        if self.mutant is None:
            return MULTIPAXOS
        rules: Rules = MUTANTS[self.mutant].rules
        return rules

    @property
    def commands(self) -> int:
        """NumCommands: also the number of slots."""
        return self.writes + self.reads

    @property
    def quorum(self) -> int:
        """MajorityNum (or the mutant's quorum size)."""
        return self.rules.quorum_size(self.replicas)

    def is_write(self, c: int) -> bool:
        return 1 <= c <= self.writes

    def command_name(self, c: int) -> str:
        return command_name(self.writes, c)


def command_name(writes: int, c: int) -> str:
    if c == 0:
        return "nil"
    return f"w{c}" if c <= writes else f"r{c - writes}"
