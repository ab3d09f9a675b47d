"""Running the ``quorum`` command in a child process, as a user would, or in the test's own
process (no interpreter start-up per case); checking a one-line usage error."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

__all__ = ["QUORUM", "in_process", "one_line_error", "quorum"]

#: the command line that runs ``quorum``: the test's interpreter, with ``-P`` so that the
#: working directory (a source checkout's ``quorum/`` folder) never shadows the installed
#: package
QUORUM = [sys.executable, "-P", "-m", "quorum"]


def quorum(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``quorum ARGS...`` to completion and return its exit code and output."""
    return subprocess.run([*QUORUM, *args], capture_output=True, text=True, timeout=timeout)


def in_process(capsys: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``quorum ARGS`` run in this process with pytest's ``capsys``: exit code and output."""
    from quorum.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def one_line_error(p: subprocess.CompletedProcess[str], text: str) -> None:
    """A usage error: exit status 2, one line on stderr containing ``text``, no traceback."""
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and text in p.stderr and "Traceback" not in p.stderr
