"""`quorum replay FILE.itf.json`: a trace written by `check --itf` is read back and re-checked."""

from __future__ import annotations

import json

from helpers.cli import quorum


def test_check_itf_then_replay(tmp_path):
    path = tmp_path / "t.itf.json"
    assert quorum("check", "paxos", "--mutant", "ceil-quorum", "--itf", str(path)).returncode == 1
    p = quorum("replay", str(path))
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == (f"quorum replay {path}: paxos acceptors=4 values=2 max_ballot=1; "
                        "13 states, variables maxBal, maxVBal, maxVal, msgs")
    assert lines[1] == "Every state follows from the one before by a step of paxos's Next."
    assert lines[-1] == "Error: invariant Agreement is violated in state 13."
    # only the invariants asked for: TypeOK holds all along
    ok = quorum("replay", str(path), "--invariant", "TypeOK")
    assert ok.returncode == 0 and ok.stdout.endswith("No invariant is violated along the trace.\n")


def test_a_step_the_spec_does_not_take_is_reported(tmp_path):
    path = tmp_path / "t.itf.json"
    quorum("check", "paxos", "--mutant", "ceil-quorum", "--itf", str(path))
    doc = json.loads(path.read_text())
    doc["states"][5]["maxBal"] = {"#map": [["a1", 1], ["a2", 1], ["a3", 1], ["a4", 1]]}
    path.write_text(json.dumps(doc))
    p = quorum("replay", str(path))
    assert p.returncode == 1
    assert "Error: state 6 is not a step of the model from state 5 (no enabled action leads " \
           "to it)." in p.stdout
    assert "The first 5 states are a behaviour of the spec:" in p.stdout


def test_a_trace_without_our_meta_needs_spec_and_bounds(tmp_path):
    path = tmp_path / "t.itf.json"
    quorum("check", "raft", "--mutant", "ceil-quorum", "--itf", str(path))
    doc = json.loads(path.read_text())
    del doc["#meta"]["quorum"]
    path.write_text(json.dumps(doc))
    p = quorum("replay", str(path))
    assert p.returncode == 2 and "names no spec of ours" in p.stderr
    p = quorum("replay", str(path), "--spec", "raft", "--mutant", "ceil-quorum",
               "--set", "max-log=0")
    assert p.returncode == 1 and "Error: invariant ElectionSafety is violated in state 11." \
        in p.stdout


def test_bad_files_and_flags_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    for text, message in [("{", "not JSON"), ('{"vars": ["x"], "states": [{"x": 1}]}',
                                             "names no spec of ours")]:
        bad.write_text(text)
        p = quorum("replay", str(bad))
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and message in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
    p = quorum("replay", str(tmp_path / "missing.json"))
    assert p.returncode == 2 and "cannot read" in p.stderr
    bad.write_text('{"vars": ["x"], "states": [{"x": 1}]}')
    p = quorum("replay", str(bad), "--spec", "raft", "--set", "servers=x")
    assert p.returncode == 2 and "--set servers=x: not a valid int" in p.stderr
    p = quorum("replay", str(bad), "--spec", "raft")
    assert p.returncode == 2 and "variable x is not a variable of raft" in p.stderr
