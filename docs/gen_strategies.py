"""Regenerate the generated blocks of docs/strategies.md from the checker itself.

    python docs/gen_strategies.py            # rewrite the doc in place
    python docs/gen_strategies.py --check    # exit 1 if the doc is not current

The doc is hand-written prose with generated blocks between two markers::

    <!-- generated: quorum check primary-backup --mode async -->
    ...the command's output, exactly as `quorum check ... --quiet` prints it...
    <!-- end generated -->

A block whose marker is ``comparison table`` holds the table of strategies, computed
here from the specs: every cell is a check's verdict or is read off a shortest trace.
``tests/docs/test_strategies_doc.py`` fails when the doc and this script disagree.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "strategies.md"

from quorum.cli import main as quorum_main  # noqa: E402
from quorum.cli.specs import load  # noqa: E402
from quorum.model_checker.explicit.bfs import check  # noqa: E402
from quorum.model_checker.model import Label  # noqa: E402
from quorum.spec import central, primary_backup  # noqa: E402

__all__ = ["ROWS", "Row", "comparison_table", "regenerate"]

BLOCK = re.compile(r"(<!-- generated: (?P<what>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                   re.DOTALL)


# -- command output ----------------------------------------------------------------------
def command_output(command: str) -> str:
    """What ``quorum ... --quiet`` prints on stdout (timings go to stderr), and its exit code."""
    argv = command.split()[1:] + ["--quiet"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = quorum_main(argv)
    kept = []
    for line in out.getvalue().splitlines():
        if line.startswith("coverage ("):
            break  # per-action coverage: useful at a terminal, noise in a doc
        kept.append(line)
    return "\n".join([f"$ {command}", *kept, f"(exit status {code})"])


# -- the comparison table ----------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    strategy: str
    spec: str  # name in quorum/cli/specs.py
    flags: str  # as typed after `quorum check SPEC`
    values: Mapping[str, Any]


ROWS = (
    Row("primary-backup, async", "primary-backup", "--mode async", {"mode": "async"}),
    Row("primary-backup, sync, no fencing", "primary-backup", "--mode sync --no-fencing",
        {"mode": "sync", "fencing": False}),
    Row("primary-backup, sync, fenced", "primary-backup", "--mode sync", {"mode": "sync"}),
    Row("primary-backup, sync-majority, fenced, local reads", "primary-backup",
        "--mode sync-majority --reads local", {"mode": "sync-majority", "reads": "local"}),
    Row("primary-backup, sync-majority, fenced, quorum reads", "primary-backup",
        "--mode sync-majority", {"mode": "sync-majority"}),
    Row("central coordinator", "central", "", {}),
    Row("central + standby, no fencing", "central", "--standby", {"standby": True}),
    Row("central + standby, fenced", "central", "--standby --fencing",
        {"standby": True, "fencing": True}),
)

#: per spec: who is down in the two availability columns
_DOWN = {"primary-backup": ("primary", "backup"), "central": ("coordinator", "replica")}


def _build(row: Row, **extra: Any) -> Any:
    info = load(row.spec)
    values = info.defaults()
    values.update(row.values)
    values.update(extra)
    return info.build(values, None, False)


@dataclass(frozen=True)
class _Facts:
    """What the table needs to know of a spec beyond the Model protocol."""

    costs: Callable[[Any], Mapping[str, tuple[int, int]]]  # cfg -> per action costs
    acknowledged: Callable[[Any], bool]  # w1 is acknowledged
    stored: Callable[[Any, Any], bool]  # (cfg, state): w1 is on every live data node


_FACTS = {
    "primary-backup": _Facts(
        costs=lambda cfg: primary_backup.COSTS,
        acknowledged=lambda s: any(h[-1] == 1 for _, h in s.acked),
        stored=lambda cfg, s: all(1 in s.log[i] for i in cfg.all_nodes if cfg.up(i)),
    ),
    "central": _Facts(
        costs=central.costs,
        acknowledged=lambda s: 1 in s.acked,
        stored=lambda cfg, s: all(1 in s.replica[r] for r in range(cfg.replicas)
                                  if cfg.replica_up(r)),
    ),
}


class _Goal:
    """``model`` with one invariant, "the goal is not reached yet": the checker's shortest
    violation of it is a shortest behaviour that reaches the goal."""

    def __init__(self, model: Any, goal: Callable[[Any], bool]) -> None:
        self.model, self.name = model, str(model.name)
        self.invariants: Mapping[str, Callable[[Any], bool]] = {"NotYet": lambda s: not goal(s)}
        self.action_properties: Mapping[str, Callable[[Any, Label, Any], bool]] = {}
        self.reachability: Mapping[str, Callable[[Any], bool]] = {}
        self.canonicalize: Callable[[Any], Hashable] | None = None
        self.view: Callable[[Any], Hashable] | None = None

    def initial_states(self) -> Iterable[Any]:
        return self.model.initial_states()  # type: ignore[no-any-return]

    def successors(self, s: Any) -> Iterable[tuple[Label, Any]]:
        return self.model.successors(s)  # type: ignore[no-any-return]

    def within_bounds(self, s: Any) -> bool:
        return True

    def render(self, s: Any) -> dict[str, Any]:
        return self.model.render(s)  # type: ignore[no-any-return]


def shortest_actions(model: Any, goal: Callable[[Any], bool]) -> list[str]:
    """Action names along a shortest behaviour from Init to a state where ``goal`` holds."""
    result = check(_Goal(model, goal))
    assert result.violation is not None, "goal unreachable"
    return [step.label[0] for step in result.violation.trace[1:] if step.label is not None]


def messages_per_write(spec: str, model: Any) -> int:
    """Messages between servers along a shortest behaviour that acknowledges w1 and puts
    it on every live node that keeps data."""
    facts = _FACTS[spec]
    costs = facts.costs(model.cfg)
    goal = lambda s: facts.acknowledged(s) and facts.stored(model.cfg, s)  # noqa: E731
    return sum(costs[a][0] for a in shortest_actions(model, goal))


def round_trips_before_ack(spec: str, model: Any) -> tuple[int, int]:
    """(round trips, exchanges awaited) before the client's acknowledgement of w1, along a
    shortest behaviour.  Exchanges of the same action in a row go out together, so each
    run of them costs one round trip (the slowest of the run)."""
    facts = _FACTS[spec]
    costs = facts.costs(model.cfg)
    trips = [a for a in shortest_actions(model, facts.acknowledged) if costs[a][1]]
    runs = sum(1 for i, a in enumerate(trips) if i == 0 or trips[i - 1] != a)
    return runs, len(trips)


def safety(row: Row) -> str:
    result = check(_build(row))
    v = result.violation
    if v is None:
        return f"safe ({result.distinct_states:,} states)"
    return f"**{v.property}** violated ({v.length}-state trace)"


def available(row: Row, down: str) -> str:
    result = check(_build(row, down=down), properties=["WriteAcknowledged"])
    return "yes" if result.ok else "**no**"


def comparison_table() -> str:
    head = ["strategy (`quorum check ...`)", "safety under failover",
            "available, primary/coordinator down", "available, a backup/replica down",
            "messages per write", "round trips before the ack (exchanges awaited)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in ROWS:
        model = _build(row)
        trips, awaited = round_trips_before_ack(row.spec, model)
        cells = [f"{row.strategy} (`{' '.join(filter(None, [row.spec, row.flags]))}`)",
                 safety(row), *(available(row, d) for d in _DOWN[row.spec]),
                 str(messages_per_write(row.spec, model)), f"{trips} ({awaited})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- the doc -----------------------------------------------------------------------------
def _block(what: str) -> str:
    if what == "comparison table":
        return comparison_table() + "\n"
    if what.startswith("quorum "):
        return "```text\n" + command_output(what) + "\n```\n"
    raise ValueError(f"unknown generated block {what!r}")


def regenerate(text: str) -> str:
    """``text`` with every generated block recomputed."""
    return BLOCK.sub(lambda m: m.group(1) + _block(m.group("what")) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is stale")
    args = parser.parse_args(argv)
    old = DOC.read_text()
    new = regenerate(old)
    if args.check:
        if new != old:
            print(f"{DOC.relative_to(ROOT)} is stale: run python docs/gen_strategies.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
