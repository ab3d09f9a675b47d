"""Bounds and options of the central-coordinator spec, validated once (``ConfigError``).

Coordinators are shown as ``c1`` (the coordinator) and ``c2`` (the standby, when
there is one); replicas as ``r1..rM``; writes as ``w1..wW``.  States hold ints only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quorum.spec.common import ConfigError

__all__ = ["DOWN", "Config", "coordinator_name", "from_values", "replica_name", "write_name"]

DOWN = ("none", "coordinator", "replica")


@dataclass(frozen=True)
class Config:
    replicas: int = 2
    writes: int = 2
    standby: bool = False
    fencing: bool = False
    failovers: int = 1
    crashes: int = 1
    down: int = 0  # index into DOWN: a node down from the start, for availability checks

    @property
    def coordinators(self) -> range:
        return range(2 if self.standby else 1)

    def coordinator_up_ever(self, c: int) -> bool:
        """False for the coordinator that is down from the start (``--down coordinator``)."""
        return not (self.down == 1 and c == 0)

    def replica_up(self, r: int) -> bool:
        return not (self.down == 2 and r == self.replicas - 1)


def coordinator_name(c: int) -> str:
    return f"c{c + 1}"


def replica_name(r: int) -> str:
    return f"r{r + 1}"


def write_name(w: int) -> str:
    return f"w{w}"


def from_values(values: Mapping[str, Any]) -> Config:
    """The Config for the command line's values; ConfigError names the bad flag."""
    replicas, writes = int(values["replicas"]), int(values["writes"])
    failovers, crashes = int(values["failovers"]), int(values["crashes"])
    if not 1 <= replicas <= 4:
        raise ConfigError(f"--replicas must be between 1 and 4, got {replicas}")
    if not 1 <= writes <= 4:
        raise ConfigError(f"--writes must be between 1 and 4, got {writes}")
    if not 0 <= failovers <= 3:
        raise ConfigError(f"--failovers must be between 0 and 3, got {failovers}")
    if not 0 <= crashes <= 3:
        raise ConfigError(f"--crashes must be between 0 and 3, got {crashes}")
    if bool(values["fencing"]) and not bool(values["standby"]):
        raise ConfigError("--fencing checks the epochs of a takeover; it needs --standby")
    down = str(values["down"])
    if down not in DOWN:
        raise ConfigError(f"--down must be one of {', '.join(DOWN)}, got {down!r}")
    return Config(replicas=replicas, writes=writes, standby=bool(values["standby"]),
                  fencing=bool(values["fencing"]), failovers=failovers, crashes=crashes,
                  down=DOWN.index(down))
