"""CI's simulation run: 200 generated schedules of at least 1,000 events, every check, 0 failures.

Two sets, from the same swarm generator the mutant tests use:

* 200 schedules of the ``tla`` profile (:func:`quorum.impl.sim.generate_tla`), and 50 more
  with etcd's pre-vote on (``tla-prevote``), with **every** check: ghost safety, the spec's invariants, step refinement (every event a step of
  raft.tla under ``quorum.spec.raft.etcd.ETCD``, the whole abstract state compared: see
  docs/refinement.md) and linearizability;
* 200 schedules of the default generator (:func:`quorum.impl.sim.generate`) for what the tla
  profiles leave out (check-quorum, batching, snapshots, torn writes), with
  every check that applies there (all but step refinement).

A failure prints the seed and the command that replays it.
"""

from __future__ import annotations

import pytest

from quorum.conformance.runner import check_schedule
from quorum.impl.sim import generate

SCHEDULES = 200
STEPS = 2200


@pytest.mark.slow
def test_two_hundred_schedules_pass_every_check():
    failures, short = [], []
    for seed in range(SCHEDULES):
        res = check_schedule(generate(seed, STEPS), keep_log=False)
        if res.run.events - res.run.noops < 1000:
            short.append(seed)
        if not res.ok:
            failures.append(f"seed {seed}: {res.failure or res.verdicts} "
                            f"(replay: quorum sim --seed {seed} --steps {STEPS})")
    assert not failures, "\n".join(failures)
    assert not short, f"schedules with fewer than 1,000 effective events: {short}"


@pytest.mark.slow
def test_schedules_without_commit_notices_pass_every_check():
    """``eager_commit=False``, the member's setting (no commit notice; a node whose
    members lag sends them the commit index at its next tick): 50 tla-profile schedules
    with every check, step refinement included, and 100 of the default generator."""
    from dataclasses import replace

    from quorum.conformance.runner import TLA_CHECKS
    from quorum.impl.sim import generate_tla

    failures = []
    for seed in range(50):
        s = generate_tla(seed, STEPS)
        res = check_schedule(replace(s, config=replace(s.config, eager_commit=False)),
                             TLA_CHECKS, keep_log=False)
        if not res.ok or res.validated != (STEPS, STEPS):
            failures.append(f"tla seed {seed}: {res.failure or res.verdicts}")
    for seed in range(100):
        s = generate(seed, STEPS)
        res = check_schedule(replace(s, config=replace(s.config, eager_commit=False)),
                             keep_log=False)
        if not res.ok:
            failures.append(f"seed {seed}: {res.failure or res.verdicts}")
    assert not failures, "\n".join(failures)


TLA_SCHEDULES = 200
CHUNK = 50  # seeds per test, so that each stays well within pytest-timeout on a busy machine


@pytest.mark.slow
@pytest.mark.parametrize("first,pre_vote", [*((f, False) for f in range(0, TLA_SCHEDULES, CHUNK)),
                                            (0, True)])
def test_tla_profile_schedules_pass_every_check_step_refinement_included(first, pre_vote):
    """The tla profile (step refinement on): every event validated, every check passing;
    the last chunk with etcd's pre-vote on (the tla-prevote profile)."""
    from quorum.conformance.runner import TLA_CHECKS
    from quorum.impl.sim import generate_tla

    failures, short = [], []
    profile = "tla-prevote" if pre_vote else "tla"
    for seed in range(first, first + CHUNK):
        sched = generate_tla(seed, STEPS, pre_vote=pre_vote)
        assert sched.config.pre_vote is pre_vote
        res = check_schedule(sched, TLA_CHECKS, keep_log=False)
        assert tuple(res.verdicts) == ("safety", "refinement", "invariants", "linearizability")
        if res.run.events - res.run.noops < 1000:
            short.append(seed)
        if not res.ok or res.validated != (STEPS, STEPS):
            failures.append(f"tla seed {seed}: {res.failure.headline if res.failure else ''} "
                            f"{res.verdicts} validated {res.validated} (replay: quorum sim "
                            f"--profile {profile} --seed {seed} --steps {STEPS})")
    assert not failures, "\n".join(failures)
    assert not short, f"schedules with fewer than 1,000 effective events: {short}"
