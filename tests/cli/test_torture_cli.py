"""`quorum torture`'s flags, exit codes and re-checking of a saved history (no cluster);
the runs against real processes are in tests/harness/test_torture.py (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.cli import quorum
from quorum.harness.verdict import save
from quorum.model_checker.history.operations import Operation


@pytest.mark.parametrize("args, message", [
    (["--members", "2"], "--members must be between 3 and 9"),
    (["--duration", "0"], "--duration must be positive"),
    (["--clients", "0"], "--clients must be between 1 and 64"),
    (["--keys", "1000"], "--keys must be between 1 and 100"),
    (["--op-timeout", "-1"], "--op-timeout and --check-timeout must be positive"),
    (["--nemesis", "kill,flood"], "--nemesis 'kill,flood': name each of"),
    (["--nemesis", "kill,kill"], "--nemesis 'kill,kill': name each of"),
    (["--unsafe-mutant", "local-read"], "--unsafe-mutant runs a known bug and is for tests"),
    (["--duration", "soon"], "argument --duration: invalid float value: 'soon'"),
])
def test_bad_flags_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    r = quorum("torture", *args, timeout=60)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""


def _history(tmp_path: Path, stale: bool) -> Path:
    ops = [Operation(0, 0.0, 1.0, ("write", "k0", "a")),
           Operation(1, 2.0, 3.0, ("cas", "k0", "a", "b"), True),
           Operation(2, 4.0, 5.0, ("read", "k0"), "a" if stale else "b"),
           Operation(3, 4.5, None, ("write", "k0", "c"))]
    path = tmp_path / "h.json"
    save(path, ops, [], {"members": 3})
    return path


def test_check_judges_a_saved_history_again(tmp_path: Path) -> None:
    r = quorum("torture", "--check", str(_history(tmp_path, stale=False)), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("linearizable: 4 operations on 1 keys")


def test_check_names_the_operation_that_cannot_be_linearized(tmp_path: Path) -> None:
    path = _history(tmp_path, stale=True)
    r = quorum("torture", "--check", str(path), timeout=60)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "NOT linearizable: key 'k0': no order of its history explains"
    assert lines[1] == "  client 2 ('read', 'k0') -> 'a' [called 4.0, returned 5.0]"
    r = quorum("torture", "--check", str(path), "--json", timeout=60)
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["verdict"] == "illegal" and doc["operations"] == 4
    assert doc["unlinearizable"] == "client 2 ('read', 'k0') -> 'a' [called 4.0, returned 5.0]"


def test_check_of_a_file_that_is_not_a_history_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"history": [{"client": 0}]}')
    r = quorum("torture", "--check", str(bad), timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"quorum torture: error: {bad}: not a torture history "
                                f"(KeyError: 'call')")


def test_serve_refuses_an_unsafe_mutant_unless_the_environment_allows_it(tmp_path: Path) -> None:
    r = quorum("serve", "--data-dir", str(tmp_path / "d"), "--insecure-peers",
               "--unsafe-mutant", "local-read",
               timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == ("quorum serve: error: --unsafe-mutant runs a known bug and is "
                                "for tests only; set QUORUM_UNSAFE_MUTANTS=1 to allow it")
    assert not (tmp_path / "d").exists()


def test_serve_runs_only_the_mutants_a_member_consults(tmp_path: Path) -> None:
    import os
    import subprocess

    from helpers.cli import QUORUM

    r = subprocess.run([*QUORUM, "serve", "--data-dir", str(tmp_path / "d"), "--insecure-peers",
                        "--unsafe-mutant", "no-sessions"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, QUORUM_UNSAFE_MUTANTS="1"))
    assert r.returncode == 2
    assert r.stderr.startswith("quorum serve: error: --unsafe-mutant 'no-sessions': a member "
                               "can run only commit-old-term, ")
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "d").exists()
