"""Lemmas: single z3 claims, proved valid or refuted with a (smallest) counterexample.

A lemma is plain data (a ``dict``) written by a spec:

``name``      what it is called on the command line and in reports;
``doc``       one line saying what it states;
``claim``     a z3 formula; its free constants are universally quantified, so the
              claim is *valid* when ``Not(claim)`` is unsatisfiable;
``expect``    ``"proved"`` or ``"refuted"`` (a lemma may be a known-false statement,
              such as the tutorial's ceil(n/2) quorums, kept to show its counterexample);
``minimize``  optional integer constant: when the claim is refuted, the counterexample
              reported is one with the smallest value of it (z3's ``Optimize``).

:func:`check_lemma` returns a :class:`LemmaResult`; ``ok`` says whether the result is
the expected one.  A solver that gives up yields ``"unknown"``, never ``"proved"``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import z3

__all__ = ["LemmaResult", "check_lemma"]


@dataclass(frozen=True)
class LemmaResult:
    name: str
    doc: str
    expect: str
    result: str  # proved | refuted | unknown
    seconds: float
    counterexample: Mapping[str, str] | None

    @property
    def ok(self) -> bool:
        return self.result == self.expect

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "doc": self.doc, "expect": self.expect,
                "result": self.result, "ok": self.ok, "seconds": round(self.seconds, 4),
                "counterexample": dict(self.counterexample) if self.counterexample else None}


def check_lemma(lemma: Mapping[str, Any], timeout: float = 30.0) -> LemmaResult:
    """Try to refute ``lemma["claim"]``; unsat means the claim holds for all values."""
    claim: z3.BoolRef = lemma["claim"]
    target = lemma.get("minimize")
    solver: z3.Solver | z3.Optimize = z3.Optimize() if target is not None else z3.Solver()
    solver.set("timeout", max(1, int(timeout * 1000)))
    solver.add(z3.Not(claim))
    if target is not None:
        assert isinstance(solver, z3.Optimize)
        solver.minimize(target)
    start = time.perf_counter()
    answer = solver.check()
    seconds = time.perf_counter() - start
    result = "proved" if answer == z3.unsat else "refuted" if answer == z3.sat else "unknown"
    cex = _counterexample(solver.model()) if answer == z3.sat else None
    return LemmaResult(lemma["name"], lemma.get("doc", ""), lemma.get("expect", "proved"),
                       result, seconds, cex)


def _counterexample(model: z3.ModelRef) -> dict[str, str]:
    """The model's constants, bit-vectors shown as bit strings (a set of elements)."""
    out = {}
    for decl in sorted(model.decls(), key=lambda d: d.name()):
        if decl.arity() != 0:
            continue
        value = model[decl]
        if z3.is_bv_value(value):
            bits = value.size()
            out[decl.name()] = "{" + ",".join(
                str(i + 1) for i in range(bits) if value.as_long() >> i & 1) + "}"
        else:
            out[decl.name()] = str(value)
    return out
