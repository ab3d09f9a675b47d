"""The registry of specifications: name on the command line -> spec package."""

from __future__ import annotations

import importlib
from typing import Any

from quorum.spec.common import SpecInfo

__all__ = ["SPECS", "build_model", "load"]

#: name -> module exporting SPEC (one line per spec)
SPECS: dict[str, str] = {
    "paxos": "quorum.spec.paxos",
    "raft": "quorum.spec.raft",
    "primary-backup": "quorum.spec.primary_backup",
    "central": "quorum.spec.central",
    "multipaxos": "quorum.spec.multipaxos",
}


def load(name: str) -> SpecInfo:
    info: SpecInfo = importlib.import_module(SPECS[name]).SPEC
    return info


def build_model(name: str, values: dict[str, Any], mutant: str | None, symmetry: bool) -> Any:
    """The model ``quorum check NAME`` checks, from picklable arguments: what each worker
    of the Ray engine builds for itself (``functools.partial(build_model, ...)``)."""
    return load(name).build(values, mutant, symmetry)
