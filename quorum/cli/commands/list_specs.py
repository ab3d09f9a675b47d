"""`quorum list`: the specs, their parameters, properties and mutants."""

from __future__ import annotations

import argparse
from typing import Any

from quorum.cli import EXIT_OK
from quorum.cli.specs import SPECS, load

__all__ = ["COST", "add_parser", "run"]

#: exhaustive mutants whose defaults take over a minute on two cores, and why (measured
#: with `quorum check raft --mutant NAME --workers 2`, on a shared machine)
COST: dict[tuple[str, str], str] = {
    ("raft", "stale-append"): "about 1 minute on 2 cores (3.5 M states, 600 MiB): the "
                              "deposed leader needs term 3 of 3 servers",
    ("raft", "no-truncate"): "over 3 minutes on 2 cores (with --symmetry about 11 minutes "
                             "of CPU, 1.9 M orbits): the conflicting entries need 3 servers "
                             "and term 3; `--simulate --strategy explore --depth 100 --runs 20000` finds a 35-state trace in under a second",
}


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
            if (spec_name, m.name) in COST:
                print(f"    {'':<22} [takes {COST[spec_name, m.name]}]")
        print()
    return EXIT_OK
