"""`quorum check` with --workers and --store: the same verdicts and counts either way."""

from __future__ import annotations

import json

import pytest

from helpers.cli import quorum


def test_workers_and_stores_agree():
    runs = [json.loads(quorum("check", "paxos", "--json", *flags).stdout)
            for flags in (["--workers", "2"], ["--workers", "1"], ["--store", "exact"])]
    for out in runs:
        assert (out["distinct_states"], out["generated_states"], out["depth"]) == (
            3921, 22995, 17)
    assert runs[0]["workers"] == 1  # no level reaches the size at which workers fork
    assert runs[0]["store_bytes_per_state"] == 16.0
    assert runs[0]["collision_probability_optimistic"] > 0


def test_exact_store_refuses_workers():
    p = quorum("check", "paxos", "--store", "exact", "--workers", "2")
    assert p.returncode == 2 and "--store exact runs in one process" in p.stderr
    assert "Traceback" not in p.stderr


def test_raft_runs_on_the_vector_engine_by_default_and_agrees_with_the_objects_engine():
    flags = ["--servers", "2", "--max-term", "3", "--max-log", "2", "--json"]
    auto = json.loads(quorum("check", "raft", *flags).stdout)
    objects = json.loads(quorum("check", "raft", *flags, "--engine", "objects").stdout)
    workers = json.loads(quorum("check", "raft", *flags, "--workers", "1").stdout)
    assert auto["engine"] == "vector" and "engine" not in objects and "engine" not in workers
    for out in (auto, objects, workers):
        assert (out["verdict"], out["distinct_states"], out["generated_states"], out["depth"]) == (
            "ok", 46741, 371911, 46)
    assert auto["coverage"] == objects["coverage"]


@pytest.mark.parametrize("flags,text", [
    (["paxos", "--engine", "vector"], "--engine vector: paxos has no batch encoding"),
    (["raft", "--mutant", "stale-append", "--engine", "vector"], "has no batch encoding"),
    (["raft", "--engine", "vector", "--workers", "2"], "--engine vector runs in one process"),
    (["raft", "--engine", "vector", "--store", "exact"], "it cannot be used with --store exact"),
    (["raft", "--engine", "vector", "--simulate"], "it cannot be used with --simulate"),
    (["raft", "--engine", "vector", "--liveness"], "it cannot be used with --liveness"),
    (["raft", "--engine", "fast"], "invalid choice: 'fast'"),
])
def test_engine_errors_are_one_line(flags, text):
    p = quorum("check", *flags)
    assert p.returncode == 2 and text in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
