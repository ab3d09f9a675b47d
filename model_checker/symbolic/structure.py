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
    """Nested loops, one per bound variable, pruned by the guards of the body.

    The guards are the conjuncts of ``P`` in ``ForAll(xs, Implies(P, C))`` and of the
    body of ``Exists(xs, ...)``.  Variables are bound in an order that completes a guard
    as early as possible, and a false guard skips every extension of the partial
    assignment (``ForAll(v1, b1, q1, v2, b2, q2: chosen(v1, b1, q1) & ... -> ...)`` costs
    27 guard checks, not 729 bodies, when nothing is chosen).
    """
    if q.is_lambda():
        raise ValueError("lambda terms are outside the evaluated fragment")
    n = q.num_vars()
    domains = [_domain(q.var_sort(k), universe) for k in range(n)]
    forall = q.is_forall()
    body = q.body()
    if forall and z3.is_app_of(body, z3.Z3_OP_IMPLIES):
        premise, conclusion = body.children()
    elif forall:
        premise, conclusion = z3.BoolVal(True), body
    else:
        premise, conclusion = body, z3.BoolVal(True)
    guards = _conjuncts(premise)
    needs = [_bound_vars(g, n) for g in guards]
    order = _binding_order(needs, n)
    checks: list[list[Evaluator]] = [[] for _ in range(n)]
    for guard, need in zip(guards, needs, strict=True):
        level = max((order.index(v) for v in need), default=0)
        checks[level].append(compile_formula(guard, universe))
    final = compile_formula(conclusion, universe)
    return _nested_loops(forall, order, domains, checks, final)


def _nested_loops(forall: bool, order: list[int], domains: list[tuple[Any, ...]],
                  checks: list[list[Evaluator]], final: Evaluator) -> Evaluator:
    n = len(order)

    def run(i: Interp, s: tuple[Any, ...]) -> bool:
        vals: list[Any] = [None] * n

        def level(k: int) -> bool:
            if k == n:
                return bool(final(i, s + tuple(vals)))
            var = order[k]
            for x in domains[var]:
                vals[var] = x
                if all(g(i, s + tuple(vals)) for g in checks[k]) and level(k + 1) != forall:
                    vals[var] = None
                    return not forall
            vals[var] = None
            return forall

        return level(0)

    return run


def _conjuncts(e: z3.ExprRef) -> list[z3.ExprRef]:
    if z3.is_and(e):
        return [c for k in e.children() for c in _conjuncts(k)]
    return [e]


def _bound_vars(e: z3.ExprRef, n: int) -> set[int]:
    """Which of the enclosing quantifier's n variables (numbered 0..n-1) ``e`` uses."""
    found: set[int] = set()

    def walk(x: z3.ExprRef, depth: int) -> None:
        if z3.is_var(x):
            j = z3.get_var_index(x) - depth
            if 0 <= j < n:
                found.add(n - 1 - j)
        elif z3.is_quantifier(x):
            walk(x.body(), depth + x.num_vars())
        elif z3.is_app(x):
            for c in x.children():
                walk(c, depth)

    walk(e, 0)
    return found


def _binding_order(needs: list[set[int]], n: int) -> list[int]:
    """Greedy: bind first the variables of the guard closest to complete."""
    order: list[int] = []
    pending = [set(need) for need in needs if need]
    while pending:
        pending.sort(key=lambda need: len(need - set(order)))
        order += sorted(pending.pop(0) - set(order))
        pending = [need for need in pending if need - set(order)]
    return order + [v for v in range(n) if v not in order]


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
