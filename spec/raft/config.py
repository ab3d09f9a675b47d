"""Bounds of the Raft model (TLC's CONSTRAINT), kept outside the spec.

A state is within bounds when every server's term is at most ``max_term``,
every log holds at most ``max_log`` entries, and at most ``max_msgs`` messages
are in flight, duplicates counted (raft.tla's bag cardinality).  A log's length counts
its compacted prefix (``--snapshots``) and its configuration entries (``--membership``):
the bound is on the last index.  As in TLC, a
successor outside the bounds is still checked against the invariants, but it
is neither counted nor explored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quorum.spec.common import ConfigError, Param

__all__ = ["BOUNDS", "PARAMS", "Config"]

#: name -> (least, most).  The upper bounds are the largest models worth asking for:
#: each server, term, log entry or message in flight multiplies the state space (the
#: mutants' defaults, 3 servers with max_term 3, already reach about a million states).
BOUNDS: dict[str, tuple[int, int]] = {
    "servers": (1, 7), "values": (1, 3), "max_term": (1, 6), "max_log": (0, 4),
    "max_msgs": (1, 4),
}

PARAMS: tuple[Param, ...] = (
    Param("servers", int, 2, "number of servers (s1, s2, ...), 1..7"),
    Param("values", int, 1, "number of client values (v1, v2, ...), 1..3"),
    Param("max_term", int, 2, "largest term explored (terms start at 1), 1..6"),
    Param("max_log", int, 1, "longest log explored, per server (0: elections only), 0..4"),
    Param("max_msgs", int, 1, "most messages in flight, duplicates counted, 1..4 (every "
          "action of a server sends or receives a message)"),
    Param("snapshots", bool, False,
          "log compaction and InstallSnapshot (quorum.spec.raft.snapshots)",
          shown_with="snapshots"),
    Param("membership", bool, False,
          "single-server membership changes (quorum.spec.raft.membership)",
          shown_with="membership"),
    Param("members", int, 0, "servers of the initial configuration, the first ones (0: all); "
          "needs --membership", shown_with="membership"),
)


@dataclass(frozen=True)
class Config:
    """Validated bounds; build with :meth:`from_values`."""

    servers: int = 2
    values: int = 1
    max_term: int = 2
    max_log: int = 1
    max_msgs: int = 1
    snapshots: bool = False
    membership: bool = False
    members: int = 0

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Config:
        """Bounds from ``--name value`` pairs; :class:`ConfigError` names a bad one."""
        known = {p.name for p in PARAMS}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown raft parameter: {unknown[0]}")
        cfg = cls(**{k: values[k] for k in known if k in values})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        for name, (least, most) in BOUNDS.items():
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not least <= v <= most:
                raise ConfigError(f"--{name.replace('_', '-')} must be an integer between "
                                  f"{least} and {most}, got {v!r} (each step up multiplies "
                                  f"the state space)")
        for name in ("snapshots", "membership"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"--{name} is a switch (true or false), got {getattr(self, name)!r}")
        if not isinstance(self.members, int) or isinstance(self.members, bool) or not (
                0 <= self.members <= self.servers):
            raise ConfigError(f"--members must be an integer from 0 to --servers "
                              f"({self.servers}), got {self.members!r}")
        if self.members and not self.membership:
            raise ConfigError("--members needs --membership (without it every server is a "
                              "member, always)")

    @property
    def extended(self) -> bool:
        """Snapshots or membership changes are on (raft.tla's Next with their layers)."""
        return self.snapshots or self.membership

    @property
    def member_mask(self) -> int:
        """The initial configuration as a bit mask (0: every server)."""
        return (1 << self.members) - 1 if self.members else 0
