"""Auto-compaction's planner (quorum.impl.server.compactor), driven by a fake clock."""

from __future__ import annotations

import pytest

from quorum.impl.server.compactor import REVISION_INTERVAL, Compactor


def test_periodic_keeps_the_retention_window() -> None:
    c = Compactor("periodic", 10.0)
    assert c.interval == 1.0
    plans = [c.observe(float(t), 100 + 5 * t) for t in range(0, 25)]
    # nothing before a sample is 10 s old; then the revision sampled 10 s ago, every second
    assert plans[:10] == [None] * 10
    assert plans[10:14] == [100, 105, 110, 115]
    assert plans[24] == 100 + 5 * 14


def test_periodic_skips_when_the_revision_did_not_move() -> None:
    c = Compactor("periodic", 2.0)
    assert [c.observe(t / 5, 7) for t in range(0, 20)] == [None] * 10 + [7] + [None] * 9


def test_revision_mode_keeps_the_last_revisions() -> None:
    c = Compactor("revision", 1000)
    assert c.interval == REVISION_INTERVAL
    assert c.observe(0, 500) is None  # not 1000 revisions yet
    assert c.observe(300, 1500) == 500
    assert c.observe(600, 1500) is None  # no progress since
    assert c.observe(900, 4000) == 3000


def test_zero_retention_is_off_and_modes_are_checked() -> None:
    off = Compactor("periodic", 0)
    assert not off.enabled and off.observe(1e9, 10**6) is None
    with pytest.raises(ValueError, match="unknown auto-compaction mode"):
        Compactor("hourly", 1)
