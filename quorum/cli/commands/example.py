"""`quorum example NAME`: the canonical counterexamples, one command each.

``figure8`` replays the Raft paper's Figure 8 (Ongaro and Ousterhout, §5.4.2) on three
servers with the ``commit-old-term`` mutant: 52 states (``quorum.spec.raft.figure8``),
told as the paper's four phases.
The others run ``quorum check`` on the bug the tutorials teach: the quorum size ceil(n/2)
(a majority is floor(n/2)+1) in Paxos, Raft and primary-backup, and split brain in
primary-backup replication without fencing.  Each prints its counterexample and exits 1
(the bug is found); ``quorum example`` alone lists them.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass
from typing import Any

from quorum.cli import EXIT_OK, EXIT_VIOLATION, UsageError

__all__ = ["EXAMPLES", "add_parser", "run"]


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    story: str
    #: the `quorum check` arguments that find it (None: figure8, replayed step by step)
    check: tuple[str, ...] | None = None


EXAMPLES: dict[str, Example] = {e.name: e for e in (
    Example("figure8", "Raft's Figure 8: a leader commits an entry of an older term",
            "A leader that counts replicas of an entry from an earlier term commits it; a "
            "later leader whose log lacks the entry is elected anyway, and would overwrite "
            "it. Raft (Ongaro and Ousterhout, section 5.4.2) commits only entries of the "
            "leader's own term by counting. Three servers, the commit-old-term mutant, "
            "52 states in four phases."),
    Example("ceil-majority-paxos", "Paxos with quorums of ceil(n/2) acceptors",
            "With 4 acceptors, ceil(4/2) = 2: the quorums {a1,a2} and {a3,a4} share no "
            "acceptor, so two proposers each get a value chosen. A majority is "
            "floor(n/2)+1 = 3, and any two majorities intersect.",
            ("paxos", "--mutant", "ceil-quorum")),
    Example("ceil-majority-raft", "Raft with an election quorum of ceil(n/2) votes",
            "With 2 servers, ceil(2/2) = 1: each server's own vote elects it, and both lead "
            "the same term (ElectionSafety). floor(2/2)+1 = 2 votes would be needed.",
            ("raft", "--mutant", "ceil-quorum")),
    Example("ceil-majority-primary-backup",
            "Primary-backup (sync-majority) counting ceil(n/2) nodes as a majority",
            "With 4 nodes, a write acknowledged by one pair is lost when the other pair "
            "elects a new primary that never saw it (NoLostWrite).",
            ("primary-backup", "--mutant", "ceil-majority")),
    Example("split-brain", "Primary-backup without fencing: split brain",
            "Synchronous replication without epochs: a backup that suspects the primary "
            "takes over while the old primary still serves, and two primaries accept "
            "writes (NoSplitBrain).",
            ("primary-backup", "--mode", "sync", "--no-fencing")),
)}


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="the canonical counterexamples, one command each",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("name", nargs="?", metavar="NAME", default=None,
                   help="one of: " + ", ".join(EXAMPLES) + " (none: list them)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.name is None:
        for e in EXAMPLES.values():
            print(f"{e.name:<30} {e.title}")
        return EXIT_OK
    if args.name not in EXAMPLES:
        raise UsageError(f"no example {args.name!r} (known: {', '.join(EXAMPLES)})")
    e = EXAMPLES[args.name]
    print(f"{e.title}.")
    print(textwrap.fill(e.story, 88))
    print()
    if e.check is None:
        return _figure_8()
    from quorum.cli import main

    print("$ quorum check " + " ".join(e.check))
    return main(["check", *e.check, "--quiet", "--store", "exact"])


def _figure_8() -> int:
    from quorum.model_checker.model import format_label
    from quorum.model_checker.result import Step
    from quorum.model_checker.trace import format_trace
    from quorum.spec.raft import SPEC
    from quorum.spec.raft.figure8 import FIGURE_8, figure_8_labels

    model = SPEC.build(SPEC.defaults("commit-old-term"), "commit-old-term", False)
    state = next(iter(model.initial_states()))
    trace = [Step(None, state)]
    for text in figure_8_labels():
        found = [(lab, t) for lab, t in model.successors(state) if format_label(lab, model) == text]
        if len(found) != 1:  # the spec changed under the example: say so, in one line
            raise UsageError(f"figure8: step {len(trace) + 1}, {text}, is not enabled in the "
                             "Raft spec any more")
        (label, state), = found
        trace.append(Step(label, state))
    blocks = _steps(format_trace(model, tuple(trace)))
    print("(`quorum check raft --mutant commit-old-term` finds the same bug by simulation, in "
          "a longer trace;\n this one is built by hand, and no step of it can be left out.)")
    print("\n".join(blocks[0]))
    at = 1
    for caption, steps in FIGURE_8:
        print()
        print(textwrap.fill(caption, 88))
        for block in blocks[at:at + len(steps)]:
            print("\n".join(block))
        at += len(steps)
    holds = model.invariants["LeaderCompleteness"]
    assert not holds(trace[-1].state)
    print()
    print(f"Error: invariant LeaderCompleteness is violated in state {len(trace)}: s2 leads "
          "term 5 without 2:v1, which s1 committed in term 4.")
    return EXIT_VIOLATION


def _steps(text: str) -> list[list[str]]:
    """format_trace's lines, grouped by step (a step starts with ``N: Action``)."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith(" "):
            blocks.append([])
        blocks[-1].append(line)
    return blocks
