"""`quorum list`: the specs, their parameters, properties and mutants."""

from __future__ import annotations

import argparse
from typing import Any

from quorum.cli import EXIT_OK
from quorum.cli.specs import SPECS, load

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="list the specs, their parameters, properties and mutants")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for spec_name in SPECS:
        info = load(spec_name)
        print(f"{info.name}: {info.doc}")
        print("  parameters:")
        for p in info.params:
            default = "(none)" if p.default == "" else repr(p.default)
            print(f"    {p.flag:<22} {p.help} (default {default})")
        print(f"  properties: {', '.join(info.properties)}")
        print("  mutants:")
        for m in info.mutants.values():
            bounds = " ".join(f"{k}={v}" for k, v in m.defaults.items())
            print(f"    {m.name:<22} {m.doc}")
            mode = m.mode
            if m.simulation.get("strategy"):
                mode += f" ({m.simulation['strategy']})"
            print(f"    {'':<22} [{mode}; defaults: {bounds}; expect: {m.expect or '-'}]")
        print()
    return EXIT_OK
