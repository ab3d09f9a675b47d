"""`quorum graph SPEC ...`: the state graph of a small model as DOT, GraphML or SVG.

States that violate an invariant are filled red and the shortest behaviour to the
first of them is drawn in bold blue.  Output goes to stdout, or to ``--output FILE``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, UsageError
from quorum.cli.commands.check import _add_param, spec_values
from quorum.cli.specs import SPECS, load

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="draw a small model's state graph",
                       description=__doc__.split("\n\n")[0])
    specs = p.add_subparsers(dest="spec", metavar="SPEC", parser_class=type(p))
    specs.required = True
    for spec_name in SPECS:
        info = load(spec_name)
        sp = specs.add_parser(spec_name, help=info.doc, description=info.doc)
        for param in info.params:
            _add_param(sp, param)
        sp.add_argument("--mutant", choices=sorted(info.mutants) or None, default=None,
                        help="a known-bug variant (its default bounds apply unless given)")
        sp.add_argument("--invariant", action="append", dest="properties", metavar="NAME",
                        help="highlight violations of this invariant only (repeatable)")
        sp.add_argument("--format", choices=("dot", "graphml", "svg"), default="dot")
        sp.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
        sp.add_argument("--max-states", type=int, default=2000, metavar="N",
                        help="refuse graphs larger than this (default 2000)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from quorum.model_checker.errors import CheckError
    from quorum.model_checker.explicit.graph import picture, render
    from quorum.spec.common import ConfigError

    info = load(args.spec)
    if args.max_states < 1:
        raise UsageError(f"--max-states must be at least 1, got {args.max_states}")
    try:
        model = info.build(spec_values(info, args), args.mutant, False)
        pic = picture(model, properties=args.properties, max_states=args.max_states)
        text = render(pic, args.format)
    except (ConfigError, CheckError) as exc:
        raise UsageError(str(exc)) from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    bad = f", {len(pic.bad)} violating (red), trace of {len(pic.trace)} states (blue)" \
        if pic.bad else ", no invariant violated"
    print(f"{len(pic.g.states):,} states, {pic.g.graph.number_of_edges():,} edges{bad}",
          file=sys.stderr)
    return EXIT_OK
