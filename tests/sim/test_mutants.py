"""The implementation mutant catalogue: each bug caught by the generic generator within 60 s.

No schedule is written for a particular mutant: every test walks the seeds of the same
:func:`impl.sim.generate` that CI runs, with one bug switched on, until a check fails;
then the failing schedule is shrunk (delta debugging) and must still fail.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from impl.sim import MUTANTS, generate, with_mutant
from quorum.simcheck import check_schedule, shrink

BUDGET = 60.0
STEPS = 1500


def _hunt(name: str):
    t0 = time.monotonic()
    seed = 0
    while time.monotonic() - t0 < BUDGET:
        s = generate(seed, STEPS)
        s = replace(s, config=with_mutant(s.config, name))
        res = check_schedule(s, keep_log=False)
        if res.failed:
            return s, res, time.monotonic() - t0
        seed += 1
    return None, None, time.monotonic() - t0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_within_a_minute_and_shrinks(name):
    sched, res, secs = _hunt(name)
    assert sched is not None, f"{name} survived {secs:.0f} s of generated schedules"
    steps = sched.steps[: res.run.failed_at] if res.run.failed_at else sched.steps
    sched = replace(sched, steps=steps)
    small = shrink(sched, lambda s: check_schedule(s, keep_log=False).failed, budget_seconds=30)
    assert check_schedule(small, keep_log=False).failed
    assert len(small.steps) <= len(sched.steps)
    print(f"{name}: {sched.origin} caught in {secs:.1f} s ({res.failure}); "
          f"shrunk to {len(small.steps)} steps")


def test_the_unmutated_store_passes_the_seeds_that_catch_mutants():
    for seed in range(5):
        assert check_schedule(generate(seed, STEPS), keep_log=False).ok
