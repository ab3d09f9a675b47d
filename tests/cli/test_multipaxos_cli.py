"""``quorum check multipaxos`` and ``quorum list``: defaults, a mutant, one-line errors."""

from __future__ import annotations

import json

from helpers.cli import quorum


def test_check_multipaxos_with_defaults_passes_with_pinned_counts():
    out = quorum("check", "multipaxos", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["verdict"], report["distinct_states"], report["depth"]) == ("ok", 4306, 18)
    assert report["config"] == {"replicas": 3, "writes": 1, "reads": 1, "max_ballot": 1,
                                "any_request": False, "notice_ballot": False}


def test_a_mutant_exits_1_with_its_trace():
    out = quorum("check", "multipaxos", "--mutant", "ceil-quorum")
    assert out.returncode == 1
    assert "invariant Agreement is violated" in out.stdout
    assert "8: TakeNewRequest(r='s2', c='r1')" in out.stdout


def test_list_shows_the_spec_and_its_mutants():
    out = quorum("list")
    assert out.returncode == 0
    for name in ("multipaxos:", "skip-phase1-slots", "recover-by-arrival", "hole-without-noop",
                 "ceil-quorum", "--notice-ballot"):
        assert name in out.stdout


def test_bad_bounds_are_one_line_errors():
    out = quorum("check", "multipaxos", "--replicas", "9")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "quorum check: error: --replicas must be between 1 and 5, got 9 (multipaxos states "
        "grow fast: 3 replicas, 1 write, 1 read, ballots 1..2 are 0.34 M states under "
        "--symmetry)"]


def test_prove_multipaxos_and_a_cti_on_drop():
    out = quorum("prove", "multipaxos", "--quiet")
    assert out.returncode == 0
    assert out.stdout.startswith("multipaxos: Agreement PROVED for all sizes: 5 conjuncts")
    out = quorum("prove", "multipaxos", "--drop", "replied_left_below", "--quiet")
    assert out.returncode == 1
    assert out.stdout.startswith("multipaxos: REFUTED (without replied_left_below)")
    assert "Counterexample to induction: Propose(" in out.stdout
