"""Configuration of one Raft node (what etcd-raft calls ``Config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from quorum.impl.mutants import Layer, Mutant, foreign, names

from .errors import ConfigError

__all__ = ["RaftConfig"]


@dataclass(frozen=True)
class RaftConfig:
    """Knobs of a node; every time is counted in ticks of the driver's logical clock.

    * ``election_tick``: a follower that hears from no leader for a randomized timeout in
      ``[election_tick, 2 * election_tick)`` ticks starts an election (section 5.2);
      ``seed`` makes that choice deterministic (the same seed and id: the same timeouts).
    * ``heartbeat_tick``: a leader sends heartbeats every this many ticks.
    * ``pre_vote`` / ``check_quorum``: thesis section 9.6 / 6.2.
    * ``max_msg_bytes`` / ``max_msg_entries``: batching limits of one AppendEntries
      (payload bytes; a message always carries at least one entry when it has any).
    * ``max_inflight_msgs`` / ``max_inflight_bytes``: the flow-control window of
      pipelined AppendEntries per follower (0 bytes: no byte limit).
    * ``max_apply_bytes``: limit of committed entries per ``Ready`` (None: no limit).
    * ``snapshot_timeout_ticks``: a snapshot unacknowledged this long is assumed lost and
      retried (0: three election timeouts).
    * ``eager_commit``: send every member an AppendEntries as soon as the commit index
      moves (etcd-raft's behaviour; one message per member and write, and its answer).
      False: the members learn it from the next AppendEntries or heartbeat, or when the
      driver calls ``RawNode.send_commit`` (see ``RawNode.commit_lagging``); a
      configuration change and the leader's first entry are still sent at once.
    * ``applied``: on restart, the index the application's state already reflects.
    * ``mutants``: core members of :class:`~quorum.impl.mutants.Mutant`, known bugs
      switched on for the mutant tests only (never in production).
    """

    id: int
    election_tick: int = 10
    heartbeat_tick: int = 1
    seed: int = 0
    pre_vote: bool = True
    check_quorum: bool = True
    max_msg_bytes: int = 1 << 20
    max_msg_entries: int = 256
    max_inflight_msgs: int = 256
    max_inflight_bytes: int = 0
    max_apply_bytes: int | None = None
    snapshot_timeout_ticks: int = 0
    eager_commit: bool = True
    applied: int = 0
    mutants: frozenset[Mutant] = field(default_factory=frozenset)

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        checks = [
            (self.id > 0, f"id must be a positive integer, got {self.id}"),
            (self.heartbeat_tick > 0, "heartbeat_tick must be positive"),
            (self.election_tick > self.heartbeat_tick,
             "election_tick must be greater than heartbeat_tick"),
            (self.max_msg_bytes > 0, "max_msg_bytes must be positive"),
            (self.max_msg_entries > 0, "max_msg_entries must be positive"),
            (self.max_inflight_msgs > 0, "max_inflight_msgs must be positive"),
            (self.max_inflight_bytes >= 0, "max_inflight_bytes must be >= 0"),
            (self.snapshot_timeout_ticks >= 0, "snapshot_timeout_ticks must be >= 0"),
            (self.applied >= 0, "applied must be >= 0"),
        ]
        bad = foreign(self.mutants, Layer.CORE)
        checks.append((not bad, f"unknown core mutants {', '.join(bad)}; RaftConfig.mutants "
                                f"takes Mutant members of: {', '.join(names(Layer.CORE))}"))
        for ok, why in checks:
            if not ok:
                raise ConfigError(why)

    @property
    def snapshot_timeout(self) -> int:
        return self.snapshot_timeout_ticks or 3 * self.election_tick
