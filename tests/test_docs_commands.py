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
  line; a command whose line ends with ``\\`` goes on over the next lines, as in the
  shell.  A line ``...`` stands for any number of lines (zero included); within a line,
  ``[...]`` stands for any text (timings: ``(32 checks, [...] s)``); and a trailing
  comment ``  # ...`` after a command is shell syntax, not output.  Standard error (timings,
  progress) is never compared.
* The exit status must not be 2 (a usage error in a doc is a defect), and nothing may
  print a traceback.  ``<!-- console: exit=N -->`` on the line before the fence pins the
  status of every command of the block.
* ``<!-- console: slow -->`` (it may share the comment: ``<!-- console: slow exit=1 -->``)
  runs the block only under ``pytest --runslow``.  ``<!-- console: cluster=NAME -->``
  marks a block that needs running members: ``tests/docs/test_store_commands.py`` runs
  those, not this file.  Blocks that are not tagged ``console`` (a plain fence, ``sh``) are
  not run.

The parsing and the comparison live in ``tests/helpers/docs.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.docs import Shown, matches, shown_commands

#: the cluster-bound blocks run in tests/docs/test_store_commands.py
SHOWN = [s for s in shown_commands() if s.cluster is None]


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


def test_continued_commands_and_cluster_blocks_are_parsed(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("<!-- console: cluster=c exit=1 -->\n```console\n"
                   "$ a \\\n    --b \\\n    c\nout \\\n$ d\n```\n"
                   "```console\n$ e\n```\n")
    first, second, third = shown_commands([doc])
    assert first == Shown("x.md", 3, "a \\\n    --b \\\n    c", ("out \\",), 1, False, "c")
    assert second == Shown("x.md", 7, "d", (), 1, False, "c")
    assert third == Shown("x.md", 10, "e", (), None, False, None)


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
