"""Many schedules at once: seeds of the generation profiles, spread over worker processes.

A :class:`Job` names one generated schedule (a profile of
:data:`quorum.impl.sim.PROFILES`, a seed, a number of steps, perhaps a mutant), so it is
small to send to a worker and replays exactly: :func:`replay_command` spells it as the
``quorum sim`` command line that reruns it.  :func:`run_job` checks it with every check
that applies (:func:`~quorum.conformance.runner.default_checks`, unless the job names
its checks) and returns an :class:`Outcome`, plain data; a failing job's outcome also
carries the abstract spec state at the failing event
(:func:`~quorum.conformance.abstraction.state_at`).  :func:`sweep` runs many jobs over
``workers`` processes and yields their outcomes as they finish.

``quorum verify-impl`` and ``benchmarks/soak.py`` are built on this module.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

from quorum.conformance.abstraction import state_at
from quorum.conformance.failure import Check, Failure
from quorum.conformance.runner import check_schedule, default_checks
from quorum.impl.sim import Schedule, draw, with_mutant
from quorum.spec.raft.tla.state import State

__all__ = ["Job", "Outcome", "jobs", "replay_command", "run_job", "sweep"]


@dataclass(frozen=True)
class Job:
    """One generated schedule to check: ``draw(profile, seed, steps)``, plus ``mutant``."""

    profile: str
    seed: int
    steps: int
    mutant: str | None = None
    #: the checks to run (None: every check that applies, as ``quorum sim`` runs)
    checks: tuple[str, ...] | None = None
    #: the core the nodes run ("raft" or "multipaxos": ``quorum sim --protocol``)
    protocol: str = "raft"

    def schedule(self) -> Schedule:
        """The schedule; ValueError for an unknown profile or mutant."""
        s = draw(self.profile, self.seed, self.steps, self.protocol)
        return s if self.mutant is None else replace(s, config=with_mutant(s.config,
                                                                           self.mutant))


def jobs(profiles: Sequence[str], seeds: int, steps: int, mutant: str | None = None,
         checks: tuple[str, ...] | None = None, first_seed: int = 0,
         protocol: str = "raft") -> list[Job]:
    """Seeds ``first_seed .. first_seed + seeds - 1`` of every profile, seed by seed (so
    that every profile advances together)."""
    return [Job(p, s, steps, mutant, checks, protocol)
            for s in range(first_seed, first_seed + seeds) for p in profiles]


def replay_command(job: Job) -> str:
    """The ``quorum sim`` command line that reruns ``job`` exactly."""
    cmd = f"quorum sim --profile {job.profile} --seed {job.seed} --steps {job.steps}"
    if job.protocol != "raft":
        cmd += f" --protocol {job.protocol}"
    if job.mutant is not None:
        cmd += f" --mutant {job.mutant}"
    if job.checks is not None:
        cmd += f" --checks {','.join(job.checks)}"
    return cmd


@dataclass(frozen=True)
class Outcome:
    """What checking one job found (picklable: it comes back from a worker)."""

    job: Job
    #: each check that ran -> ``ok``, ``FAILED`` or ``unknown`` (as CheckedRun.verdicts)
    verdicts: dict[Check, str]
    failure: Failure | None
    #: the event the run stopped at (a failure of a per-event check, or a panic)
    failed_at: int | None
    events: int
    noops: int
    seconds: float
    #: on failure: the abstract spec state after ``failed_at`` (after the last event
    #: for a verdict on the whole run); None otherwise
    state: State | None = field(default=None, compare=False)
    #: on failure, why ``state`` could not be computed (empty otherwise)
    state_error: str = ""

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @property
    def unknown(self) -> bool:
        """No check failed but one could not decide (linearizability's time limit)."""
        return self.failure is None and "unknown" in self.verdicts.values()


def run_job(job: Job, lin_timeout: float = 10.0, with_state: bool = True) -> Outcome:
    """Check ``job``'s schedule; on failure (``with_state``) replay it for the abstract state."""
    sched = job.schedule()
    res = check_schedule(sched, job.checks or default_checks(sched), lin_timeout=lin_timeout,
                         keep_log=False)
    r = res.run
    out = Outcome(job, dict(res.verdicts), res.failure, r.failed_at, r.events, r.noops,
                  res.seconds)
    if res.failure is None or not with_state or job.protocol != "raft":
        return out  # (the abstract state is raft.tla's)
    try:
        return replace(out, state=state_at(sched, r.failed_at))
    except AssertionError as exc:  # the abstraction itself refused the cluster
        return replace(out, state_error=f"{type(exc).__name__}: {exc}")


def sweep(todo: Sequence[Job], workers: int = 1, lin_timeout: float = 10.0,
          with_state: bool = True) -> Generator[Outcome, None, None]:
    """Every job's outcome, in the order they finish (in ``todo``'s order with one worker).

    With ``workers > 1`` the jobs run in that many processes.  Closing the iterator early
    (a ``break`` in the caller's loop) cancels the jobs not yet started and waits for the
    running ones.
    """
    if workers <= 1:
        for job in todo:
            yield run_job(job, lin_timeout, with_state)
        return
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(run_job, job, lin_timeout, with_state) for job in todo]
        for f in as_completed(futures):
            yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
