"""benchmarks/bench_checker.py: the TLC side (models written for TLC, its output read,
live vs recorded) and the larger models' rows, without running the long searches."""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_checker.py"

TLC_OUTPUT = """TLC2 Version 2.20 of Day Month 20??
Running breadth-first search Model-Checking with fp 1 and seed 1 with 2 workers
Computing initial states...
Model checking completed. No error has been found.
  Estimates of the probability that TLC did not check all reachable states
1,316,584 states generated, 185,369 distinct states found, 0 states left on queue.
The depth of the complete state graph search is 27.
Finished in 16s at (2026-12-06 03:00:00)
"""


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_checker", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_checker"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def by_name(bench: ModuleType, name: str) -> object:
    return next(b for b in bench.BENCHES if b.name == name)


def test_the_larger_models_are_listed_and_not_run_by_default(bench: ModuleType) -> None:
    large = [b for b in bench.BENCHES if b.large]
    assert [(b.spec, b.values, b.symmetry) for b in large] == [
        ("raft", {"servers": 3, "values": 1, "max_term": 3, "max_log": 2, "max_msgs": 2}, True),
        ("paxos", {"acceptors": 5, "values": 3, "max_ballot": 3}, True)]
    assert all(b.tlc_seconds is None for b in large)  # no TLC figure recorded for them


def test_parse_tlc_reads_the_distinct_count(bench: ModuleType) -> None:
    assert bench.parse_tlc(TLC_OUTPUT) == 185369


def test_parse_tlc_of_a_stopped_run_wants_states_left_on_the_queue(bench: ModuleType) -> None:
    """TLC stopped by tlc2.TLC.stopAfter still says "completed"; what it left on its queue
    tells a stopped run from a finished one."""
    stopped = TLC_OUTPUT.replace("185,369 distinct states found, 0 states left",
                                 "2,176 distinct states found, 1,208 states left")
    assert bench.parse_tlc(stopped, partial=True) == 2176
    with pytest.raises(bench.TLCError, match="finished the whole model"):
        bench.parse_tlc(TLC_OUTPUT, partial=True)


@pytest.mark.parametrize("output, message", [
    ("Error: The invariant Inv is violated.\n", "Error: The invariant Inv is violated."),
    ("Starting...\n", "TLC did not finish"),
    ("Model checking completed. No error has been found.\n", "no 'distinct states found'"),
])
def test_parse_tlc_refuses_an_unfinished_run(bench: ModuleType, output: str,
                                            message: str) -> None:
    with pytest.raises(bench.TLCError, match=message):
        bench.parse_tlc(output)


def test_raft_model_states_the_bounds_view_and_symmetry(bench: ModuleType) -> None:
    module, cfg = bench.tlc_model(by_name(bench, "raft s3 v1 t3 l2 m2 symmetry"))
    assert "EXTENDS raft" in module
    assert "currentTerm[i] <= 3" in module and "Len(log[i]) <= 2" in module
    assert "BenchSum(messages, DOMAIN messages) <= 2" in module
    assert "CONSTANTS s1, s2, s3, v1" in module
    lines = cfg.splitlines()
    assert "SYMMETRY BenchSymmetry" in lines and "VIEW BenchView" in lines
    assert "CONSTRAINT BenchConstraint" in lines and "  Server <- BenchServer" in lines
    _, plain = bench.tlc_model(by_name(bench, "raft s3 v1 t2 l1 m1"))
    assert "SYMMETRY" not in plain


def test_paxos_model_states_ballots_quorums_and_symmetry(bench: ModuleType) -> None:
    module, cfg = bench.tlc_model(by_name(bench, "paxos a5 v3 b0..3 symmetry"))
    assert "EXTENDS Paxos, FiniteSets, TLC" in module
    assert "BenchBallot == 0..3" in module and "Cardinality(Q) = 3" in module
    assert "BenchAcceptor == {a1, a2, a3, a4, a5}" in module
    assert "BenchValue == {v1, v2, v3}" in module
    assert cfg.splitlines()[-2:] == ["INVARIANT Inv", "SYMMETRY BenchSymmetry"]
    # today's Paxos.tla instances Voting, whose Ballot is Nat: TLC must bound it too
    assert "  Ballot <-[Voting] BenchBallot" in cfg.splitlines()


