"""Primary-backup replication: the tutorial's first strategy, with its failure modes.

``SPEC.build(values, mutant, symmetry)`` returns a :class:`PrimaryBackupModel`.  The
expected verdicts (pinned in ``tests/spec/primary_backup/test_primary_backup.py``, explained in
``docs/strategies.md``): ``--mode async`` loses an acknowledged write on failover;
``--mode sync --no-fencing`` gets split brain; ``--mode sync`` (fenced) is safe but
blocks when a node is down; ``--mode sync-majority`` is safe, and ``--reads local``
makes a deposed primary serve stale reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import permutations
from typing import Any

from quorum.spec.common import ConfigError, Param, SpecInfo
from quorum.spec.primary_backup import properties
from quorum.spec.primary_backup.config import (
    ASYNC,
    DOWN,
    MODES,
    READS,
    SYNC,
    SYNC_MAJORITY,
    Config,
    from_values,
    node_name,
    write_name,
)
from quorum.spec.primary_backup.mutants import MUTANTS
from quorum.spec.primary_backup.rules import PRIMARY_BACKUP
from quorum.spec.primary_backup.spec import PRIMARY, Label, State, initial_state, successors

__all__ = ["COSTS", "PARAMS", "SPEC", "Config", "PrimaryBackupModel", "State"]

#: per action: (messages between servers, round trips on the client's path while waiting)
COSTS: dict[str, tuple[int, int]] = {
    "ClientWrite": (0, 0), "Replicate": (2, 1), "StepDown": (2, 1), "DropBackup": (0, 0),
    "Promote": (0, 0), "Read": (0, 0),
}


class PrimaryBackupModel:
    """A primary-backup configuration, as the checker sees it (quorum.model_checker.model.Model)."""

    def __init__(self, cfg: Config, use_symmetry: bool = False) -> None:
        self.cfg = cfg
        self.rules = cfg.rules  # the correct decisions, or the mutant's
        self.name = "primary-backup" + (f"[{cfg.mutant}]" if cfg.mutant else "")
        self.invariants = properties.invariants(cfg)
        self.action_properties = properties.action_properties(cfg)
        self.reachability = properties.reachability(cfg)
        self.canonicalize = _canonicalizer(cfg) if use_symmetry else None
        self.view = None

    def initial_states(self) -> Iterator[State]:
        yield initial_state(self.cfg)

    def successors(self, state: State) -> Iterator[tuple[Label, State]]:
        return successors(self.cfg, state)

    def within_bounds(self, state: State) -> bool:
        return True  # writes and epochs are bounded by the actions themselves

    def render(self, s: State) -> dict[str, Any]:
        cfg = self.cfg
        names = [node_name(i) for i in cfg.all_nodes]
        primaries = [p for p in cfg.all_nodes if s.role[p] == PRIMARY]
        out: dict[str, Any] = {
            "role": {names[i]: ("down " if not cfg.up(i) else "") + ("primary" if r else "backup")
                     for i, r in enumerate(s.role)},
            "epoch": dict(zip(names, s.epoch, strict=True)),
            "log": {names[i]: tuple(map(write_name, log)) for i, log in enumerate(s.log)},
        }
        if cfg.mode == SYNC_MAJORITY and cfg.fencing:
            out["log_epoch"] = dict(zip(names, s.logepoch, strict=True))
        if cfg.mode == SYNC and not cfg.fencing:
            out["waits_for"] = {names[p]: frozenset(names[q] for q in cfg.all_nodes
                                                    if s.view[p] >> q & 1 and q != p)
                                for p in primaries}
        if cfg.mode != ASYNC:
            out["confirmed"] = {names[p]: {names[q]: s.match[p][q]
                                           for q in cfg.all_nodes if q != p}
                                for p in primaries}
        out["issued"] = s.writes
        out["acked"] = frozenset(tuple(map(write_name, h)) for _, h in s.acked)
        return out


def _permute(s: State, perm: tuple[int, ...]) -> State:
    """The state with node i renamed perm[i]."""
    inv = sorted(range(len(perm)), key=perm.__getitem__)  # inv[perm[i]] = i

    def remap(mask: int) -> int:
        return sum(1 << perm[q] for q in range(len(perm)) if mask >> q & 1)

    return State(role=tuple(s.role[i] for i in inv), epoch=tuple(s.epoch[i] for i in inv),
                 logepoch=tuple(s.logepoch[i] for i in inv), log=tuple(s.log[i] for i in inv),
                 view=tuple(remap(s.view[i]) for i in inv),
                 match=tuple(tuple(s.match[i][j] for j in inv) for i in inv),
                 writes=s.writes, acked=s.acked)


def _canonicalizer(cfg: Config) -> Any:
    """Backups that start alike are interchangeable: n1 (the first primary) and a node
    that is down stay fixed; the others may be permuted.  The canonical form is the
    least permuted state."""
    movable = [i for i in cfg.all_nodes if i != 0 and cfg.up(i)]
    perms = []
    for image in permutations(movable):
        perm = list(cfg.all_nodes)
        for src, dst in zip(movable, image, strict=True):
            perm[src] = dst
        perms.append(tuple(perm))
    return lambda s: min(_permute(s, p) for p in perms)


PARAMS = (
    Param("nodes", int, 3, "number of nodes (n1 starts as the primary), 2..5"),
    Param("writes", int, 2, "number of client writes (w1..wW), 1..4"),
    Param("failovers", int, 1, "failovers (new epochs) allowed, 0..3"),
    Param("mode", str, "sync", "when the primary acknowledges a write", choices=MODES),
    Param("fencing", bool, True, "epochs are checked: old primaries are refused and step down"),
    Param("reads", str, "quorum",
          "quorum: a read first confirms the primary's epoch; local: it does not",
          choices=READS),
    Param("down", str, "none", "a node down from the start (availability check)",
          choices=DOWN),
)


def build(values: Mapping[str, Any], mutant: str | None, use_symmetry: bool
          ) -> PrimaryBackupModel:
    """The model for these values; ConfigError for bad values or an unknown mutant."""
    if mutant is not None and mutant not in MUTANTS:
        raise ConfigError(f"primary-backup has no mutant {mutant!r} "
                          f"(it has: {', '.join(MUTANTS)})")
    return PrimaryBackupModel(from_values(values, mutant), use_symmetry)


SPEC = SpecInfo(
    name="primary-backup",
    doc="primary-backup replication: async, sync or sync-majority, with or without fencing",
    params=PARAMS,
    mutants=MUTANTS,
    build=build,
    rules=PRIMARY_BACKUP,
    properties=properties.NAMES,
)
