"""Running the ``quorum`` command in a child process, as a user would."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["QUORUM", "quorum"]

#: the command line that runs ``quorum``: the test's interpreter, with ``-P`` so that the
#: working directory (a source checkout's ``quorum/`` folder) never shadows the installed
#: package
QUORUM = [sys.executable, "-P", "-m", "quorum"]


def quorum(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``quorum ARGS...`` to completion and return its exit code and output."""
    return subprocess.run([*QUORUM, *args], capture_output=True, text=True, timeout=timeout)
