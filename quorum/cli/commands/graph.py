"""`quorum graph SPEC ...`: a readable part of a model's state graph, as DOT, GraphML or SVG.

By default it draws the neighbourhood of the counterexample: the shortest behaviour to
the first state that violates an invariant (bold blue, the violating states filled red)
and the states one step off it, at most ``--states`` in all (default 30); a model with no
violation shows its first ``--states`` states in breadth-first order.  ``--whole`` draws
every state, and is refused above 200 states (no picture of more is readable).  The
drawing is scaled to at most 7.5 inches wide.  Output goes to stdout, or to ``-o FILE``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, UsageError
from quorum.cli.commands.check import (
    _add_param,
    check_mutant,
    check_output_paths,
    spec_values,
    write_output,
)
from quorum.cli.specs import SPECS, load

__all__ = ["DEFAULT_STATES", "MAX_DRAWN", "add_parser", "run"]

#: states drawn by default, and the most any picture may draw (--states, --whole)
DEFAULT_STATES, MAX_DRAWN = 30, 200


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="draw a readable part of a model's state graph",
                       description=__doc__.split("\n\n")[0])
    specs = p.add_subparsers(dest="spec", metavar="SPEC", parser_class=type(p))
    specs.required = True
    for spec_name in SPECS:
        info = load(spec_name)
        sp = specs.add_parser(spec_name, help=info.doc, description=info.doc)
        for param in info.params:
            _add_param(sp, param)
        sp.add_argument("--mutant", default=None, metavar="NAME",
                        help="a known-bug variant (its default bounds apply unless given): "
                             + (", ".join(sorted(info.mutants)) or "none"))
        sp.add_argument("--invariant", action="append", dest="properties", metavar="NAME",
                        help="highlight violations of this invariant only (repeatable)")
        sp.add_argument("--format", choices=("dot", "graphml", "svg"), default="dot")
        sp.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
        sp.add_argument("--states", type=int, default=DEFAULT_STATES, metavar="N",
                        help=f"draw the counterexample and states one step off it, at most N "
                             f"in all, or the first N states (default {DEFAULT_STATES}, at "
                             f"most {MAX_DRAWN})")
        sp.add_argument("--whole", action="store_true",
                        help=f"draw every reachable state (refused above {MAX_DRAWN})")
        sp.add_argument("--max-states", type=int, default=20000, metavar="N",
                        help="explore at most N states to find the counterexample "
                             "(default 20000)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from quorum.model_checker.errors import CheckError
    from quorum.model_checker.explicit.graph import neighbourhood, picture, render
    from quorum.spec.common import ConfigError

    info = load(args.spec)
    check_mutant(info, args.mutant)
    if args.max_states < 1:
        raise UsageError(f"--max-states must be at least 1, got {args.max_states}")
    if not 1 <= args.states <= MAX_DRAWN:
        raise UsageError(f"--states must be between 1 and {MAX_DRAWN}, got {args.states}")
    if args.whole and args.states != DEFAULT_STATES:
        raise UsageError("--whole draws every state; drop --states")
    check_output_paths(("--output", args.output))
    try:
        model = info.build(spec_values(info, args), args.mutant, False)
        pic = picture(model, properties=args.properties, max_states=args.max_states)
        if args.whole and len(pic.g.states) > MAX_DRAWN:
            raise UsageError(f"--whole: the graph has {len(pic.g.states):,} states, more than "
                             f"{MAX_DRAWN} are not readable; drop --whole to draw the "
                             f"counterexample's neighbourhood")
        if not args.whole:
            pic = neighbourhood(pic, args.states)
        text = render(pic, args.format)
    except (ConfigError, CheckError) as exc:
        raise UsageError(str(exc)) from None
    if args.output is None:
        sys.stdout.write(text)
    elif not write_output("--output", args.output, text):
        sys.stdout.write(text)  # not lost: the picture goes to stdout instead
    drawn = f"{len(pic.drawn):,} of {len(pic.g.states):,} states drawn, {len(pic.edges):,} edges"
    bad = f", {len(pic.bad)} violating (red), trace of {len(pic.trace)} states (blue)" \
        if pic.bad else ", no invariant violated"
    print(drawn + bad, file=sys.stderr)
    return EXIT_OK
