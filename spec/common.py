"""Shared vocabulary of the specifications: configuration errors, parameters, mutants.

Nothing here knows a protocol or the checker; the ``quorum`` command turns a
:class:`SpecInfo` into command-line flags and hands the built model to the
checker.

Bugs are injected one way in every spec.  A spec's actions follow its reference
(Paxos.tla, raft.tla, ...) except at the few decisions a known bug gets wrong, where they
ask a frozen ``Rules`` dataclass of the spec's own: one field per decision, whose
defaults are the correct protocol (``SpecInfo.rules``).  A :class:`Mutant` binds a bug's
name to the ``Rules`` with that one decision swapped (``Mutant.rules``), so
``SPEC.mutants`` is the registry of a spec's bugs and ``quorum check SPEC --mutant NAME``
reaches each (``tests/spec/test_mutants_registry.py`` checks that they agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConfigError", "Mutant", "Param", "SpecInfo", "Unsupported", "ceil_half",
           "majority"]


class ConfigError(ValueError):
    """An invalid configuration of a spec: the user's fault, reported in one line."""


class Unsupported(ConfigError):
    """Rules that an encoding of a spec does not implement: it says which it does."""


@dataclass(frozen=True)
class Param:
    """One bound or option of a spec, shown as ``--name`` on the command line."""

    name: str  # python identifier, e.g. "max_ballot" (flag: --max-ballot)
    type: type  # int, str or bool
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    #: the bool parameter (a layer switched on by a flag) without which this one is not
    #: shown in a check's header: ``snapshots=False`` says nothing a plain run needs
    shown_with: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Mutant:
    """A named known-bug variant of a spec and the smallest bounds known to expose it.

    ``rules`` is the spec's ``Rules`` with the one decision this bug gets wrong (see the
    module docstring).  ``defaults`` override the spec's parameter defaults when
    ``--mutant`` is given without explicit flags.  ``mode`` is ``"exhaustive"`` or ``"simulation"`` (for
    bugs whose traces are too deep to exhaust); ``simulation`` holds the default
    ``depth``/``runs``/``seed`` for the latter, and its ``strategy`` (``"walk"``, uniform
    random walks, or ``"explore"``, guided by the model's cells and action weights).  ``symmetry`` turns symmetry reduction
    on by default (a bug whose shortest trace lies deep in a large state space).
    """

    name: str
    doc: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: the spec's Rules, one decision swapped (None: not bound here; see the registry test)
    rules: Any = None
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
    #: the spec's Rules as the correct protocol decides (None: a spec with no mutants)
    rules: Any = None

    def defaults(self, mutant: str | None = None) -> dict[str, Any]:
        values = {p.name: p.default for p in self.params}
        if mutant is not None:
            values.update(self.mutants[mutant].defaults)
        return values


def majority(n: int) -> int:
    """Smallest majority of n: floor(n/2) + 1 (not ceil(n/2), which fails for even n)."""
    return n // 2 + 1


def ceil_half(n: int) -> int:
    """The tutorial's "majority", ceil(n/2): two such sets of an even n may be disjoint
    (the quorum-size mutants swap it for :func:`majority`)."""
    return (n + 1) // 2
