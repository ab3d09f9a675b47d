"""quorum: Paxos and Raft as executable specs, a model checker, z3 proofs, and a KV store.

This module is the entry point of the `quorum` command.

Every subcommand is a module in ``quorum/cli/commands`` with two functions:
``add_parser(subparsers)`` registers its flags and ``run(args) -> int`` does the work
and returns the exit code.  Modules keep heavy imports (z3, grpc) inside ``run`` so
that ``quorum --help`` stays fast.

Exit codes, for every subcommand: 0 success (for ``check``: every property holds in
the whole bounded model), 1 a violation or failed check, 2 a usage or configuration
error (one line on stderr, never a traceback), 3 unknown (a proof that timed out),
4 incomplete (no violation found, but the search was cut short by ``--max-states`` or
was a simulation, so nothing is proved; ``--json`` says ``"verdict": "incomplete"``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

__all__ = ["EXIT_INCOMPLETE", "EXIT_OK", "EXIT_VIOLATION", "EXIT_USAGE", "EXIT_UNKNOWN",
           "UsageError", "main"]

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_UNKNOWN, EXIT_INCOMPLETE = 0, 1, 2, 3, 4

#: subcommand name -> module under quorum.cli.commands (one line each; keep sorted by use)
COMMANDS: dict[str, str] = {
    "check": "quorum.cli.commands.check",
    "example": "quorum.cli.commands.example",
    "graph": "quorum.cli.commands.graph",
    "explore": "quorum.cli.commands.explore",
    "list": "quorum.cli.commands.list_specs",
    "prove": "quorum.cli.commands.prove",
    "replay": "quorum.cli.commands.replay",
    "serve": "quorum.cli.commands.serve",
    "cluster": "quorum.cli.commands.cluster",
    "kv": "quorum.cli.commands.kv",
    "sim": "quorum.cli.commands.sim",
    "verify-impl": "quorum.cli.commands.verify_impl",
    "torture": "quorum.cli.commands.torture",
}


class UsageError(Exception):
    """The user's command line or configuration is wrong: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="quorum", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"quorum {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("quorum: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`quorum check ... | head`): not an error of ours.  Point
        # stdout at /dev/null so the interpreter's final flush does not raise again.
        # The verdict was not delivered, so say so as a shell would: 128 + SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
