"""The implementation mutant catalogue (issue 5): real bugs behind test-only switches.

Each name maps to the switch of the layer that holds the bug: the Raft core
(``quorum.impl.raft.MUTATIONS``), the storage (``quorum.impl.storage.MUTANTS``) or this simulator's
driver loop (``quorum.impl.sim.node.DRIVER_MUTANTS``).  None is ever enabled outside tests and
``quorum sim --mutant``.
"""

from __future__ import annotations

from dataclasses import replace

from .schedule import SimConfig

__all__ = ["MUTANTS", "with_mutant"]

#: name -> (layer, switch, what goes wrong)
MUTANTS: dict[str, tuple[str, str, str]] = {
    "no-fsync-vote": ("storage", "no-fsync-vote",
                      "forget to fsync the vote: a restart may vote twice in one term"),
    "commit-old-term": ("core", "commit-old-term",
                        "commit an entry of an earlier term by counting replicas (Figure 8)"),
    "no-truncate": ("core", "no-truncate",
                    "skip conflict truncation when appending (Figure 2, receiver rule 3)"),
    "stale-append": ("core", "stale-append",
                     "accept AppendEntries from a leader of an older term"),
    "local-read": ("core", "local-read",
                   "serve a read on a (possibly deposed) leader without ReadIndex"),
    "ack-before-commit": ("driver", "ack-before-commit",
                          "acknowledge a write before it is durable on a majority"),
}


def with_mutant(config: SimConfig, name: str) -> SimConfig:
    """``config`` with mutant ``name`` switched on (KeyError for an unknown name)."""
    layer, switch, _ = MUTANTS[name]
    if layer == "core":
        return replace(config, core_mutations=(*config.core_mutations, switch))
    if layer == "storage":
        return replace(config, storage_mutants=(*config.storage_mutants, switch))
    return replace(config, driver_mutants=(*config.driver_mutants, switch))
