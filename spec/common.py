"""Shared vocabulary of the specifications: configuration errors, parameters, mutants.

Nothing here knows a protocol or the checker; the ``quorum`` command turns a
:class:`SpecInfo` into command-line flags and hands the built model to the
checker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConfigError", "Mutant", "Param", "SpecInfo", "majority"]


class ConfigError(ValueError):
    """An invalid configuration of a spec: the user's fault, reported in one line."""


@dataclass(frozen=True)
class Param:
    """One bound or option of a spec, shown as ``--name`` on the command line."""

    name: str  # python identifier, e.g. "max_ballot" (flag: --max-ballot)
    type: type  # int, str or bool
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Mutant:
    """A named known-bug variant of a spec and the smallest bounds known to expose it.

    ``defaults`` override the spec's parameter defaults when ``--mutant`` is given
    without explicit flags.  ``mode`` is ``"exhaustive"`` or ``"simulation"`` (for
    bugs whose traces are too deep to exhaust); ``simulation`` holds the default
    ``depth``/``runs``/``seed`` for the latter, and its ``strategy`` (``"walk"``, uniform
    random walks, or ``"explore"``, guided by the model's cells and action weights).  ``symmetry`` turns symmetry reduction
    on by default (a bug whose shortest trace lies deep in a large state space).
    """

    name: str
    doc: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: the property the mutant breaks when checked alone, and the one breadth-first search
    #: reports; a simulation may meet another consequence of the same bug first
    expect: str = ""
    mode: str = "exhaustive"
    simulation: Mapping[str, Any] = field(default_factory=dict)
    symmetry: bool = False


@dataclass(frozen=True)
class SpecInfo:
    """What a spec package exports as ``SPEC``."""

    name: str
    doc: str
    params: tuple[Param, ...]
    mutants: Mapping[str, Mutant]
    #: build(values, mutant, symmetry) -> model; raises ConfigError on bad values.
    build: Callable[[Mapping[str, Any], str | None, bool], Any]
    properties: tuple[str, ...] = ()  # names of all properties, for `quorum list`

    def defaults(self, mutant: str | None = None) -> dict[str, Any]:
        values = {p.name: p.default for p in self.params}
        if mutant is not None:
            values.update(self.mutants[mutant].defaults)
        return values


def majority(n: int) -> int:
    """Smallest majority of n: floor(n/2) + 1 (not ceil(n/2), which fails for even n)."""
    return n // 2 + 1
