"""Known bugs of primary-backup replication, each a one-decision change of its
:class:`~quorum.spec.primary_backup.rules.Rules`, with the smallest bounds that expose it.

(The strategy's other failure modes are not bugs but options: ``--mode async``,
``--no-fencing``, ``--reads local``; ``docs/strategies.md`` compares them.)
"""

from __future__ import annotations

from dataclasses import replace

from quorum.spec.common import Mutant, ceil_half
from quorum.spec.primary_backup.rules import PRIMARY_BACKUP

__all__ = ["MUTANTS"]

MUTANTS: dict[str, Mutant] = {
    "ceil-majority": Mutant(
        "ceil-majority",
        "sync-majority counting ceil(n/2) nodes as a majority (the tutorial's formula): "
        "with 4 nodes one pair acknowledges a write and the disjoint pair elects a "
        "primary that never saw it",
        defaults={"nodes": 4, "mode": "sync-majority"},
        expect="NoLostWrite",
        rules=replace(PRIMARY_BACKUP, quorum_size=ceil_half),
    ),
}
