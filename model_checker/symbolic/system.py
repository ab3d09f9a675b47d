"""A symbolic transition system: the data a spec hands to the induction engine.

A spec writes its symbolic model as plain z3py data in a ``dict`` (so ``spec/``
imports nothing of ours); :meth:`TransitionSystem.from_data` validates it and
fails at definition time, in one line, on misuse.  Keys:

``name``        the system's name (``"paxos"``).
``sorts``       the uninterpreted sorts (``z3.DeclareSort``).
``rigid``       symbols that never change (orders, quorum membership, constants).
``state``       pairs ``(pre, post)`` of declarations of each state symbol; the post
                declaration is the primed copy (same signature, usually ``name'``).
``axioms``      name -> closed formula over rigid symbols (a total order, quorum
                intersection).
``init``        formula over pre-state symbols.
``actions``     name -> ``(params, formula)``: the parameters are z3 constants,
                existentially quantified by the engine (their values appear in a
                counterexample); the formula relates pre and post symbols and must
                constrain every post symbol (say ``unchanged`` explicitly).
``invariant``   name -> conjunct, over pre-state symbols; names are what ``--drop`` takes.
``safety``      name -> the property the invariant must imply (usually one).
``display``     optional: sort name -> prefix for element names in counterexamples.
``orders``      optional: sort name -> binary relation used to list that sort's
                elements in order (``neg < b0 < b1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import z3

__all__ = ["Action", "InductionError", "TransitionSystem", "symbols_of"]


class InductionError(ValueError):
    """A malformed symbolic system or a bad request (unknown conjunct): one line."""


@dataclass(frozen=True)
class Action:
    name: str
    params: tuple[z3.ExprRef, ...]
    formula: z3.BoolRef

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.decl().name() for p in self.params)


@dataclass(frozen=True)
class TransitionSystem:
    """A validated symbolic transition system (see the module docstring)."""

    name: str
    sorts: tuple[z3.SortRef, ...]
    rigid: tuple[z3.FuncDeclRef, ...]
    state: tuple[tuple[z3.FuncDeclRef, z3.FuncDeclRef], ...]
    axioms: Mapping[str, z3.BoolRef]
    init: z3.BoolRef
    actions: Mapping[str, Action]
    invariant: Mapping[str, z3.BoolRef]
    safety: Mapping[str, z3.BoolRef]
    display: Mapping[str, str] = field(default_factory=dict)
    orders: Mapping[str, z3.FuncDeclRef] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TransitionSystem:
        missing = {"name", "sorts", "rigid", "state", "axioms", "init", "actions",
                   "invariant", "safety"} - set(data)
        if missing:
            raise InductionError(f"symbolic system lacks {', '.join(sorted(missing))}")
        actions = {n: Action(n, tuple(p), f) for n, (p, f) in data["actions"].items()}
        system = cls(
            name=data["name"], sorts=tuple(data["sorts"]), rigid=tuple(data["rigid"]),
            state=tuple((pre, post) for pre, post in data["state"]),
            axioms=dict(data["axioms"]), init=data["init"], actions=actions,
            invariant=dict(data["invariant"]), safety=dict(data["safety"]),
            display=dict(data.get("display", {})), orders=dict(data.get("orders", {})),
        )
        system.validate()
        return system

    # -- vocabulary -------------------------------------------------------------
    @property
    def pre(self) -> tuple[z3.FuncDeclRef, ...]:
        return tuple(pre for pre, _ in self.state)

    @property
    def post(self) -> tuple[z3.FuncDeclRef, ...]:
        return tuple(post for _, post in self.state)

    def prime(self, formula: z3.BoolRef) -> z3.BoolRef:
        """``formula`` with every pre-state symbol replaced by its post-state copy."""
        pairs = [(pre, _applied(post)) for pre, post in self.state]
        return z3.substitute_funs(formula, *pairs)

    def without(self, drop: Iterable[str]) -> TransitionSystem:
        """The same system with the named invariant conjuncts removed."""
        drop = tuple(drop)
        unknown = [d for d in drop if d not in self.invariant]
        if unknown:
            raise InductionError(
                f"no conjunct {unknown[0]!r} in {self.name}; conjuncts: "
                + ", ".join(self.invariant))
        kept = {n: f for n, f in self.invariant.items() if n not in drop}
        return replace(self, invariant=kept)

    # -- definition-time checks ------------------------------------------------
    def validate(self) -> None:
        rigid = {d.name() for d in self.rigid}
        pre = {d.name() for d in self.pre}
        post = {d.name() for d in self.post}
        if len(rigid | pre | post) != len(rigid) + len(pre) + len(post):
            raise InductionError(f"{self.name}: a symbol name is declared twice")
        one_state = {**self.axioms, **self.invariant, **self.safety, "init": self.init}
        for label, formula in one_state.items():
            _expect_within(self.name, label, formula, rigid | pre)
        for action in self.actions.values():
            params = set(action.param_names)
            used = _expect_within(self.name, action.name, action.formula,
                                  rigid | pre | post | params)
            for name in sorted(post - used):
                raise InductionError(
                    f"{self.name}: action {action.name} leaves {name} unconstrained "
                    "(say it is unchanged)")


def _applied(decl: z3.FuncDeclRef) -> z3.ExprRef:
    args = [z3.Var(i, decl.domain(i)) for i in range(decl.arity())]
    return decl(*args)


def _expect_within(system: str, label: str, formula: z3.ExprRef, allowed: set[str]) -> set[str]:
    used = symbols_of(formula)
    stray = sorted(used - allowed)
    if stray:
        raise InductionError(f"{system}: {label} uses undeclared or out-of-place symbol {stray[0]}")
    return used


def symbols_of(formula: z3.ExprRef) -> set[str]:
    """Names of the uninterpreted symbols occurring in ``formula``."""
    seen: set[int] = set()
    names: set[str] = set()
    todo = [formula]
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_quantifier(e):
            todo.append(e.body())
        elif z3.is_app(e):
            if e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                names.add(e.decl().name())
            todo.extend(e.children())
    return names
