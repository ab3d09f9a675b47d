"""Regenerate the sequence charts shown in docs/reading-counterexamples.md.

    python docs/gen_charts.py            # writes docs/images/*.svg
    python docs/gen_charts.py --check    # exit 1 if a committed chart differs

Each chart is the shortest counterexample of a known-bug mutant, drawn by
``quorum.model_checker.chart`` from the spec's chart hooks (the same as
``quorum check ... --chart FILE``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from quorum.cli.specs import load
from quorum.model_checker.chart import chart_svg, explained_chart
from quorum.model_checker.explicit.bfs import check

HERE = Path(__file__).resolve().parent / "images"

#: file name -> (spec, mutant, property checked)
CHARTS = {
    "paxos-vote-below-promise.svg": ("paxos", "vote-below-promise", "Agreement"),
    "raft-forget-vote.svg": ("raft", "forget-vote", "ElectionSafety"),
}


def render(name: str) -> str:
    spec, mutant, prop = CHARTS[name]
    info = load(spec)
    model = info.build(info.defaults(mutant), mutant, False)
    violation = check(model, properties=[prop]).violation
    assert violation is not None, f"{spec} --mutant {mutant} no longer breaks {prop}"
    return chart_svg(explained_chart(model, violation))


def main(argv: list[str]) -> int:
    stale = []
    for name in CHARTS:
        path, text = HERE / name, render(name)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            HERE.mkdir(exist_ok=True)
            path.write_text(text)
    for name in stale:
        print(f"docs/images/{name} is stale: run python docs/gen_charts.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
