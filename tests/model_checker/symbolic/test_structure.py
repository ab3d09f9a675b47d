"""Evaluating z3 formulas over finite structures (quorum.model_checker.symbolic.structure).

Each formula is evaluated by the compiled closure (with its guard-pruned loops) and by
brute force in Python over every structure of a small family; they must agree.
"""

from __future__ import annotations

import itertools

import pytest
import z3

from quorum.model_checker.symbolic.structure import Structure, compile_formula

S = z3.DeclareSort("S")
r = z3.Function("r", S, S, z3.BoolSort())
f = z3.Function("f", S, S)
c = z3.Const("c", S)
x, y, w = z3.Consts("x y w", S)
UNIVERSE = {"S": ("e0", "e1", "e2")}
ELEMS = UNIVERSE["S"]
PAIRS = [(a, b) for a in ELEMS for b in ELEMS]


def structures():
    """Every relation r over 3 elements with at most 3 pairs, two choices of f and c."""
    for size in range(4):
        for rel in itertools.combinations(PAIRS, size):
            for shift in (0, 1):
                fun = {(e,): ELEMS[(i + shift) % 3] for i, e in enumerate(ELEMS)}
                yield {"r": frozenset(rel), "f": fun, "c": ELEMS[size % 3]}


CASES = [
    (z3.ForAll([x, y], z3.Implies(r(x, y), r(y, x))),
     lambda i: all((b, a) in i["r"] for a, b in i["r"])),
    (z3.ForAll([x, y, w], z3.Implies(z3.And(r(x, y), r(y, w)), r(x, w))),
     lambda i: all((a, d) in i["r"] for a, b in i["r"] for b2, d in i["r"] if b == b2)),
    (z3.ForAll([x], z3.Exists([y], z3.And(r(x, y), y != x))),
     lambda i: all(any((a, b) in i["r"] and b != a for b in ELEMS) for a in ELEMS)),
    (z3.Exists([x, y], z3.And(r(x, y), f(x) == y, x != c)),
     lambda i: any((a, b) in i["r"] and i["f"][(a,)] == b and a != i["c"] for a, b in PAIRS)),
    (z3.ForAll([y, x], z3.Implies(z3.And(r(x, c), r(c, y)), z3.Or(x == y, r(x, y)))),
     lambda i: all(a == b or (a, b) in i["r"] for a, b in PAIRS
                   if (a, i["c"]) in i["r"] and (i["c"], b) in i["r"])),
    (z3.Not(z3.ForAll([x], z3.If(r(x, x), f(x) == x, z3.Distinct(x, f(x), c)))),
     lambda i: not all(i["f"][(a,)] == a if (a, a) in i["r"]
                       else len({a, i["f"][(a,)], i["c"]}) == 3 for a in ELEMS)),
]


@pytest.mark.parametrize("formula, expected", CASES)
def test_compiled_formula_agrees_with_brute_force(formula, expected):
    run = compile_formula(formula, UNIVERSE)
    seen = set()
    for interp in structures():
        value = run(interp, ())
        assert value == expected(interp), (formula, interp)
        seen.add(value)
    assert seen == {True, False}  # the family exercises both answers


def test_structure_holds_with_bindings():
    s = Structure(UNIVERSE, {"r": frozenset({("e0", "e1")}), "f": {}, "c": "e0"})
    d = z3.Const("d", S)
    assert s.holds(r(c, d), d="e1") and not s.holds(r(c, d), d="e2")


def test_outside_the_fragment_is_one_clear_error():
    n = z3.Int("n")
    with pytest.raises(ValueError, match="cannot evaluate"):
        compile_formula(n + 1 > n, UNIVERSE)
