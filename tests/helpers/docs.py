"""The commands shown in README.md and docs/*.md, and how their shown output is compared.

Shared by ``tests/test_docs_commands.py`` (commands that need nothing running) and
``tests/docs/test_store_commands.py`` (the commands of docs/store.md that need a cluster).
The convention is described in docs/architecture.md, "Commands in the docs":

* a fenced block tagged ``console`` holds commands, each starting with ``$ ``; a command
  whose line ends with ``\\`` goes on over the next lines, as in the shell; the lines after
  a command, up to the next ``$ `` or the end of the block, are its standard output;
* ``<!-- console: OPTIONS -->`` on the line before the fence: ``exit=N`` pins the exit
  status of every command of the block, ``slow`` runs it only under ``--runslow``,
  ``cluster=NAME`` marks a block that needs running members (NAME groups the blocks that
  share one cluster; ``tests/docs/test_store_commands.py`` runs them);
* output is compared line by line: a line ``...`` stands for any number of lines (zero
  included), ``[...]`` within a line for any text, trailing blanks do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCS", "ROOT", "Shown", "matches", "same_line", "shown_commands"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!--\s*console:(?P<opts>[^>]*)-->\s*\n)?```console\n(?P<body>.*?)```",
                   re.S)


@dataclass(frozen=True)
class Shown:
    """One shown command: where it is, its text (continuation lines included), its shown
    output, and its block's options."""

    doc: str
    line: int
    command: str
    output: tuple[str, ...]
    exit: int | None
    slow: bool
    cluster: str | None = None


def shown_commands(docs: list[Path] | None = None) -> list[Shown]:
    """Every command of every ``console`` block of ``docs`` (default: README and docs/),
    in the order they appear."""
    out: list[Shown] = []
    for doc in DOCS if docs is None else docs:
        text = doc.read_text()
        for m in FENCE.finditer(text):
            opts = (m.group("opts") or "").split()
            slow = "slow" in opts
            code = next((int(o[5:]) for o in opts if o.startswith("exit=")), None)
            cluster = next((o[8:] for o in opts if o.startswith("cluster=")), None)
            line = text.count("\n", 0, m.start("body")) + 1
            command: str | None = None
            output: list[str] = []
            start = line
            continued = False
            for i, raw in enumerate(m.group("body").splitlines()):
                if continued and command is not None:
                    command += "\n" + raw
                elif raw.startswith("$ "):
                    if command is not None:
                        out.append(Shown(doc.name, start, command, tuple(output), code, slow,
                                         cluster))
                    command, output, start = raw[2:], [], line + i
                elif command is not None:
                    output.append(raw)
                continued = raw.endswith("\\") and command is not None and not output
            if command is not None:
                out.append(Shown(doc.name, start, command, tuple(output), code, slow, cluster))
    return out


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Line by line, ``...`` matching any run of lines (zero or more)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and same_line(head, actual[0]) and matches(rest, actual[1:])


def same_line(expected: str, actual: str) -> bool:
    """Equal up to trailing blanks, ``[...]`` in ``expected`` matching any text."""
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("[...]"))
    return re.fullmatch(pattern, actual.rstrip()) is not None
