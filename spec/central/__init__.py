"""A central coordinator, alone or with a standby: the tutorial's second strategy.

``SPEC.build(values, mutant, symmetry)`` returns a :class:`CentralModel`.  Expected
verdicts (pinned in ``tests/spec/central/test_central.py``, explained in
``docs/strategies.md``): alone it is safe but nothing is acknowledged while it is
down; ``--standby`` without fencing gets two coordinators; ``--standby --fencing``
is safe.  With ``--liveness``, ``EveryWriteAcknowledged`` holds alone (a crashed
coordinator restarts, fairly), fails with ``--down coordinator`` and holds again with a
fenced standby given a failover per failure (``--failovers 2`` when the standby may
also crash).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from quorum.spec.central import properties
from quorum.spec.central.config import (
    DOWN,
    Config,
    coordinator_name,
    from_values,
    replica_name,
    write_name,
)
from quorum.spec.central.spec import Label, State, initial_state, successors
from quorum.spec.common import ConfigError, Mutant, Param, SpecInfo

__all__ = ["PARAMS", "SPEC", "CentralModel", "Config", "State", "costs"]

#: none: the strategy's failure modes are its options (``--standby`` without
#: ``--fencing``, ``--down``), not bugs, so it has no ``Rules`` to swap
MUTANTS: dict[str, Mutant] = {}


def costs(cfg: Config) -> dict[str, tuple[int, int]]:
    """Per action: (messages between servers, round trips between servers).  With a
    standby the log lives on shared storage, one round trip away."""
    shared = (2, 1) if cfg.standby else (0, 0)
    return {"Order": shared, "Apply": (2, 1), "StepDown": (2, 1), "Crash": (0, 0),
            "Restart": (0, 0), "Takeover": shared}


def _canonicalizer(cfg: Config) -> Any:
    """Replicas that are up are interchangeable: the canonical form lists them sorted by
    (log, epoch); a replica that is down stays last."""
    movable = [r for r in range(cfg.replicas) if cfg.replica_up(r)]
    fixed = [r for r in range(cfg.replicas) if not cfg.replica_up(r)]

    def canonical(s: State) -> State:
        pairs = sorted((s.replica[r], s.replica_epoch[r]) for r in movable)
        pairs += [(s.replica[r], s.replica_epoch[r]) for r in fixed]
        return s._replace(replica=tuple(p[0] for p in pairs),
                          replica_epoch=tuple(p[1] for p in pairs))

    return canonical


class CentralModel:
    """A central-coordinator configuration, as the checker sees it."""

    def __init__(self, cfg: Config, use_symmetry: bool = False) -> None:
        self.cfg = cfg
        self.name = "central"
        self.invariants = properties.invariants(cfg)
        self.action_properties: dict[str, Any] = {}
        self.reachability = properties.reachability(cfg)
        self.liveness = properties.liveness(cfg)  # checked by `quorum check --liveness`
        self.fairness = properties.fairness(cfg)
        self.canonicalize = _canonicalizer(cfg) if use_symmetry else None
        self.view = None

    def initial_states(self) -> Iterator[State]:
        yield initial_state(self.cfg)

    def successors(self, state: State) -> Iterator[tuple[Label, State]]:
        return successors(self.cfg, state)

    def within_bounds(self, state: State) -> bool:
        return True  # writes, crashes and epochs are bounded by the actions themselves

    def render(self, s: State) -> dict[str, Any]:
        cfg = self.cfg
        coords = [coordinator_name(c) for c in cfg.coordinators]
        reps = [replica_name(r) for r in range(cfg.replicas)]

        def seq(log: tuple[int, ...]) -> tuple[str, ...]:
            return tuple(map(write_name, log))

        out: dict[str, Any] = {
            "coordinator": {coords[c]: "down" if not s.up[c] else "active" if s.active[c]
                            else "standby" for c in cfg.coordinators},
        }
        if cfg.standby:
            out["epoch"] = dict(zip(coords, s.epoch, strict=True))
        out["memory"] = {coords[c]: seq(s.memory[c]) for c in cfg.coordinators}
        out["log"] = seq(s.store)
        if cfg.fencing:
            out["log_epoch"] = s.store_epoch
        out["replica"] = {reps[r]: seq(s.replica[r]) if cfg.replica_up(r) else "down"
                          for r in range(cfg.replicas)}
        if cfg.fencing:
            out["replica_epoch"] = dict(zip(reps, s.replica_epoch, strict=True))
        out["issued"] = s.writes
        out["acked"] = frozenset(map(write_name, s.acked))
        return out


PARAMS = (
    Param("replicas", int, 2, "number of replicas (r1..rM), 1..4"),
    Param("writes", int, 2, "number of client writes (w1..wW), 1..4"),
    Param("standby", bool, False, "a standby coordinator (c2) takes over on suspicion"),
    Param("fencing", bool, False, "epochs are checked by the log's storage and the replicas (needs --standby)"),
    Param("failovers", int, 1, "takeovers (new epochs) allowed, 0..3"),
    Param("crashes", int, 1, "coordinator crashes allowed, 0..3"),
    Param("down", str, "none", "a node down from the start (availability check)",
          choices=DOWN),
)


def build(values: Mapping[str, Any], mutant: str | None, use_symmetry: bool) -> CentralModel:
    """The model for these values (symmetry: replicas are interchangeable)."""
    if mutant is not None and mutant not in MUTANTS:
        raise ConfigError(f"central has no mutant {mutant!r}: its options are its variants")
    return CentralModel(from_values(values), use_symmetry)


SPEC = SpecInfo(
    name="central",
    doc="a central coordinator ordering all writes, optionally with a (fenced) standby",
    params=PARAMS,
    mutants=MUTANTS,
    build=build,
    properties=properties.NAMES,
)
