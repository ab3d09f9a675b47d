"""`quorum torture`: a Jepsen-style test of a real cluster (quorum.harness).

Starts ``--members`` real `quorum serve` processes (a data directory each), drives
``--clients`` concurrent clients (reads, writes, compare-and-swaps) for ``--duration``
seconds while a seeded nemesis crashes (kill -9), pauses (SIGSTOP/SIGCONT), restarts and
replaces members, heals, reads every key once more, and judges the history with the
linearizability checker.  Exit 0 linearizable, 1 not (the operation and a window of its
key's history printed), 3 unknown (the checker's budget ran out, or the cluster could
not be brought up or healed), 2 bad flags.

``quorum torture --check FILE`` judges a history saved by ``--history-out`` again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, UsageError

__all__ = ["add_parser", "run"]

NEMESES = ("kill", "pause", "restart", "member")


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="Jepsen-style test of a real cluster: faults, clients, "
                                  "linearizability")
    a = p.add_argument
    a("--members", type=int, default=3, help="cluster size (3..9)")
    a("--duration", type=float, default=30.0, help="seconds of load under faults")
    a("--clients", type=int, default=8, help="concurrent clients (1..64)")
    a("--keys", type=int, default=5, help="number of keys the clients share (1..100)")
    a("--nemesis", default=",".join(NEMESES),
      help=f"comma-separated faults among {','.join(NEMESES)}, or 'none'")
    a("--seed", type=int, default=0, help="seeds the fault schedule and the clients' choices")
    a("--op-timeout", type=float, default=1.5,
      help="seconds before a client gives up on an operation (then indeterminate)")
    a("--check-timeout", type=float, default=60.0, help="seconds the checker may take")
    a("--data-dir", default=None,
      help="where members keep their data and logs (default: a temporary directory, "
           "removed after a passing run)")
    a("--history-out", default=None, help="save the history, events and settings as JSON")
    a("--check", default=None, metavar="FILE",
      help="judge a saved history again instead of running a cluster")
    a("--serializable-reads", action="store_true",
      help="read with etcd's serializable (local) reads, which are NOT linearizable: "
           "shows what a violation looks like")
    a("--json", action="store_true", help="print one JSON object")
    # test-only: every member runs this known bug (needs QUORUM_UNSAFE_MUTANTS=1)
    a("--unsafe-mutant", action="append", default=[], help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> Any:
    from quorum.cli.commands.serve import unsafe_mutants
    from quorum.harness import Settings

    if not 3 <= args.members <= 9:
        raise UsageError("--members must be between 3 and 9")
    if not 0 < args.duration <= 24 * 3600:
        raise UsageError("--duration must be positive (seconds, at most a day)")
    if not 1 <= args.clients <= 64:
        raise UsageError("--clients must be between 1 and 64")
    if not 1 <= args.keys <= 100:
        raise UsageError("--keys must be between 1 and 100")
    if not (args.op_timeout > 0 and args.check_timeout > 0):
        raise UsageError("--op-timeout and --check-timeout must be positive")
    kinds = tuple(k.strip() for k in args.nemesis.split(",") if k.strip())
    if kinds == ("none",):
        kinds = ()
    bad = [k for k in kinds if k not in NEMESES]
    if bad or len(set(kinds)) != len(kinds):
        raise UsageError(f"--nemesis {args.nemesis!r}: name each of {', '.join(NEMESES)} "
                         f"at most once, or 'none'")
    unsafe_mutants(args.unsafe_mutant)  # refused unless the environment allows it
    return Settings(members=args.members, duration=args.duration, clients=args.clients,
                    keys=args.keys, nemesis=kinds, seed=args.seed,
                    op_timeout=args.op_timeout, check_timeout=args.check_timeout,
                    mutants=tuple(args.unsafe_mutant),
                    serializable_reads=args.serializable_reads)


def _exit(verdict: str) -> int:
    return {"ok": EXIT_OK, "illegal": EXIT_VIOLATION}.get(verdict, EXIT_UNKNOWN)


def _recheck(args: argparse.Namespace) -> int:
    from quorum.harness.verdict import describe, judge, load

    try:
        ops, events, settings = load(Path(args.check))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = judge(ops, args.check_timeout)
    if args.json:
        print(json.dumps({"verdict": result.verdict, "operations": len(ops),
                          "check_seconds": round(result.seconds, 3),
                          "unlinearizable": None if result.unlinearizable is None
                          else str(result.unlinearizable), "reason": result.reason}))
    else:
        print("\n".join(describe(result)))
    return _exit(result.verdict)


def run(args: argparse.Namespace) -> int:
    if args.check is not None:
        return _recheck(args)
    settings = _settings(args)
    from quorum.harness import torture
    from quorum.harness.processes import HarnessError
    from quorum.harness.verdict import describe

    say = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    history = Path(args.history_out) if args.history_out else None
    data = Path(args.data_dir) if args.data_dir else None
    try:
        result = torture(settings, data, history, say)
    except HarnessError as exc:
        print(f"quorum torture: no verdict: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    summary = result.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        c = summary["counts"]
        print(f"{summary['operations']} operations in {result.load_seconds:.1f}s "
              f"({summary['ops_per_s']} ok/s); faults: "
              + ", ".join(f"{k} {v}" for k, v in summary["faults"].items()))
        for kind, n in c.items():
            print(f"  {kind:5} ok {n['ok']:6}  fail {n['fail']:5}  indeterminate {n['info']:4}")
        if result.heal_error:
            print(f"warning: the cluster did not heal: {result.heal_error}")
        print("\n".join(describe(result.result)))
        if result.logs:
            print(f"member logs: {Path(result.logs[0]).parent}")
        if history is not None:
            print(f"history saved to {history} (re-check: quorum torture --check {history})")
    return _exit(result.verdict)
