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

Availability, a liveness property (``quorum check central --liveness``):
``EveryWriteAcknowledged``, ``<>(every client write is acknowledged)``, under weak
fairness of the coordinators' and replicas' actions (``fairness``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quorum.spec.central.config import Config
from quorum.spec.central.spec import State, writable

__all__ = ["NAMES", "fairness", "invariants", "liveness", "reachability"]

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


def liveness(cfg: Config) -> dict[str, tuple[str, Callable[[State], bool]]]:
    """``EveryWriteAcknowledged``: ``<>(all cfg.writes client writes are acknowledged)``.

    The clients issue ``cfg.writes`` writes, in order; a write is pending until it is
    acknowledged, and an acknowledgement is never withdrawn.  So "every write issued is
    eventually acknowledged" (``\\A w : [](issued(w) => <>acked(w))``) and "always
    eventually no write is pending" both say, of this finite workload, that eventually
    all of them are acknowledged; a violation is a fair behaviour that stays short of it
    forever (a lasso)."""
    return {"EveryWriteAcknowledged": ("eventually", lambda s: len(s.acked) == cfg.writes)}


_WORK = frozenset({"Order", "StepDown", "Apply", "Restart"})


def _fair_instance(label: Any) -> Any:
    """Each instance (label) of Order(c, w), StepDown(c), Apply(c, r) and Restart(c) is
    its own condition, and so is Takeover(c) when the suspicion is right
    (``suspect='down'``: no coordinator is running as the active one)."""
    if label[0] in _WORK or (label[0] == "Takeover" and ("suspect", "down") in label[1]):
        return label
    return None


def fairness(cfg: Config) -> list[tuple[str, Callable[[Any], Any]]]:
    """Weak fairness of every coordinator's and replica's action instance: a coordinator
    that can order, apply, step down or restart eventually does, and a standby takes
    over a coordinator that is down.  Not of Crash (a crash is allowed, never forced)
    nor of a Takeover that suspects a running coordinator (a failure detector's false
    suspicion is allowed, never forced)."""
    return [("WF(Order(c, w)), WF(StepDown(c)), WF(Apply(c, r)), WF(Restart(c)), "
             "WF(Takeover(c) when no coordinator is active) for all c, w, r", _fair_instance)]
