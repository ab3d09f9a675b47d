"""Small z3py vocabulary shared by the symbolic specs (``spec/*/symbolic.py``).

A symbolic spec is plain data for ``quorum.model_checker.symbolic.induction``: state symbols come in
pairs ``(pre, post)``, and every action must say what each post-state symbol is.
These helpers write those frame conditions, and the axioms of a total order.
Nothing here knows a protocol.
"""

from __future__ import annotations

import z3

__all__ = ["StateSymbol", "gain_below", "insert", "lt", "quorums_intersect", "remove_row", "state",
           "total_order", "unchanged"]

StateSymbol = tuple[z3.FuncDeclRef, z3.FuncDeclRef]


def state(name: str, *sig: z3.SortRef) -> StateSymbol:
    """A mutable symbol: its pre-state declaration and its primed post-state copy."""
    return z3.Function(name, *sig), z3.Function(name + "'", *sig)


def _vars(decl: z3.FuncDeclRef) -> list[z3.ExprRef]:
    return [z3.Const(f"x{i}", decl.domain(i)) for i in range(decl.arity())]


def unchanged(*symbols: StateSymbol) -> z3.BoolRef:
    """Each symbol keeps its value (TLA+'s ``UNCHANGED``)."""
    out = []
    for pre, post in symbols:
        xs = _vars(pre)
        out.append(z3.ForAll(xs, post(*xs) == pre(*xs)) if xs else post() == pre())
    return z3.And(out)


def insert(symbol: StateSymbol, *row: z3.ExprRef) -> z3.BoolRef:
    """The relation gains one tuple (a message is sent, a history is extended)."""
    pre, post = symbol
    xs = _vars(pre)
    is_row = z3.And([x == r for x, r in zip(xs, row, strict=True)])
    return z3.ForAll(xs, post(*xs) == z3.Or(pre(*xs), is_row))


def remove_row(symbol: StateSymbol, *prefix: z3.ExprRef) -> z3.BoolRef:
    """The relation loses every tuple that starts with ``prefix``."""
    pre, post = symbol
    xs = _vars(pre)
    hit = z3.And([x == p for x, p in zip(xs, prefix, strict=False)])
    return z3.ForAll(xs, post(*xs) == z3.And(pre(*xs), z3.Not(hit)))


def total_order(le: z3.FuncDeclRef, least: z3.ExprRef | None = None) -> dict[str, z3.BoolRef]:
    """Axioms making ``le`` a total order (with ``least`` its least element, if given)."""
    s = le.domain(0)
    x, y, z = z3.Consts("x y z", s)
    axioms = {
        "le_reflexive": z3.ForAll([x], le(x, x)),
        "le_transitive": z3.ForAll([x, y, z], z3.Implies(z3.And(le(x, y), le(y, z)), le(x, z))),
        "le_antisymmetric": z3.ForAll([x, y], z3.Implies(z3.And(le(x, y), le(y, x)), x == y)),
        "le_total": z3.ForAll([x, y], z3.Or(le(x, y), le(y, x))),
    }
    if least is not None:
        axioms[f"{least}_least"] = z3.ForAll([x], le(least, x))
    return axioms


def lt(le: z3.FuncDeclRef, x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
    """Strictly below, in the total order ``le``."""
    return z3.Not(le(y, x))


def gain_below(symbol: StateSymbol, who: z3.ExprRef, bound: z3.ExprRef,
               le: z3.FuncDeclRef) -> z3.BoolRef:
    """A binary relation gains ``(who, y)`` for every ``y`` strictly below ``bound`` in ``le``:
    an acceptor that raises its ballot to ``bound`` leaves every lower ballot."""
    pre, post = symbol
    x, y = _vars(pre)
    return z3.ForAll([x, y], post(x, y) == z3.Or(pre(x, y), z3.And(x == who, lt(le, y, bound))))


def quorums_intersect(member: z3.FuncDeclRef) -> dict[str, z3.BoolRef]:
    """The axiom that any two quorums share a member (``member(node, quorum)``)."""
    q1, q2 = z3.Consts("q1 q2", member.domain(1))
    x = z3.Const("x", member.domain(0))
    return {"quorum_intersection": z3.ForAll(
        [q1, q2], z3.Exists([x], z3.And(member(x, q1), member(x, q2))))}
