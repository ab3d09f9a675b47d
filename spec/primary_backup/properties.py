"""What primary-backup must guarantee, as predicates of a state (or of one step).

=====================  ==============================================================
``NoLostWrite``        a failover never loses an acknowledged write: every primary of
                       an epoch begun after a write was acknowledged holds that write
``NoSplitBrain``       at most one primary acknowledges writes at a time: no write is
                       acknowledged behind the back of the newest primary (while it
                       is primary, it holds every write acknowledged in its epoch),
                       and all acknowledged histories lie on one sequence
``ReadsSeeLatestAck``  (action property) a read returns every write acknowledged
                       before it
``FailoverHappens``    (reachability) some backup is promoted
``WriteAcknowledged``  (reachability) some write is acknowledged
=====================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quorum.spec.primary_backup.config import Config, write_name
from quorum.spec.primary_backup.spec import PRIMARY, Label, State

__all__ = ["ACTION_PROPERTIES", "INVARIANTS", "NAMES", "action_properties", "invariants",
           "reachability"]


def no_lost_write(s: State) -> bool:
    """Every write acknowledged before epoch e began is in the log of e's primary."""
    return all(h[-1] in s.log[p]
               for k, h in s.acked
               for p, role in enumerate(s.role) if role == PRIMARY and s.epoch[p] > k)


def no_split_brain(s: State) -> bool:
    """The newest primary holds every write acknowledged in its epoch, and the
    acknowledged histories are prefixes of one another (of the longest one)."""
    if not s.acked:
        return True
    if not all(h[-1] in s.log[p]
               for k, h in s.acked
               for p, role in enumerate(s.role) if role == PRIMARY and s.epoch[p] == k):
        return False
    longest = max((h for _, h in s.acked), key=len)
    return all(longest[:len(h)] == h for _, h in s.acked)


def reads_see_latest_ack(s: State, label: Label, t: State) -> bool:
    """A Read step's result contains every write acknowledged in the state it reads."""
    if label[0] != "Read":
        return True
    result = dict(label[1])["result"]
    return all(write_name(h[-1]) in result for _, h in s.acked)  # type: ignore[operator]


def failover_happens(s: State) -> bool:
    return max(s.epoch) > 0


def write_acknowledged(s: State) -> bool:
    return bool(s.acked)


INVARIANTS: dict[str, Callable[[State], bool]] = {
    "NoLostWrite": no_lost_write,
    "NoSplitBrain": no_split_brain,
}
ACTION_PROPERTIES: dict[str, Callable[[State, Label, State], bool]] = {
    "ReadsSeeLatestAck": reads_see_latest_ack,
}
NAMES = ("NoLostWrite", "NoSplitBrain", "ReadsSeeLatestAck", "FailoverHappens",
         "WriteAcknowledged")


def invariants(cfg: Config) -> dict[str, Callable[[State], bool]]:
    return dict(INVARIANTS)


def action_properties(cfg: Config) -> dict[str, Callable[[State, Label, State], bool]]:
    return dict(ACTION_PROPERTIES)


def reachability(cfg: Config) -> dict[str, Callable[[State], bool]]:
    """FailoverHappens only when failovers are allowed; WriteAcknowledged always."""
    props: dict[str, Any] = {}
    if cfg.failovers > 0:
        props["FailoverHappens"] = failover_happens
    props["WriteAcknowledged"] = write_acknowledged
    return props
