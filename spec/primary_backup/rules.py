"""The decisions of the primary-backup spec that its known bugs get wrong, as a table.

The actions in :mod:`quorum.spec.primary_backup.spec` ask a :class:`Rules` object (through
``Config.majority``) where a known bug lives.  :data:`PRIMARY_BACKUP` holds the correct
answers; each mutant in :mod:`quorum.spec.primary_backup.mutants` swaps one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quorum.spec.common import majority

__all__ = ["PRIMARY_BACKUP", "Rules"]


@dataclass(frozen=True)
class Rules:
    """The bug-prone decisions: how many of n nodes make a majority (``sync-majority``
    mode acknowledges a write, promotes and serves quorum reads with that many)."""

    quorum_size: Callable[[int], int] = majority


PRIMARY_BACKUP = Rules()
