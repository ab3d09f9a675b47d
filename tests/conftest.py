"""Test configuration: slow suites run only with --runslow (CI passes it)."""

from __future__ import annotations

import pytest
from hypothesis import settings

# Property tests are reproducible (derandomized: the same examples on every run) and never
# fail on wall-clock deadlines, which a shared 2-core machine cannot promise.
settings.register_profile("quorum", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("quorum")


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
