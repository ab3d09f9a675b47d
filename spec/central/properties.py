"""What a central coordinator must guarantee, as predicates of a state.

======================  ============================================================
``OneCoordinator``      at most one running coordinator can write the durable log
                        (two would order writes independently)
``NoLostWrite``         every acknowledged write is in the durable log
``ReplicasFollowLog``   every replica has applied a prefix of the durable log
``WriteAcknowledged``   (reachability) some write is acknowledged
``FailoverHappens``     (reachability, with a standby) a takeover happens
``CoordinatorRestarts`` (reachability, when crashes are allowed) a coordinator that
                        crashed is running again
======================  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable

from spec.central.config import Config
from spec.central.spec import State, writable

__all__ = ["NAMES", "invariants", "reachability"]

NAMES = ("OneCoordinator", "NoLostWrite", "ReplicasFollowLog", "WriteAcknowledged",
         "FailoverHappens", "CoordinatorRestarts")


def invariants(cfg: Config) -> dict[str, Callable[[State], bool]]:
    def one_coordinator(s: State) -> bool:
        return sum(writable(cfg, s, c) for c in cfg.coordinators) <= 1

    def no_lost_write(s: State) -> bool:
        return all(w in s.store for w in s.acked)

    def replicas_follow_log(s: State) -> bool:
        return all(s.store[:len(log)] == log for log in s.replica)

    return {"OneCoordinator": one_coordinator, "NoLostWrite": no_lost_write,
            "ReplicasFollowLog": replicas_follow_log}


def reachability(cfg: Config) -> dict[str, Callable[[State], bool]]:
    """Only what this configuration can do: a failover needs a standby, a restart a
    crash."""
    props: dict[str, Callable[[State], bool]] = {"WriteAcknowledged": lambda s: bool(s.acked)}
    if cfg.standby and cfg.failovers > 0:
        props["FailoverHappens"] = lambda s: max(s.epoch) > 0
    if cfg.crashes > 0:
        props["CoordinatorRestarts"] = lambda s: s.crashes > 0 and all(
            s.up[c] for c in cfg.coordinators if cfg.coordinator_up_ever(c))
    return props
