"""`quorum check` with --workers and --store: the same verdicts and counts either way."""

from __future__ import annotations

import json

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
