"""Raft after Diego Ongaro's raft.tla, with the five properties of the Raft paper
(Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014)
and a catalogue of known Raft bugs.

``SPEC.build(values, mutant, symmetry)`` returns a :class:`RaftModel`.  Start
reading at :mod:`quorum.spec.raft.tla.actions` (the protocol), then
:mod:`quorum.spec.raft.tla.properties` (what must hold) and :mod:`quorum.spec.raft.mutants`.

* :mod:`quorum.spec.raft.tla`: raft.tla transcribed, the encoding to read;
* :mod:`quorum.spec.raft.fast`: the same, module for module, compiled for the checker;
* :mod:`quorum.spec.raft.config`, :mod:`~quorum.spec.raft.model`,
  :mod:`~quorum.spec.raft.mutants`: the bounds, the model the checker runs, the known bugs;
* :mod:`quorum.spec.raft.symbolic`: the z3 model of the election and of Log Matching.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quorum.spec.common import ConfigError, SpecInfo
from quorum.spec.raft.config import PARAMS, Config
from quorum.spec.raft.etcd import ETCD, ETCD_PRE_VOTE
from quorum.spec.raft.model import RaftModel
from quorum.spec.raft.mutants import MUTANTS, RULES
from quorum.spec.raft.tla.properties import ACTION_PROPERTIES, INVARIANTS, REACHABILITY
from quorum.spec.raft.tla.rules import RAFT, Rules
from quorum.spec.raft.tla.state import State

__all__ = ["ETCD", "ETCD_PRE_VOTE", "MUTANTS", "RAFT", "RULES", "SPEC", "Config", "RaftModel", "Rules",
           "State", "build"]


def build(values: Mapping[str, Any], mutant: str | None = None, symmetry: bool = False) -> RaftModel:
    """The Raft model for these bounds; ``ConfigError`` on bad bounds or mutant."""
    if mutant is not None and mutant not in RULES:
        raise ConfigError(f"raft has no mutant {mutant!r} (it has: {', '.join(MUTANTS)})")
    config = Config.from_values(values)
    name = "raft" + (f"[{mutant}]" if mutant else "")
    return RaftModel(config, RULES[mutant] if mutant else RAFT, symmetry, name)


SPEC = SpecInfo(
    name="raft",
    doc="Raft (Ongaro's raft.tla): elections, log replication, commit",
    params=PARAMS,
    mutants=MUTANTS,
    build=build,
    properties=(*INVARIANTS, *ACTION_PROPERTIES, *REACHABILITY),
)
