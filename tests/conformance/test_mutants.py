"""The implementation mutant catalogue: each bug caught by the generic schedule generator.

No schedule is written for a particular mutant: every test walks the seeds of the same
:func:`quorum.impl.sim.generate` that CI runs, in order, with one bug switched on, until a check
fails; the first failing seed is pinned (a change to the generator or the store that
hides a bug shows up here), then the failing schedule is shrunk and must still fail.
How long the hunt takes is measured by ``benchmarks/soak.py``, not asserted here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from quorum.conformance.runner import check_schedule, shrink
from quorum.impl.mutants import names
from quorum.impl.sim import generate, with_mutant

MAX_SEEDS = 80
STEPS = 1500
#: the first seed of generate(seed, 1500) that catches each mutant (5 s at most, idle)
FIRST_CATCH = {"ack-before-commit": 0, "commit-old-term": 0, "local-read": 21,
               "no-fsync-vote": 1, "no-truncate": 0, "stale-append": 15}


def _hunt(name: str):
    for seed in range(MAX_SEEDS):
        s = generate(seed, STEPS)
        s = replace(s, config=with_mutant(s.config, name))
        res = check_schedule(s, keep_log=False)
        if res.failed:
            return seed, s, res
    return None, None, None


def test_every_mutant_has_a_pinned_first_catch():
    assert set(FIRST_CATCH) <= set(names())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIRST_CATCH))
def test_mutant_is_caught_by_generated_schedules_and_shrinks(name):
    seed, sched, res = _hunt(name)
    assert seed is not None, f"{name} survived {MAX_SEEDS} generated schedules"
    assert seed == FIRST_CATCH[name]
    steps = sched.steps[: res.run.failed_at] if res.run.failed_at else sched.steps
    sched = replace(sched, steps=steps)
    small = shrink(sched, lambda s: check_schedule(s, keep_log=False).failed, budget_seconds=30)
    assert check_schedule(small, keep_log=False).failed
    assert len(small.steps) <= len(sched.steps)
    print(f"{name}: {sched.origin} caught at seed {seed} ({res.failure}); "
          f"shrunk to {len(small.steps)} steps")


def test_the_unmutated_store_passes_the_seeds_that_catch_mutants():
    for seed in range(5):
        assert check_schedule(generate(seed, STEPS), keep_log=False).ok