def test_paxos_model_bounds_votings_ballot_only_when_paxos_instances_voting(
        bench: ModuleType, tmp_path: Path) -> None:
    paxos = by_name(bench, "paxos a3 v2 b0..2")
    (tmp_path / "Paxos.tla").write_text("---- MODULE Paxos ----\nV == INSTANCE Voting\n====\n")
    assert "  Ballot <-[Voting] BenchBallot" in bench.tlc_model(paxos, tmp_path)[1].splitlines()
    (tmp_path / "Paxos.tla").write_text("---- MODULE Paxos ----\nEXTENDS Integers\n====\n")
    assert "<-[Voting]" not in bench.tlc_model(paxos, tmp_path)[1]


def test_tla_setup_recorded_live_and_errors(bench: ModuleType, tmp_path: Path) -> None:
    benches = [by_name(bench, "paxos a3 v2 b0..2"), by_name(bench, "raft s3 v1 t2 l1 m1")]
    assert bench.tla_setup(None, None, benches) is None
    jar = tmp_path / "tla2tools.jar"
    jar.write_bytes(b"")
    with pytest.raises(bench.TLCError, match="give --tla-dir"):
        bench.tla_setup(str(jar), None, benches)
    with pytest.raises(bench.TLCError, match="needs TLA2TOOLS"):
        bench.tla_setup(None, str(tmp_path), benches)
    with pytest.raises(bench.TLCError, match="no such file"):
        bench.tla_setup(str(tmp_path / "missing.jar"), str(tmp_path), benches)
    with pytest.raises(bench.TLCError, match="missing Paxos.tla, raft.tla"):
        bench.tla_setup(str(jar), str(tmp_path), benches)
    (tmp_path / "Paxos.tla").write_text("")
    (tmp_path / "raft.tla").write_text("")
    assert bench.tla_setup(str(jar), str(tmp_path), benches) == (str(jar), tmp_path)


def test_run_tlc_runs_java_on_the_written_model(bench: ModuleType, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``java`` on PATH records its arguments and the files beside it, and
    prints TLC's summary: run_tlc passes the model, 2 workers and the jar, and reads it."""
    tla = tmp_path / "tla"
    tla.mkdir()
    (tla / "Paxos.tla").write_text("---- MODULE Paxos ----\n====\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record.txt"
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho \"$@\" > {record}\nls >> {record}\n"
                    "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done\n"  # CPU time to see
                    f"cat <<'EOF'\n{TLC_OUTPUT}EOF\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    seconds, cpu, distinct = bench.run_tlc(by_name(bench, "paxos a3 v2 b0..2"),
                                           "/x/tla2tools.jar", tla)
    assert distinct == 185369 and seconds >= cpu > 0  # the child's CPU time, measured
    args, *files = record.read_text().splitlines()
    assert args.split()[:6] == ["-XX:+UseParallelGC", "-cp", "/x/tla2tools.jar", "tlc2.TLC",
                                "-workers", "2"]
    assert args.endswith("-config MCBench.cfg MCBench.tla")
    assert sorted(files) == ["MCBench.cfg", "MCBench.tla", "Paxos.tla"]
    with pytest.raises(bench.TLCError, match="finished the whole model"):  # 0 left: no stop
        bench.run_tlc(by_name(bench, "paxos a3 v2 b0..2"), "/x/tla2tools.jar", tla,
                      stop_after=30)
    assert record.read_text().split()[:2] == ["-Dtlc2.TLC.stopAfter=30", "-XX:+UseParallelGC"]


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    env = {**os.environ, "TLA2TOOLS": str(tmp_path / "none.jar")}
    out = subprocess.run([sys.executable, str(SCRIPT), "--only", "b0..1"], env=env,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr == f"bench_checker: TLA2TOOLS={tmp_path / 'none.jar'}: no such file\n"
    out = subprocess.run([sys.executable, str(SCRIPT), "--tlc-stop-after", "0"],
                         capture_output=True, text=True, check=False)
    assert (out.returncode, out.stderr) == (
        2, "bench_checker: --tlc-stop-after must be at least 1 second\n")
