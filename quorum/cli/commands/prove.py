"""`quorum prove SPEC`: z3 proofs for every size: inductive invariants and quorum lemmas.

``paxos`` and ``raft`` are symbolic transition systems: the command checks that the
invariant is inductive and implies the safety property (``quorum.model_checker.symbolic.induction``),
one solver query per (conjunct, action), and prints a counterexample to induction when
a check fails (``--drop CONJUNCT`` removes a conjunct to show why it is needed).
``quorums`` checks the quorum lemmas (``quorum.model_checker.symbolic.lemmas``).

Exit codes: 0 proved, 1 refuted (CTI printed), 3 unknown (a query timed out or z3
gave up), 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import json
from typing import Any

from quorum.cli import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError

__all__ = ["LEMMAS", "SYSTEMS", "add_parser", "run"]

#: name -> "module:function" returning a symbolic system (plain data)
SYSTEMS: dict[str, str] = {
    "paxos": "quorum.spec.paxos.symbolic:system",
    "raft": "quorum.spec.raft.symbolic:election_safety",
    "raft-log": "quorum.spec.raft.symbolic:log_matching",
    "multipaxos": "quorum.spec.multipaxos.symbolic:system",
}
#: name -> "module:function" returning a list of lemmas (plain data)
LEMMAS: dict[str, str] = {
    "quorums": "quorum.spec.quorums:lemmas",
}


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="prove an inductive invariant or lemmas with z3",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("spec", choices=sorted([*SYSTEMS, *LEMMAS]), metavar="SPEC",
                   help="one of: " + ", ".join(sorted([*SYSTEMS, *LEMMAS])))
    p.add_argument("--drop", action="append", default=[], metavar="CONJUNCT",
                   help="remove an invariant conjunct (repeatable) and show the CTI")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds per solver query (default: 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="print only the verdict (and a CTI)")
    p.set_defaults(run=run)


def _load(ref: str) -> Any:
    module, func = ref.split(":")
    return getattr(importlib.import_module(module), func)()


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    if args.spec in LEMMAS:
        if args.drop:
            raise UsageError(f"--drop applies to invariants; {args.spec} is a list of lemmas")
        return _run_lemmas(args)
    return _run_system(args)


def _run_system(args: argparse.Namespace) -> int:
    from quorum.model_checker.symbolic.cti import format_cti
    from quorum.model_checker.symbolic.induction import InductionError, prove
    from quorum.model_checker.symbolic.system import TransitionSystem

    try:
        ts = TransitionSystem.from_data(_load(SYSTEMS[args.spec]))
        proof = prove(ts, drop=args.drop, timeout=args.timeout)
    except InductionError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(proof.to_json(), indent=2))
    else:
        if not args.quiet:
            print(format_table(proof))
            print()
        print(verdict_line(proof))
        if proof.cti is not None:
            print()
            print(format_cti(proof.cti, ts))
    return {"proved": EXIT_OK, "refuted": EXIT_VIOLATION}.get(proof.result, EXIT_UNKNOWN)


def verdict_line(proof: Any) -> str:
    safety = ", ".join(proof.safety)
    dropped = f" (without {', '.join(proof.dropped)})" if proof.dropped else ""
    n = len(proof.checks)
    if proof.result == "proved":
        return (f"{proof.system}: {safety} PROVED for all sizes: {len(proof.conjuncts)} "
                f"conjuncts{dropped} are inductive ({n} checks, {proof.seconds:.2f} s)")
    failed = [c for c in proof.checks if c.result != "proved"]
    first = failed[0]
    where = f"{first.kind} of {first.conjunct}" + (f" under {first.action}" if first.action
                                                   else "")
    return (f"{proof.system}: {proof.result.upper()}{dropped}: {len(failed)} of {n} checks "
            f"not proved, first: {where}")


_MARK = {"proved": "ok", "refuted": "FAIL", "unknown": "?"}


def format_table(proof: Any) -> str:
    """Conjuncts by obligation (init, then each action): result and seconds."""
    columns: list[str] = ["init"]
    cells: dict[tuple[str, str], str] = {}
    extra: list[str] = []
    for c in proof.checks:
        cell = f"{_MARK[c.result]} {c.seconds:.2f}"
        if c.kind == "initiation":
            cells[(c.conjunct, "init")] = cell
        elif c.kind == "consecution":
            if c.action not in columns:
                columns.append(c.action)
            cells[(c.conjunct, c.action)] = cell
        else:
            what = f"{c.kind}: {c.conjunct}" + (f" & {c.action}" if c.action else "")
            extra.append(f"{what:<40} {cell}")
    rows = [["conjunct", *columns]]
    rows += [[name, *(cells.get((name, col), "-") for col in columns)]
             for name in proof.conjuncts]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns) + 1)]
    table = ["  ".join(r[i].ljust(widths[i]) for i in range(len(r))).rstrip() for r in rows]
    return "\n".join([*table, "", *extra])


def _run_lemmas(args: argparse.Namespace) -> int:
    from quorum.model_checker.symbolic.lemmas import check_lemma

    results = [check_lemma(lemma, args.timeout) for lemma in _load(LEMMAS[args.spec])]
    ok = all(r.ok for r in results)
    if args.json:
        print(json.dumps({"spec": args.spec, "ok": ok,
                          "lemmas": [r.to_json() for r in results]}, indent=2))
    else:
        for r in results:
            if args.quiet and r.ok:
                continue
            mark = "ok  " if r.ok else "FAIL"
            cex = f"  counterexample: {_show(r.counterexample)}" if r.counterexample else ""
            print(f"{mark} {r.result:<8} {r.name:<26} {r.doc}{cex}")
        print(f"{args.spec}: {sum(r.ok for r in results)} of {len(results)} lemmas as "
              f"expected ({sum(r.seconds for r in results):.2f} s)")
    if ok:
        return EXIT_OK
    return EXIT_UNKNOWN if any(r.result == "unknown" for r in results) else EXIT_VIOLATION


def _show(cex: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in cex.items())
