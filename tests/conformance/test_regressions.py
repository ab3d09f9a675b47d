"""Every failing schedule ever found, replayed on every test run (tests/conformance/regressions/*.json).

Each file is a :class:`~quorum.impl.sim.Schedule` plus ``expect``: ``"pass"`` for a bug that
was fixed (the store must now pass), ``"fail"`` for a mutant's minimal schedule (the
checks must still catch it).  Replay one by hand with ``quorum sim --schedule FILE``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quorum.conformance.runner import check_schedule, default_checks
from quorum.impl.sim import Schedule

FILES = sorted((Path(__file__).parent / "regressions").glob("*.json"))


def test_there_are_regressions():
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_regression_replays(path):
    data = json.loads(path.read_text())
    sched = Schedule.from_json(path.read_text())
    res = check_schedule(sched, default_checks(sched), keep_log=False)  # as quorum sim does
    if data["expect"] == "pass":
        assert res.ok, res.failure
    else:
        assert res.failed, f"{path.name} no longer fails"
