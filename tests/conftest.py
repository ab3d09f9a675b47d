"""Test configuration: slow suites run only with --runslow (CI passes it); property tests
are derandomized; a run that writes into the source tree fails."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Property tests are reproducible (derandomized: the same examples on every run), never
# fail on wall-clock deadlines, which a shared 2-core machine cannot promise, and keep no
# example database in the source tree (a failure prints its reproducing blob instead).
settings.register_profile("quorum", deadline=None, derandomize=True, print_blob=True,
                          database=None)
settings.load_profile("quorum")
# Hypothesis's own caches (constants, Unicode tables) go to the system's temporary folder,
# not to .hypothesis/ in the working directory.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "quorum-hypothesis")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow", action="store_true", default=False, help="also run tests marked slow"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow suite: run with --runslow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


# --- nothing is written into the source tree ---------------------------------------------
# A test writes only under pytest's temporary folders; a file that appears in the checkout
# during the run (say, a failing schedule saved next to the tests) fails the session.
ROOT = Path(__file__).resolve().parents[1]
_BEFORE = pytest.StashKey[set[Path]]()
#: folders that tools keep for themselves (caches, environments, builds)
TOOL_FOLDERS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".venv",
                "build", "dist"}


def source_files() -> set[Path]:
    found: set[Path] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders
                         if d not in TOOL_FOLDERS and not d.endswith(".egg-info")]
        found.update(Path(folder, f) for f in files)
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = source_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    new = sorted(str(p.relative_to(ROOT)) for p in source_files() - before)
    if new:
        print(f"\nthe tests wrote into the source tree: {', '.join(new)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

