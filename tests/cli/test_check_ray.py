"""`quorum check ... --ray ADDRESS|local`: the same output as the local engine on a local
Ray cluster started for the check, and one-line errors (exit 2) for what it cannot do."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers.cli import QUORUM, in_process, one_line_error, quorum

CANNOT = "--ray distributes the in-memory breadth-first search over fingerprints; it " \
         "cannot be used with "


@pytest.mark.parametrize("flags,text", [
    (["--disk", "{tmp}/d"], CANNOT + "--disk"),
    (["--checkpoint", "{tmp}/d"], CANNOT + "--checkpoint"),
    (["--simulate"], CANNOT + "--simulate"),
    (["--liveness"], CANNOT + "--liveness"),
    (["--store", "exact"], CANNOT + "--store exact"),
    (["--workers", "0"], "--workers must be at least 1, got 0"),
])
def test_flags_the_ray_engine_cannot_go_with_are_one_line(tmp_path, capsys, flags, text):
    flags = [f.format(tmp=tmp_path) for f in flags]
    one_line_error(in_process(capsys, "check", "paxos", "--ray", "local", *flags),
                   text.format(tmp=tmp_path))
    assert not (tmp_path / "d").exists()


def test_a_mutant_checked_by_simulation_needs_exhaustive(capsys):
    one_line_error(in_process(capsys, "check", "raft", "--mutant", "commit-old-term",
                              "--ray", "local"),
                   "--ray: mutant commit-old-term is checked by simulation; add --exhaustive")


@pytest.mark.parametrize("address,text", [
    ("127.0.0.1:1", "--ray 127.0.0.1:1: cannot reach a Ray cluster there (Connection refused)"),
    ("head", "--ray head: expected HOST:PORT of the cluster's head"),
    ("head:port", "--ray head:port: expected HOST:PORT"),
])
def test_an_unreachable_or_malformed_address_is_one_line(capsys, address, text):
    one_line_error(in_process(capsys, "check", "paxos", "--ray", address), text)


def test_without_ray_installed_the_flag_is_one_line(tmp_path):
    fake = tmp_path / "ray"  # a `ray` that fails to import, first on the path
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    p = subprocess.run([*QUORUM, "check", "paxos", "--ray", "local"], capture_output=True,
                       text=True, env=env, timeout=120)
    one_line_error(p, "--ray needs Ray: pip install 'quorum-check[ray]'")


pytest.importorskip("ray", reason="the Ray engine needs the ray extra (in dev)")


def test_a_counterexample_is_printed_as_the_local_engine_prints_it():
    args = ["check", "paxos", "--mutant", "ignore-1b-votes", "--invariant", "Agreement"]
    local = quorum(*args, "--workers", "1", "--quiet")
    ray = quorum(*args, "--ray", "local", "--workers", "3", "--quiet")
    assert (local.returncode, ray.returncode) == (1, 1), ray.stderr
    assert ray.stdout == local.stdout
    assert "A shortest behaviour that violates it (13 states):" in ray.stdout
    assert "Ray: 3 workers" in ray.stderr and "Ray:" not in local.stderr
    assert "Traceback" not in ray.stderr


@pytest.mark.slow
def test_json_says_the_engine_and_pins_the_counts():
    p = quorum("check", "paxos", "--ray", "local", "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["verdict"], out["engine"], out["workers"]) == ("ok", "ray", 2)
    assert (out["distinct_states"], out["generated_states"], out["depth"]) == (3921, 22995, 17)
    assert out["bytes_exchanged_per_state"] > 0
    assert out["bytes_via_driver"] == 3 * 8 * 3921


@pytest.mark.slow
def test_a_cluster_started_with_ray_start_is_joined_by_address(tmp_path):
    """`ray start --head` without the hash seed (so the workers are started with it, by a
    runtime_env), joined by its address."""
    import socket
    import sys
    import time
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env["RAY_AUTH_MODE"] = "disabled"  # not Ray's default, but independent of ~/.ray
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    try:
        args = ["check", "paxos", "--mutant", "ignore-1b-votes", "--invariant", "Agreement"]
        for _ in range(120):  # the head answers on its port once it has started
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None, "ray start --head failed"
                time.sleep(1)
        ray = subprocess.run([*QUORUM, *args, "--ray", f"127.0.0.1:{port}", "--quiet"],
                             capture_output=True, text=True, env=env, timeout=300)
        local = quorum(*args, "--workers", "1", "--quiet")
        assert (ray.returncode, local.returncode) == (1, 1), ray.stderr
        assert ray.stdout == local.stdout and "Ray: 2 workers" in ray.stderr
    finally:
        head.terminate()  # ray start --block stops the processes it started
        head.wait(timeout=60)
