"""Finite first-order structures, and evaluating z3 formulas over them.

A :class:`Structure` is what a counterexample to induction is made of, and
what an explicit state becomes when it is compared with a symbolic model: a
finite universe per sort and an interpretation of every symbol.  Elements are
plain strings (``"a1"``, ``"b0"``).  Interpretations, by symbol name:

* a relation (a symbol whose range is Bool) of arity k >= 1: a ``frozenset``
  of k-tuples of elements;
* a function of arity k >= 1: a ``dict`` from k-tuples to an element;
* a constant (arity 0): an element, or a ``bool`` for a Boolean constant.

:func:`compile_formula` turns a z3 formula into a Python closure that
evaluates it over any interpretation on fixed universes; quantifiers range
over the finite universe of their sort.  It understands the fragment the
symbolic specs use: Boolean connectives, equality, ``Distinct``, ``If``,
quantifiers and uninterpreted symbols.  Anything else raises ``ValueError``
(the caller's formula is outside the fragment, said in one line).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import z3

__all__ = ["Evaluator", "Structure", "compile_formula", "evaluate"]

Interp = Mapping[str, Any]
#: a compiled term: (interpretation, stack of bound values) -> value
Evaluator = Callable[[Interp, tuple[Any, ...]], Any]


@dataclass(frozen=True)
class Structure:
    """A finite universe per sort name and an interpretation per symbol name."""

    universe: Mapping[str, tuple[str, ...]]
    interp: Mapping[str, Any]

    def holds(self, formula: z3.BoolRef, **bindings: Any) -> bool:
        """Whether ``formula`` is true here; ``bindings`` interpret extra constants."""
        return evaluate(formula, self, bindings)


def evaluate(formula: z3.ExprRef, structure: Structure, bindings: Interp | None = None) -> Any:
    interp = {**structure.interp, **(bindings or {})}
    return compile_formula(formula, structure.universe)(interp, ())


def compile_formula(expr: z3.ExprRef, universe: Mapping[str, tuple[str, ...]]) -> Evaluator:
    """Compile ``expr`` once; the closure may then be applied to many interpretations."""
    if z3.is_quantifier(expr):
        return _quantifier(expr, universe)
    if z3.is_var(expr):
        index = z3.get_var_index(expr)
        return lambda i, s: s[len(s) - 1 - index]
    kind = expr.decl().kind()
    kids = [compile_formula(c, universe) for c in expr.children()]
    if kind == z3.Z3_OP_UNINTERPRETED:
        return _symbol(expr.decl(), kids)
    build = _CONNECTIVES.get(kind)
    if build is None:
        raise ValueError(f"cannot evaluate {expr.decl().name()!r} over a finite structure")
    return build(kids)


def _quantifier(q: z3.QuantifierRef, universe: Mapping[str, tuple[str, ...]]) -> Evaluator:
    if q.is_lambda():
        raise ValueError("lambda terms are outside the evaluated fragment")
    domains = [_domain(q.var_sort(k), universe) for k in range(q.num_vars())]
    body = compile_formula(q.body(), universe)
    pick = all if q.is_forall() else any
    return lambda i, s: pick(body(i, s + combo) for combo in itertools.product(*domains))


def _domain(sort: z3.SortRef, universe: Mapping[str, tuple[str, ...]]) -> tuple[Any, ...]:
    if sort == z3.BoolSort():
        return (False, True)
    if sort.name() not in universe:
        raise ValueError(f"no finite universe given for sort {sort.name()!r}")
    return tuple(universe[sort.name()])


def _symbol(decl: z3.FuncDeclRef, kids: list[Evaluator]) -> Evaluator:
    name = decl.name()
    if not kids:
        return lambda i, s: i[name]
    if decl.range() == z3.BoolSort():
        return lambda i, s: tuple(k(i, s) for k in kids) in i[name]
    return lambda i, s: i[name][tuple(k(i, s) for k in kids)]


def _and(kids: list[Evaluator]) -> Evaluator:
    return lambda i, s: all(k(i, s) for k in kids)


def _or(kids: list[Evaluator]) -> Evaluator:
    return lambda i, s: any(k(i, s) for k in kids)


def _not(kids: list[Evaluator]) -> Evaluator:
    (k,) = kids
    return lambda i, s: not k(i, s)


def _implies(kids: list[Evaluator]) -> Evaluator:
    a, b = kids
    return lambda i, s: (not a(i, s)) or b(i, s)


def _eq(kids: list[Evaluator]) -> Evaluator:
    a, b = kids
    return lambda i, s: a(i, s) == b(i, s)


def _distinct(kids: list[Evaluator]) -> Evaluator:
    def run(i: Interp, s: tuple[Any, ...]) -> bool:
        values = [k(i, s) for k in kids]
        return len(set(values)) == len(values)

    return run


def _ite(kids: list[Evaluator]) -> Evaluator:
    c, a, b = kids
    return lambda i, s: a(i, s) if c(i, s) else b(i, s)


def _const(value: bool) -> Callable[[list[Evaluator]], Evaluator]:
    return lambda kids: lambda i, s: value


def _xor(kids: list[Evaluator]) -> Evaluator:
    a, b = kids
    return lambda i, s: bool(a(i, s)) != bool(b(i, s))


_CONNECTIVES: dict[int, Callable[[list[Evaluator]], Evaluator]] = {
    z3.Z3_OP_AND: _and,
    z3.Z3_OP_OR: _or,
    z3.Z3_OP_NOT: _not,
    z3.Z3_OP_IMPLIES: _implies,
    z3.Z3_OP_EQ: _eq,
    z3.Z3_OP_IFF: _eq,
    z3.Z3_OP_DISTINCT: _distinct,
    z3.Z3_OP_ITE: _ite,
    z3.Z3_OP_XOR: _xor,
    z3.Z3_OP_TRUE: _const(True),
    z3.Z3_OP_FALSE: _const(False),
}
