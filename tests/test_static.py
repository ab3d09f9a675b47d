"""The linters CI runs with the tests: ruff over the tree, mypy over the package.

mypy runs through ``.ci/mypy``, which lays the package out as installed (setup.py maps
the folders spec/, impl/ and model_checker/ under ``quorum``) and checks it there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The linter installed with the dev extras, next to this interpreter (or on PATH)."""
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return str(found)


def test_ruff_reports_nothing():
    p = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_mypy_reports_nothing():
    tool("mypy")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    p = subprocess.run(["bash", str(ROOT / ".ci" / "mypy")], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
