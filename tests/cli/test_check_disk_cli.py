"""`quorum check --disk DIR`, `--checkpoint DIR` (a real process killed and resumed), and
progress reports on stderr (text lines, JSON objects)."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from helpers.cli import QUORUM, in_process, one_line_error, quorum

SAME = ("verdict", "distinct_states", "generated_states", "depth", "coverage", "complete")


def pinned(*args: str) -> dict:
    p = quorum("check", *args, "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    return {k: v for k, v in json.loads(p.stdout).items() if k in SAME}


def killed_at_checkpoint(args: list[str], n: int, sig: int) -> subprocess.Popen:
    """Start ``quorum check ARGS`` (checkpointing), and send ``sig`` once it has reported
    its ``n``-th checkpoint on stderr."""
    proc = subprocess.Popen([*QUORUM, "check", *args, "--json", "--progress-interval",
                             "3600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    seen = 0
    for line in proc.stderr:
        if json.loads(line)["event"] == "checkpoint":
            seen += 1
            if seen == n:
                proc.send_signal(sig)
                break
    proc.wait(timeout=120)
    return proc


def resumed(args: list[str]) -> tuple[dict, dict]:
    p = quorum("check", *args, "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return {k: v for k, v in out.items() if k in SAME}, out


def test_a_search_killed_with_sigkill_resumes_to_the_same_result(tmp_path):
    model = ["paxos", "--max-ballot", "2", "--symmetry"]
    args = [*model, "--checkpoint", str(tmp_path / "cp"), "--checkpoint-interval", "0",
            "--disk-buffer", "1000"]
    proc = killed_at_checkpoint(args, 5, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    doc = json.loads((tmp_path / "cp" / "checkpoint.json").read_text())
    assert doc["key"]["spec"] == "paxos" and doc["key"]["symmetry"] is True
    got, extra = resumed(args)
    assert got == pinned(*model)
    assert got["distinct_states"] == 17153
    assert extra["resumed_at_depth"] == doc["depth"] and extra["store_bytes_per_state"] == 16.0
    assert list((tmp_path / "cp").iterdir()) == []  # done: nothing left to resume


@pytest.mark.slow
def test_a_search_interrupted_with_sigint_resumes_to_the_same_result(tmp_path):
    model = ["paxos", "--max-ballot", "2"]
    args = [*model, "--checkpoint", str(tmp_path / "cp"), "--checkpoint-interval", "0",
            "--disk-buffer", "20000"]
    proc = killed_at_checkpoint(args, 20, signal.SIGINT)
    assert proc.returncode == 130
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert "resumes from its last checkpoint" in err and "Traceback" not in err
    got, extra = resumed(args)
    assert got == pinned(*model) and got["distinct_states"] == 185369
    assert extra["resumed_at_depth"] >= 1


def test_disk_search_prints_what_the_in_memory_search_prints(tmp_path):
    disk = quorum("check", "paxos", "--mutant", "vote-below-promise", "--disk",
                  str(tmp_path / "d"), "--disk-buffer", "100")
    mem = quorum("check", "paxos", "--mutant", "vote-below-promise")
    assert disk.returncode == mem.returncode == 1
    assert disk.stdout == mem.stdout  # verdict, counts, the shortest trace
    assert "Disk: peak" in disk.stderr and "Disk:" not in mem.stderr


def test_disk_search_on_the_vector_engine_prints_what_the_in_memory_search_prints(tmp_path):
    """Raft has a batch encoding: --disk runs the vector engine on disk, and --checkpoint
    (which the vector engine does not write) the objects engine; the same verdict,
    counts and trace as the in-memory search."""
    args = ["raft", "--mutant", "ceil-quorum"]
    disk = quorum("check", *args, "--disk", str(tmp_path / "d"), "--disk-buffer", "100")
    mem = quorum("check", *args)
    assert disk.returncode == mem.returncode == 1
    assert disk.stdout == mem.stdout
    assert "Disk: peak" in disk.stderr and "Disk:" not in mem.stderr
    flags = ["raft", "--servers", "2", "--max-term", "3", "--max-log", "2", "--json", "--quiet"]
    vector = json.loads(quorum("check", *flags, "--disk", str(tmp_path / "v")).stdout)
    objects = json.loads(quorum("check", *flags, "--checkpoint", str(tmp_path / "c")).stdout)
    assert (vector["engine"], vector["store"]) == ("vector", "64-bit fingerprints on disk")
    assert "engine" not in objects and objects["store"] == vector["store"]
    assert {k: vector[k] for k in SAME} == {k: objects[k] for k in SAME}
    assert vector["distinct_states"] == 46741


def test_a_checkpoint_of_another_check_or_a_damaged_one_is_refused(tmp_path, capsys):
    cp = tmp_path / "cp"
    args = ["paxos", "--checkpoint", str(cp), "--checkpoint-interval", "0"]
    proc = killed_at_checkpoint([*args, "--max-ballot", "2", "--symmetry"], 2, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    one_line_error(in_process(capsys, "check", *args, "--max-ballot", "2"),
                   "the checkpoint is of another check (symmetry: True, not False)")
    one_line_error(in_process(capsys, "check", *args, "--max-ballot", "1", "--symmetry"),
                   "the checkpoint is of another check (config:")
    (cp / "checkpoint.json").write_text('{"format": 1, "key": ')
    one_line_error(in_process(capsys, "check", *args), "damaged checkpoint (JSONDecodeError")


@pytest.mark.parametrize("flags,text", [
    (["--disk", "{tmp}/f"], "--disk {tmp}/f: not a directory"),
    (["--disk", "{tmp}/no/d"], "does not exist"),
    (["--disk", "{tmp}"], "is not empty; the disk search needs an empty directory"),
    (["--checkpoint", "{tmp}"], "is not empty and holds no checkpoint"),
    (["--disk", "{tmp}/d", "--workers", "2"], "--disk runs in one process"),
    (["--disk", "{tmp}/d", "--store", "exact"], "drop --store exact"),
    (["--disk", "{tmp}/d", "--checkpoint", "{tmp}/e"], "drop --disk"),
    (["--checkpoint", "{tmp}/d", "--engine", "vector"], "--engine vector writes no checkpoints"),
    (["--checkpoint", "{tmp}/d", "--simulate"], "--checkpoint is for the breadth-first"),
    (["--checkpoint-interval", "5"], "--checkpoint-interval needs --checkpoint DIR"),
    (["--disk-buffer", "5"], "--disk-buffer needs --disk DIR"),
    (["--disk", "{tmp}/d", "--disk-buffer", "0"], "--disk-buffer must be at least 1"),
    (["--progress-interval", "-1"], "--progress-interval must be a number of seconds"),
    (["--progress-interval", "nan"], "--progress-interval must be a number of seconds"),
])
def test_misuse_is_one_line(tmp_path, capsys, flags, text):
    (tmp_path / "f").write_text("")
    flags = [f.format(tmp=tmp_path) for f in flags]
    one_line_error(in_process(capsys, "check", "paxos", *flags), text.format(tmp=tmp_path))


def test_progress_lines_on_stderr(capsys):
    p = in_process(capsys, "check", "paxos", "--progress-interval", "0")
    assert p.returncode == 0
    lines = [x for x in p.stderr.splitlines() if x.startswith("progress: ")]
    assert lines, p.stderr
    # the last report: the last level (17) found nothing more, level 16 two states
    assert lines[-1].endswith(" states/s") and ", 3,921 distinct (level 18: +0, level 17: +2)" \
        ", 22,995 generated, depth 17, 0 queued, " in lines[-1]
    assert p.stdout == in_process(capsys, "check", "paxos").stdout  # stdout does not change


def test_progress_as_json_objects_one_per_line(tmp_path, capsys):
    p = in_process(capsys, "check", "paxos", "--json", "--progress-interval", "0", "--checkpoint",
               str(tmp_path / "cp"), "--checkpoint-interval", "0")
    assert p.returncode == 0
    events = [json.loads(x) for x in p.stderr.splitlines()]
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["depth"] for e in progress] == list(range(18))  # one report per level here
    last = progress[-1]
    assert {k: last[k] for k in ("distinct", "generated", "depth", "queued", "level_distinct",
                                 "previous_level_distinct")} == {
        "distinct": 3921, "generated": 22995, "depth": 17, "queued": 0,
        "level_distinct": 0, "previous_level_distinct": 2}
    assert set(last) == {"event", "seconds", "distinct", "generated", "depth", "queued",
                         "states_per_second", "level_distinct", "previous_level_distinct"}
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    assert [e["depth"] for e in checkpoints] == list(range(1, 18))
    assert all(e["directory"] == str(tmp_path / "cp") for e in checkpoints)
    assert json.loads(p.stdout)["distinct_states"] == 3921


def test_quiet_silences_progress(capsys):
    p = in_process(capsys, "check", "paxos", "--quiet", "--progress-interval", "0")
    assert p.returncode == 0 and "progress" not in p.stderr
