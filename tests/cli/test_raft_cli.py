"""`quorum check raft`: defaults, JSON keys, exit codes, simulation output."""

from __future__ import annotations

import json

from helpers.cli import quorum


def test_defaults_are_the_tlc_model():
    p = quorum("check", "raft", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["ok"] is True and out["mode"] == "exhaustive"
    assert (out["distinct_states"], out["depth"]) == (1657, 28)


def test_elections_only_and_bad_bounds():
    assert json.loads(quorum("check", "raft", "--max-log", "0", "--json").stdout)["ok"] is True
    p = quorum("check", "raft", "--servers", "0")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--servers" in p.stderr


def test_mutant_exit_code_and_json_violation():
    p = quorum("check", "raft", "--mutant", "ceil-quorum", "--json")
    assert p.returncode == 1
    v = json.loads(p.stdout)["violation"]
    assert (v["kind"], v["property"], v["length"]) == ("invariant", "ElectionSafety", 11)


def test_simulation_output_is_reproducible_and_says_how_to_replay():
    args = ("check", "raft", "--mutant", "ceil-quorum", "--simulate", "--seed", "4",
            "--runs", "100", "--depth", "50")
    a, b = quorum(*args), quorum(*args)
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout
    assert "[simulation]" in a.stdout
    assert "replay=--simulate --strategy walk --seed 4 --runs 8 --depth 50" in a.stdout


def test_symmetry_default_follows_the_mutant_and_flags_override_it():
    import argparse

    from quorum.cli.commands.check import _symmetry
    from quorum.cli.specs import load

    info = load("raft")

    def sym(mutant: str | None, flag: bool | None, liveness: bool = False) -> bool:
        return _symmetry(info, argparse.Namespace(mutant=mutant, symmetry=flag,
                                                  liveness=liveness))

    assert info.mutants["no-up-to-date-check"].symmetry
    assert not info.mutants["ceil-quorum"].symmetry
    assert sym("no-up-to-date-check", None) is True
    assert sym("no-up-to-date-check", False) is False   # --no-symmetry
    assert sym("ceil-quorum", None) is False
    assert sym("ceil-quorum", True) is True             # --symmetry
    assert sym(None, None) is False
    assert sym("no-up-to-date-check", None, liveness=True) is False
    # the JSON says which reduction ran
    out = quorum("check", "raft", "--mutant", "ceil-quorum", "--symmetry", "--json", "--quiet")
    assert out.returncode == 1 and json.loads(out.stdout)["symmetry"] is True
    out = quorum("check", "raft", "--mutant", "ceil-quorum", "--no-symmetry", "--json", "--quiet")
    assert out.returncode == 1 and json.loads(out.stdout)["symmetry"] is False


def test_figure_8_is_found_by_the_mutant_defaults_and_replays_from_the_printed_flags():
    # `--mutant commit-old-term` alone: guided simulation (strategy explore), seed 0.
    # Seed 4 is the quickest of seeds 0..9 (763 runs); all ten are in
    # tests/spec/raft/test_mutants.py.
    p = quorum("check", "raft", "--mutant", "commit-old-term", "--seed", "4", "--json")
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert (out["mode"], out["complete"]) == ("simulation", False)
    v = out["violation"]
    assert (v["property"], v["length"]) == ("LeaderCompleteness", 58)
    replay = v["provenance"]["replay"]
    assert replay == "--simulate --strategy explore --seed 4 --runs 763 --depth 150"
    again = quorum("check", "raft", "--mutant", "commit-old-term", *replay.split(), "--json")
    assert again.returncode == 1
    assert json.loads(again.stdout)["violation"]["trace"] == v["trace"]


def test_strategy_is_for_simulation_only():
    p = quorum("check", "raft", "--strategy", "explore")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--simulate" in p.stderr
    p = quorum("check", "raft", "--simulate", "--strategy", "sideways")
    assert p.returncode == 2 and "--strategy" in p.stderr
    p = quorum("check", "raft", "--simulate", "--strategy", "explore", "--runs", "200",
               "--seed", "2", "--json")
    out = json.loads(p.stdout)
    assert p.returncode == 4 and out["ok"] and out["complete"] is False
    assert out["verdict"] == "incomplete"
    assert (out["strategy"], out["runs"], out["seed"]) == ("explore", 200, 2)


def test_proof_only_mlog_is_printed_only_with_proof_fields(tmp_path):
    # raft.tla's mlog (the voter's log, "used only for proof") stays out of the printed
    # trace by default; --proof-fields shows it; --json and --itf always keep it
    resp = "RequestVoteResponse(s1->s1, mterm=2, mvoteGranted=True"
    brief = quorum("check", "raft", "--mutant", "ceil-quorum")
    full = quorum("check", "raft", "--mutant", "ceil-quorum", "--proof-fields",
                  "--itf", str(tmp_path / "t.itf.json"))
    assert brief.returncode == full.returncode == 1
    assert "mlog" not in brief.stdout
    assert f"6: Receive(m='{resp})') -> HandleRequestVoteResponse" in brief.stdout
    assert f"6: Receive(m='{resp}, mlog=<<>>)') -> HandleRequestVoteResponse" in full.stdout
    assert brief.stdout.count("\n") == full.stdout.count("\n")
    v = json.loads(quorum("check", "raft", "--mutant", "ceil-quorum", "--json").stdout)
    assert v["violation"]["trace"][5]["label"] == f"Receive(m='{resp}, mlog=<<>>)')"
    itf = json.loads((tmp_path / "t.itf.json").read_text())
    assert itf["states"][5]["#meta"]["action"] == f"Receive(m='{resp}, mlog=<<>>)')"


def test_the_header_names_a_layer_and_its_parameters_only_when_it_is_on():
    from quorum.cli.commands.check import header_values
    from quorum.spec.raft import SPEC

    plain = {p.name: p.default for p in SPEC.params}
    bounds = "servers=2 values=1 max_term=2 max_log=1 max_msgs=1"
    assert header_values(SPEC, plain) == bounds
    assert header_values(SPEC, {**plain, "snapshots": True}) == bounds + " snapshots=True"
    assert (header_values(SPEC, {**plain, "membership": True, "members": 2})
            == bounds + " membership=True members=2")
    # the header a run prints is that one
    p = quorum("check", "raft", "--membership", "--servers", "3", "--members", "2",
               "--max-log", "0", "--max-term", "1")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == ("quorum check raft: servers=3 values=1 max_term=1 "
                                        "max_log=0 max_msgs=1 membership=True members=2 "
                                        "[exhaustive]")
