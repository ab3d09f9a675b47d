"""Bounds and options of the primary-backup spec, validated once (``ConfigError``).

Nodes are numbered 0..n-1 and shown as ``n1..nN``; node 0 (``n1``) starts as the
primary in epoch 0.  Writes are numbered 1..W in the order clients issue them and
shown as ``w1..wW``.  Everything in a state is an int, so states hash the same way
in every process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quorum.spec.common import ConfigError
from quorum.spec.primary_backup.mutants import MUTANTS
from quorum.spec.primary_backup.rules import PRIMARY_BACKUP, Rules

__all__ = ["DOWN", "MODES", "READS", "ASYNC", "SYNC", "SYNC_MAJORITY", "QUORUM_READS",
           "LOCAL_READS", "Config", "from_values", "node_name", "write_name"]

MODES = ("async", "sync", "sync-majority")
ASYNC, SYNC, SYNC_MAJORITY = range(3)
READS = ("quorum", "local")
QUORUM_READS, LOCAL_READS = range(2)
DOWN = ("none", "primary", "backup")


@dataclass(frozen=True)
class Config:
    """One configuration: bounds (nodes, writes, failovers) and the strategy's options."""

    nodes: int = 3
    writes: int = 2
    failovers: int = 1
    mode: int = SYNC
    fencing: bool = True
    reads: int = QUORUM_READS
    down: int = -1  # a node that is down from the start (fail-stop), or -1
    #: a known bug (quorum.spec.primary_backup.mutants) whose rules the model runs
    mutant: str | None = None

    @property
    def all_nodes(self) -> range:
        return range(self.nodes)

    @property
    def everyone(self) -> int:
        """Bitmask of all nodes: the view every primary starts with."""
        return (1 << self.nodes) - 1

    @property
    def rules(self) -> Rules:
        """The decisions the actions ask: the correct ones, or the mutant's (rules.py)."""
        return MUTANTS[self.mutant].rules if self.mutant is not None else PRIMARY_BACKUP

    @property
    def majority(self) -> int:
        """floor(n/2)+1 (the ``ceil-majority`` mutant's rules: the tutorial's ceil(n/2))."""
        return self.rules.quorum_size(self.nodes)

    def up(self, i: int) -> bool:
        return i != self.down


def node_name(i: int) -> str:
    return f"n{i + 1}"


def write_name(w: int) -> str:
    return f"w{w}"


def _choice(values: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> int:
    text = str(values[key])
    if text not in choices:
        raise ConfigError(f"--{key} must be one of {', '.join(choices)}, got {text!r}")
    return choices.index(text)


def from_values(values: Mapping[str, Any], mutant: str | None = None) -> Config:
    """The Config for the command line's values; ConfigError names the bad flag."""
    nodes, writes, failovers = (int(values[k]) for k in ("nodes", "writes", "failovers"))
    if not 2 <= nodes <= 5:
        raise ConfigError(f"--nodes must be between 2 and 5, got {nodes}")
    if not 1 <= writes <= 4:
        raise ConfigError(f"--writes must be between 1 and 4, got {writes}")
    if not 0 <= failovers <= 3:
        raise ConfigError(f"--failovers must be between 0 and 3, got {failovers}")
    down = _choice(values, "down", DOWN)
    return Config(nodes=nodes, writes=writes, failovers=failovers,
                  mode=_choice(values, "mode", MODES), fencing=bool(values["fencing"]),
                  reads=_choice(values, "reads", READS),
                  down={0: -1, 1: 0, 2: nodes - 1}[down], mutant=mutant)
