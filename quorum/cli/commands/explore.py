"""`quorum explore SPEC ...`: step through a spec in the browser, on a local page.

Takes the spec flags of `quorum check` (and `--mutant`); `--trace FILE` opens a
counterexample (`quorum check --json` output or ITF).  Prints the URL and serves until
Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, UsageError
from quorum.cli.commands.check import _add_param, spec_values
from quorum.cli.specs import SPECS, load

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="step through a spec in the browser",
                       description=__doc__.split("\n\n")[0])
    specs = p.add_subparsers(dest="spec", metavar="SPEC", parser_class=type(p))
    specs.required = True
    for spec_name in SPECS:
        info = load(spec_name)
        sp = specs.add_parser(spec_name, help=info.doc, description=info.doc)
        for param in info.params:
            _add_param(sp, param)
        sp.add_argument("--mutant", choices=sorted(info.mutants) or None, default=None,
                        help="explore a known-bug variant")
        sp.add_argument("--trace", type=Path, default=None, metavar="FILE",
                        help="open this counterexample (quorum check --json, or ITF)")
        sp.add_argument("--port", type=int, default=0, metavar="N",
                        help="port on 127.0.0.1 (default: any free one)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from quorum.explore.server import Explorer, TraceError, serve
    from quorum.spec.common import ConfigError

    info = load(args.spec)
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        model = info.build(spec_values(info, args), args.mutant, False)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    explorer = Explorer(model)
    if args.trace is not None:
        try:
            explorer.start = explorer.load(json.loads(args.trace.read_text()))
        except OSError as exc:
            raise UsageError(f"--trace: cannot read {args.trace}: {exc.strerror}") from None
        except (ValueError, TraceError) as exc:
            raise UsageError(f"--trace {args.trace}: {exc}") from None
    try:
        server = serve(explorer, args.port)
    except OSError as exc:
        raise UsageError(f"--port {args.port}: {exc.strerror}") from None
    print(f"quorum explore {model.name}: http://127.0.0.1:{server.server_address[1]}/ "
          "(Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return EXIT_OK
