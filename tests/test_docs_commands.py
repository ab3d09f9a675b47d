"""Every command shown in README.md and docs/*.md does what the doc says it does.

The convention (docs/architecture.md, "Commands in the docs"):

* A command that a test runs sits in a fenced block tagged ``console``::

      ```console
      $ quorum check paxos
      quorum check paxos: acceptors=3 values=2 max_ballot=1 [exhaustive]
      ...
      22,995 states generated, 3,921 distinct states found, depth 17.
      ```

* A line starting with ``$ `` is a command (run by bash in an empty temporary directory of
  its own, so a command that needs a file it writes first says ``a; b`` on one line,
  and this interpreter's ``quorum`` and ``python`` come first on PATH); the lines after it, up
  to the next ``$ `` or the end of the block, are its standard output, compared line by
  line.  A line ``...`` stands for any number of lines (zero included); within a line,
  ``[...]`` stands for any text (timings: ``(32 checks, [...] s)``); and a trailing
  comment ``  # ...`` after a command is shell syntax, not output.  Standard error (timings,
  progress) is never compared.
* The exit status must not be 2 (a usage error in a doc is a defect), and nothing may
  print a traceback.  ``<!-- console: exit=N -->`` on the line before the fence pins the
  status of every command of the block.
* ``<!-- console: slow -->`` (it may share the comment: ``<!-- console: slow exit=1 -->``)
  runs the block only under ``pytest --runslow``.  Blocks that are not tagged ``console``
  (a plain fence, ``sh``) are not run: use them for commands that need a cluster or
  minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:<!--\s*console:(?P<opts>[^>]*)-->\s*\n)?```console\n(?P<body>.*?)```",
                   re.S)


@dataclass(frozen=True)
class Shown:
    doc: str
    line: int
    command: str
    output: tuple[str, ...]
    exit: int | None
    slow: bool


def shown_commands() -> list[Shown]:
    out: list[Shown] = []
    for doc in DOCS:
        text = doc.read_text()
        for m in FENCE.finditer(text):
            opts = (m.group("opts") or "").split()
            slow = "slow" in opts
            code = next((int(o[5:]) for o in opts if o.startswith("exit=")), None)
            line = text.count("\n", 0, m.start("body")) + 1
            command: str | None = None
            output: list[str] = []
            start = line
            for i, raw in enumerate(m.group("body").splitlines()):
                if raw.startswith("$ "):
                    if command is not None:
                        out.append(Shown(doc.name, start, command, tuple(output), code, slow))
                    command, output, start = raw[2:], [], line + i
                elif command is not None:
                    output.append(raw)
            if command is not None:
                out.append(Shown(doc.name, start, command, tuple(output), code, slow))
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


SHOWN = shown_commands()


def _param(s: Shown) -> object:
    marks = [pytest.mark.slow] if s.slow else []
    return pytest.param(s, id=f"{s.doc}:{s.line}", marks=marks)


def test_the_docs_show_commands():
    # the convention is in use: a doc that loses its console blocks fails here
    docs = {s.doc for s in SHOWN}
    assert {"README.md", "paxos.md", "checker.md", "raft.md"} <= docs, docs
    assert matches(("a", "...", "c"), ["a", "b", "b", "c"])
    assert not matches(("a", "...", "c"), ["a", "b"]) and matches(("...",), [])
    assert matches(("ok [...] s",), ["ok 0.25 s"]) and not matches(("ok [...] s",), ["ok 1"])
    assert not matches(("a.b",), ["axb"])  # only [...] is a wildcard


@pytest.mark.parametrize("shown", [_param(s) for s in SHOWN])
def test_shown_command_prints_what_the_doc_shows(shown: Shown, tmp_path: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               COLUMNS="100")
    p = subprocess.run(["bash", "-c", shown.command], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    where = f"{shown.doc} line {shown.line}: $ {shown.command}"
    assert "Traceback" not in p.stderr, where + "\n" + p.stderr
    assert p.returncode != 2, where + "\n" + p.stderr
    if shown.exit is not None:
        assert p.returncode == shown.exit, where + "\n" + p.stderr
    assert matches(shown.output, p.stdout.splitlines()), (
        f"{where}\n--- the doc shows:\n" + "\n".join(shown.output)
        + "\n--- it prints:\n" + p.stdout)
