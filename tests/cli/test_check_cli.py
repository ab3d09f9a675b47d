"""The `quorum` command: output, JSON keys, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers.cli import QUORUM, quorum


def test_check_paxos_json():
    p = quorum("check", "paxos", "--acceptors", "3", "--values", "2", "--max-ballot", "1",
               "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["ok"] is True and out["mode"] == "exhaustive" and out["violation"] is None
    assert (out["distinct_states"], out["generated_states"], out["depth"]) == (3921, 22995, 17)
    assert isinstance(out["seconds"], float)


def test_check_paxos_symmetry_json():
    out = json.loads(quorum("check", "paxos", "--symmetry", "--json").stdout)
    assert (out["distinct_states"], out["depth"], out["symmetry"]) == (443, 17, True)


def test_human_output_is_identical_from_run_to_run():
    a, b = quorum("check", "paxos", "--mutant", "ceil-quorum"), quorum(
        "check", "paxos", "--mutant", "ceil-quorum")
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout
    assert "Error: invariant Agreement is violated." in a.stdout
    assert "13: Phase2b(a='a4', b=0, v='v1')" in a.stdout


def test_mutant_json_violation():
    p = quorum("check", "paxos", "--mutant", "ignore-1b-votes", "--invariant", "Agreement",
               "--json")
    assert p.returncode == 1
    v = json.loads(p.stdout)["violation"]
    assert (v["kind"], v["property"], v["length"]) == ("invariant", "Agreement", 13)
    assert v["trace"][9]["label"] == "Phase2a(b=1, v='v2')"
    assert v["trace"][9]["params"] == {"b": 1, "v": "v2"}


def test_itf_export(tmp_path):
    path = tmp_path / "t.itf.json"
    p = quorum("check", "paxos", "--mutant", "vote-below-promise", "--itf", str(path))
    assert p.returncode == 1
    itf = json.loads(path.read_text())
    assert itf["vars"] == ["maxBal", "maxVBal", "maxVal", "msgs"]
    assert len(itf["states"]) == 10
    assert itf["states"][1]["msgs"] == {"#set": [{"type": "1a", "bal": 0}]}


def test_list_shows_specs_and_mutants():
    p = quorum("list")
    assert p.returncode == 0
    assert "paxos" in p.stdout and "ceil-quorum" in p.stdout and "--max-ballot" in p.stdout


@pytest.mark.parametrize("args,message", [
    (["check", "nospec"], "invalid choice: 'nospec'"),
    (["check", "paxos", "--mutant", "nope"], "invalid choice: 'nope'"),
    (["check", "paxos", "--acceptors", "0"], "--acceptors must be between 1 and 7"),
    (["check", "paxos", "--acceptors", "40"], "--acceptors must be between 1 and 7, got 40"),
    (["check", "paxos", "--values", "1" + "0" * 30], "--values must be between 1 and 5"),
    (["check", "paxos", "--max-ballot", "1" + "0" * 30], "--max-ballot must be between 0 and 5"),
    (["check", "raft", "--max-msgs", "0"], "--max-msgs must be an integer between 1 and 4"),
    (["check", "raft", "--servers", "8"], "--servers must be an integer between 1 and 7"),
    (["check", "primary-backup", "--nodes", "6"], "--nodes must be between 2 and 5"),
    (["check", "central", "--replicas", "9"], "--replicas must be between 1 and 4"),
    (["check", "central", "--mutant", "nope"], "central has no mutant 'nope'"),
    (["graph", "central", "--mutant", "nope"], "central has no mutant 'nope'"),
    (["check", "central", "--fencing"], "--fencing checks the epochs of a takeover; it needs "
                                        "--standby"),
    (["check", "paxos", "--liveness", "--simulate"], "cannot be checked by --simulate"),
    (["check", "paxos", "--no-fairness"], "--no-fairness only applies to --liveness"),
    (["check", "paxos", "--simulate", "--exhaustive"], "exclude each other"),
    (["check", "paxos", "--seed", "3"], "--seed is a simulation flag; add --simulate"),
    (["check", "paxos", "--simulate", "--max-states", "9"], "a simulation is bounded by --runs"),
    (["check", "paxos", "--liveness", "--check-deadlock"], "--check-deadlock is a safety check"),
    (["check", "paxos", "--itf", "/nonexistent-dir/t.json"],
     "--itf /nonexistent-dir/t.json: directory /nonexistent-dir does not exist"),
    (["check", "paxos", "--itf", "/"], "--itf /: is a directory"),
    (["graph", "paxos", "-o", "/nonexistent-dir/g.dot"], "directory /nonexistent-dir does not"),
    (["graph", "paxos", "--whole"], "--whole: the graph has 3,921 states, more than 200"),
    (["graph", "paxos", "--states", "201"], "--states must be between 1 and 200"),
    (["sim", "--seed", "1", "--shrink", "/nonexistent-dir/s.json"],
     "--shrink /nonexistent-dir/s.json: directory /nonexistent-dir does not exist"),
    (["kv", "--timeout", "-1", "get", "k"], "--timeout must be a number of seconds above 0"),
    (["kv", "--timeout", "nan", "get", "k"], "--timeout must be a number of seconds above 0"),
    (["check", "paxos", "--quorums", "a1;a2"], "do not intersect"),
    (["check", "paxos", "--max-ballot", "-1"], "--max-ballot must be between 0 and 5"),
    (["check", "paxos", "--acceptors", "x"], "invalid int value"),
    (["check", "paxos", "--invariant", "Nope"], "no property 'Nope'"),
    (["check", "paxos", "--quorums", "a1,a2;a1,a3", "--symmetry"], "symmetry refused"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    p = quorum(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], p.stderr


def test_closed_pipe_is_not_a_traceback():
    p = subprocess.Popen([*QUORUM, "list"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    p.stdout.close()  # the reader goes away before quorum writes
    _, err = p.communicate(timeout=120)
    assert "Traceback" not in err


def test_a_bounded_search_that_finds_nothing_exits_4():
    p = quorum("check", "paxos", "--max-states", "100", "--json")
    out = json.loads(p.stdout)
    assert p.returncode == 4 and out["verdict"] == "incomplete" and out["complete"] is False
    human = quorum("check", "paxos", "--max-states", "100")
    assert human.returncode == 4 and "INCOMPLETE (exit 4)" in human.stdout
    sim = quorum("check", "paxos", "--simulate", "--runs", "20", "--seed", "1")
    assert sim.returncode == 4 and "NOT an exhaustive search" in sim.stdout
    done = json.loads(quorum("check", "paxos", "--acceptors", "1", "--json").stdout)
    assert done["verdict"] == "ok" and done["complete"] is True


def test_a_violation_is_printed_before_the_itf_file_is_written(tmp_path):
    # The path is checked before the search; the trace is always printed, on stdout.
    path = tmp_path / "t.itf.json"
    p = quorum("check", "paxos", "--mutant", "ceil-quorum", "--itf", str(path), "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["verdict"] == "violation"
    assert json.loads(path.read_text())["#meta"]["format"] == "ITF"


def test_graph_draws_the_counterexamples_neighbourhood_page_wide():
    p = quorum("graph", "paxos", "--mutant", "ceil-quorum", "--acceptors", "2", "--values", "2")
    assert p.returncode == 0, p.stderr
    assert p.stderr == "26 of 721 states drawn, 58 edges, 72 violating (red), trace of 9 states (blue)\n"
    assert 'graph [size="7.5,100"' in p.stdout
    assert p.stdout.count("color=blue, penwidth=2.5];") == 9  # the trace's states, all drawn
    text = [line for line in p.stdout.split("\\l") if "=" in line and "\n" not in line]
    assert text and max(map(len, text)) <= 56  # a node's long values are wrapped
    first = quorum("graph", "paxos", "--states", "5")
    assert first.stderr == "5 of 3,921 states drawn, 9 edges, no invariant violated\n"


def test_list_gives_ranges_and_slow_mutants_costs():
    out = quorum("list").stdout
    assert "number of acceptors (a1..aN), 1..7" in out
    assert "[takes about 1 minute on 2 cores (3.5 M states, 600 MiB)" in out
    assert "[takes over 3 minutes on 2 cores" in out


def test_a_parameter_shown_with_a_layer_names_a_switch_of_its_spec():
    from quorum.cli.specs import SPECS, load

    for name in SPECS:
        params = {p.name: p for p in load(name).params}
        for p in params.values():
            if p.shown_with is not None:
                assert params[p.shown_with].type is bool, (name, p.name)
