"""Counterexamples to induction: extracted from a z3 model, shrunk, printed as tables.

A :class:`CTI` is plain data: the kind of obligation that failed, the conjunct,
the action and its arguments, and the pre- and post-state as finite
:class:`~quorum.model_checker.symbolic.structure.Structure`s whose symbols carry their
pre-state names (the post-state's ``max_bal'`` appears as ``max_bal``).  Before
extraction the universe of each sort is shrunk to the fewest elements for which
the query stays satisfiable (mypyvy minimises its CTIs the same way), so the
tables stay small.  Element names: a rigid constant names its element
(``neg``); other elements get the sort's display prefix and an index, in the
sort's order when it has one (``neg < b0 < b1``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import z3

from quorum.model_checker.symbolic.structure import Structure

if TYPE_CHECKING:
    from quorum.model_checker.symbolic.system import TransitionSystem

__all__ = ["CTI", "extract_cti", "format_cti"]

RowKey = Callable[[tuple[str, ...]], tuple[int, ...]]
#: the longest a single shrinking query may take, in seconds
SHRINK_TIMEOUT = 5.0


@dataclass(frozen=True)
class CTI:
    """A state satisfying the invariant, and (for consecution) a step breaking a conjunct."""

    kind: str  # initiation | consecution | safety
    conjunct: str
    action: str | None
    args: Mapping[str, str]
    pre: Structure
    post: Structure | None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "conjunct": self.conjunct, "action": self.action,
                "args": dict(self.args),
                "universe": {k: list(v) for k, v in self.pre.universe.items()},
                "pre": _interp_json(self.pre.interp),
                "post": _interp_json(self.post.interp) if self.post else None}


def extract_cti(ts: TransitionSystem, solver: z3.Solver, kind: str, conjunct: str,
                action: str | None, timeout: float) -> CTI:
    """Read a CTI off ``solver``, which must have just answered ``sat``."""
    base = solver.num_scopes()
    try:
        model = solver.model()
        if timeout > 0:
            model = _shrink(solver, model, ts, min(timeout, SHRINK_TIMEOUT))
    finally:
        solver.pop(solver.num_scopes() - base)
    names = _element_names(ts, model)
    universe = {s.name(): tuple(names[s.name()].values()) for s in ts.sorts}
    read = functools.partial(_read_symbol, model, names)
    rigid = {d.name(): read(d) for d in ts.rigid}
    pre = Structure(universe, {**rigid, **{d.name(): read(d) for d in ts.pre}})
    post = None
    args: dict[str, str] = {}
    if action is not None:
        post = Structure(universe, {**rigid, **{p.name(): read(q) for p, q in ts.state}})
        for param in ts.actions[action].params:
            args[param.decl().name()] = _label(names, model.eval(param, model_completion=True))
    return CTI(kind, conjunct, action, args, pre, post)


def _shrink(solver: z3.Solver, model: z3.ModelRef, ts: TransitionSystem,
            timeout: float) -> z3.ModelRef:
    """Fewest elements per sort, then fewest true tuples of the pre-state relations.

    Greedy, one query per try, as mypyvy minimises its CTIs.  Leaves the constraints
    that kept the query satisfiable pushed on ``solver`` (the caller pops them).
    """
    solver.set("timeout", max(1, int(timeout * 1000)))

    def keep_if_sat(*constraints: z3.BoolRef) -> bool:
        nonlocal model
        solver.push()
        solver.add(*constraints)
        if solver.check() == z3.sat:
            model = solver.model()
            return True
        solver.pop()
        return False

    elements: dict[str, list[z3.ExprRef]] = {}
    for sort in ts.sorts:
        x = z3.Const(f"{sort.name()}!x", sort)
        size = len(model.get_universe(sort) or [])
        for k in range(1, size + 1):
            elems = [z3.Const(f"{sort.name()}!e{i}", sort) for i in range(k)]
            exact = [z3.ForAll([x], z3.Or([x == e for e in elems]))]
            if k > 1:
                exact.append(z3.Distinct(*elems))
            if keep_if_sat(*exact):
                elements[sort.name()] = elems
                break
    for decl in ts.pre:
        if decl.arity() == 0 or decl.range() != z3.BoolSort():
            continue
        domains = [elements.get(decl.domain(i).name(), []) for i in range(decl.arity())]
        for args in itertools.product(*domains):
            if z3.is_true(model.eval(decl(*args), model_completion=True)):
                keep_if_sat(z3.Not(decl(*args)))
            else:  # pin it false, so that later tries cannot grow the relation back
                solver.push()
                solver.add(z3.Not(decl(*args)))
    return model


def _element_names(ts: TransitionSystem, model: z3.ModelRef) -> dict[str, dict[str, str]]:
    """sort name -> (z3 element text -> display name), in display order."""
    names: dict[str, dict[str, str]] = {}
    for sort in ts.sorts:
        elems = list(model.get_universe(sort) or [])
        order = ts.orders.get(sort.name())
        if order is not None:
            def before(x: z3.ExprRef, y: z3.ExprRef, le: z3.FuncDeclRef = order) -> int:
                return -1 if z3.is_true(model.eval(le(x, y), model_completion=True)) else 1
            elems.sort(key=functools.cmp_to_key(before))
        constants = {str(model.eval(c(), model_completion=True)): c.name()
                     for c in ts.rigid if c.arity() == 0 and c.range() == sort}
        prefix = ts.display.get(sort.name(), sort.name())
        taken = {c.name() for c in ts.rigid}
        fresh = (f"{prefix}{n}" for n in itertools.count() if f"{prefix}{n}" not in taken)
        names[sort.name()] = {str(e): constants.get(str(e)) or next(fresh) for e in elems}
    return names


def _label(names: Mapping[str, Mapping[str, str]], value: z3.ExprRef) -> Any:
    if z3.is_bool(value):
        return z3.is_true(value)
    return names[value.sort().name()][str(value)]


def _read_symbol(model: z3.ModelRef, names: Mapping[str, Mapping[str, str]],
                 decl: z3.FuncDeclRef) -> Any:
    def value(args: tuple[z3.ExprRef, ...]) -> Any:
        return _label(names, model.eval(decl(*args), model_completion=True))

    if decl.arity() == 0:
        return value(())
    domains = [_universe(model, decl.domain(i)) for i in range(decl.arity())]
    rows = {tuple(_label(names, a) for a in args): value(args)
            for args in itertools.product(*domains)}
    if decl.range() == z3.BoolSort():
        return frozenset(k for k, v in rows.items() if v)
    return rows


def _universe(model: z3.ModelRef, sort: z3.SortRef) -> list[z3.ExprRef]:
    if sort == z3.BoolSort():
        return [z3.BoolVal(False), z3.BoolVal(True)]
    return list(model.get_universe(sort) or [])


def _interp_json(interp: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in interp.items():
        if isinstance(value, frozenset):
            out[name] = sorted(list(t) for t in value)
        elif isinstance(value, dict):
            out[name] = {",".join(k): v for k, v in value.items()}
        else:
            out[name] = value
    return out


# -- printing --------------------------------------------------------------------

def format_cti(cti: CTI, ts: TransitionSystem) -> str:
    """The CTI as a few small text tables: the universe, rigid symbols, state before/after."""
    rank = {e: i for elems in cti.pre.universe.values() for i, e in enumerate(elems)}

    def key(row: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(rank.get(e, -1) for e in row)

    lines = [_headline(cti), "", _universe_line(cti.pre, ts)]
    hidden = {d.name() for d in ts.orders.values()}
    for decl in ts.rigid:
        if decl.name() not in hidden and decl.arity() > 0:
            lines += _rigid_table(decl, cti.pre.interp[decl.name()], key)
    for pre, _ in ts.state:
        after = cti.post.interp[pre.name()] if cti.post else None
        lines += _state_table(pre, cti.pre.interp[pre.name()], after, key)
    return "\n".join(lines)


def _headline(cti: CTI) -> str:
    if cti.kind == "initiation":
        return f"Counterexample: an initial state breaks {cti.conjunct!r}"
    if cti.kind == "safety":
        return f"Counterexample: a state satisfies the invariant but breaks {cti.conjunct!r}"
    args = ", ".join(f"{k}={v}" for k, v in cti.args.items())
    return (f"Counterexample to induction: {cti.action}({args}) "
            f"from a state satisfying the invariant breaks {cti.conjunct!r}")


def _universe_line(s: Structure, ts: TransitionSystem) -> str:
    parts = []
    for sort, elems in s.universe.items():
        sep = " < " if sort in ts.orders else " "
        parts.append(f"{sort}: {sep.join(elems)}")
    return "universe  " + "   ".join(parts)


def _signature(decl: z3.FuncDeclRef) -> str:
    return f"{decl.name()}({', '.join(decl.domain(i).name() for i in range(decl.arity()))})"


def _rigid_table(decl: z3.FuncDeclRef, value: Any, key: RowKey) -> list[str]:
    if isinstance(value, frozenset):
        rows = ", ".join("(" + ", ".join(t) + ")" for t in sorted(value, key=key)) or "(none)"
        return [f"{_signature(decl)}: {rows}"]
    rows = ", ".join(f"{','.join(k)}->{value[k]}" for k in sorted(value, key=key))
    return [f"{_signature(decl)}: {rows}"]


def _state_table(decl: z3.FuncDeclRef, before: Any, after: Any, key: RowKey) -> list[str]:
    """One table: a row per argument tuple (true tuples for relations), before/after columns."""
    if decl.arity() == 0:
        shown = f"{before}" if after is None else f"{before} -> {after}"
        return ["", f"{decl.name()} = {shown}"]
    if isinstance(before, frozenset):
        keys = sorted(before | (after or frozenset()), key=key)
        rows = [(k, "x" if k in before else "", "x" if after and k in after else "")
                for k in keys]
    else:
        rows = [(k, before[k], after[k] if after else "") for k in sorted(before, key=key)]
    header = (_signature(decl), "before", "after" if after is not None else "")
    cells = [header] + [("  " + " ".join(k), str(b), str(a)) for k, b, a in rows]
    if not rows:
        cells.append(("  (empty)", "", ""))
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    table = ["  ".join(c[i].ljust(widths[i]) for i in range(3)).rstrip() for c in cells]
    return ["", *table]
