"""The simulator runs the multipaxos core (``quorum sim --protocol multipaxos``): pinned
seeds pass per-slot agreement and linearizability, runs are deterministic, Raft-only
steps, profiles, checks and mutants are refused with a clear message."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quorum.cli import EXIT_OK, EXIT_USAGE, EXIT_VIOLATION, main
from quorum.conformance.runner import (
    MULTIPAXOS_CHECKS,
    ChecksError,
    check_schedule,
    default_checks,
)
from quorum.impl.sim import RAFT_ONLY, Schedule, SimConfig, draw, run_schedule, with_mutant

STEPS = 1500


@pytest.mark.parametrize(("profile", "seed"), [("default", s) for s in range(4)]
                         + [("wide", s) for s in (0, 2, 5, 14)]
                         + [("tla-snap", s) for s in (4, 15)])
def test_pinned_seeds_pass_agreement_refinement_and_linearizability(profile, seed):
    s = draw(profile, seed, STEPS, "multipaxos")
    assert s.config.protocol == "multipaxos" and default_checks(s) == MULTIPAXOS_CHECKS
    res = check_schedule(s, default_checks(s), keep_log=False)
    assert res.ok, res.failure
    assert res.verdicts == {"safety": "ok", "refinement": "ok", "linearizability": "ok"}


def test_a_multipaxos_run_is_deterministic_and_makes_progress():
    s = draw("default", 3, STEPS, "multipaxos")
    a, b = run_schedule(s), run_schedule(s)
    assert a.hash == b.hash == HASH_3 and a.panic is None
    done = sum(o["ret"] is not None for o in a.history)
    assert (len(a.history), done) == PINNED_3
    assert any("ACCEPT " in line for line in a.log) and any("PROMISE" in line for line in a.log)


PINNED_3 = (57, 34)  # operations, returned
#: the event log's hash: a change to the core or the simulator shows here
HASH_3 = "649216c03ab681e6f0a3bc8c1b2ab6e90039fed2f5b033d25400505109911aea"


@pytest.mark.parametrize(("profile", "seed", "pinned"), [
    ("default", 3, (10, 30)), ("wide", 0, (4, 7)), ("wide", 14, (1, 2))])
def test_pinned_seeds_compact_and_install_snapshots(profile, seed, pinned):
    """``snap`` steps compact a member's log to a KV snapshot; a member behind a
    leader's snapshot gets a SNAPSHOT; safety (which knows compacted slots) and
    linearizability still pass."""
    s = draw(profile, seed, STEPS, "multipaxos")
    res = check_schedule(s, default_checks(s), keep_log=True)
    assert res.ok, res.failure
    log = res.run.log
    taken = sum(" snapshot n" in line and " at " in line for line in log)
    sent = sum("SNAPSHOT" in line for line in log)
    assert (taken, sent) == pinned


def test_draw_leaves_out_the_raft_only_steps_and_refuses_raft_profiles():
    raft = draw("wide", 2, STEPS)
    mp = draw("wide", 2, STEPS, "multipaxos")
    assert [s for s in raft.steps if s[0] not in RAFT_ONLY] == list(mp.steps)
    assert any(s[0] in RAFT_ONLY for s in raft.steps)
    assert mp.config.pre_vote  # the core's leader stickiness (pre_prepare), on by default
    snap = draw("tla-snap", 4, STEPS, "multipaxos")
    assert snap.config.protocol == "multipaxos" and not any(s[0] in RAFT_ONLY for s in snap.steps)
    for profile in ("tla", "tla-prevote", "churn", "tla-churn"):
        with pytest.raises(ValueError, match="use one of: default, wide, tla-snap"):
            draw(profile, 1, 10, "multipaxos")


def test_a_raft_only_step_in_a_multipaxos_schedule_is_a_logged_noop():
    cfg = SimConfig(protocol="multipaxos")
    run = run_schedule(Schedule(cfg, (("snap", 0), ("transfer", 1), ("addv",), ("tick",))))
    assert run.log[:3] == ["1 snapshot n1: nothing new",
                           "2 transfer: not supported by the multipaxos core",
                           "3 addv: not supported by the multipaxos core"]
    assert run.noops == 3


def test_the_checks_and_mutants_of_the_other_core_are_refused():
    s = draw("default", 0, 50, "multipaxos")
    with pytest.raises(ChecksError, match="need the Raft core"):
        check_schedule(s, ("safety", "invariants"))
    with pytest.raises(ValueError, match="bug of the Raft core"):
        with_mutant(s.config, "no-truncate")
    with pytest.raises(ValueError, match="use --protocol multipaxos"):
        with_mutant(SimConfig(), "mp-chosen-any-ballot")
    with pytest.raises(ValueError, match="unknown protocol 'paxos'"):
        SimConfig(protocol="paxos")


def test_the_protocol_is_saved_only_when_it_is_not_raft():
    assert "protocol" not in SimConfig().to_json()
    mp = SimConfig(protocol="multipaxos")
    assert mp.to_json()["protocol"] == "multipaxos"
    s = Schedule(mp, (("tick",),))
    assert Schedule.from_json(s.to_json()).config == mp


def test_the_mutant_is_caught_at_its_pinned_seed():
    s = draw("default", 0, STEPS, "multipaxos")
    assert check_schedule(s, default_checks(s), keep_log=False).ok
    bad = replace(s, config=with_mutant(s.config, "mp-chosen-any-ballot"))
    res = check_schedule(bad, default_checks(bad), keep_log=False)
    assert res.failure is not None and res.failure.check == "safety"
    assert res.failure.message.startswith("agreement: slot ")


def test_quorum_sim_protocol_multipaxos(capsys):
    assert main(["sim", "--protocol", "multipaxos", "--seed", "1", "--steps", "400"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "; core multipaxos" in out and "verdicts: safety ok, refinement ok, linearizability ok" in out
    assert main(["sim", "--protocol", "multipaxos", "--seed", "0", "--steps", "1500",
                 "--mutant", "mp-chosen-any-ballot"]) == EXIT_VIOLATION
    assert "FAILED at event" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--profile", "churn"], "profile 'churn' adds nothing the multipaxos core runs"),
    (["--mutant", "no-truncate"], "mutant no-truncate is a bug of the Raft core"),
    (["--checks", "invariants"], "invariants compare the store with raft.tla"),
])
def test_quorum_sim_refuses_what_the_multipaxos_core_lacks(args, message, capsys):
    code = main(["sim", "--protocol", "multipaxos", "--seed", "1", "--steps", "50", *args])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
