"""The registry of specifications: name on the command line -> spec package."""

from __future__ import annotations

import importlib

from spec.common import SpecInfo

__all__ = ["SPECS", "load"]

#: name -> module exporting SPEC (one line per spec)
SPECS: dict[str, str] = {
    "paxos": "spec.paxos",
    "raft": "spec.raft",
    "primary-backup": "spec.primary_backup",
    "central": "spec.central",
}


def load(name: str) -> SpecInfo:
    info: SpecInfo = importlib.import_module(SPECS[name]).SPEC
    return info
