"""`quorum check primary-backup|central`: the exit codes and traces issue 8 pins."""

from __future__ import annotations

import pytest

from helpers.cli import quorum


@pytest.mark.parametrize("args,code,verdict", [
    ("primary-backup --mode async", 1, "Error: invariant NoLostWrite is violated."),
    ("primary-backup --mode sync-majority", 0, "No error has been found."),
    ("primary-backup --mode sync-majority --reads local", 1,
     "Error: action property ReadsSeeLatestAck is violated."),
    ("primary-backup --mode sync --no-fencing", 1, "Error: invariant NoSplitBrain is violated."),
    ("primary-backup --mode sync", 0, "No error has been found."),
    ("primary-backup --mode sync --down backup", 1,
     "Error: reachability property WriteAcknowledged holds in no reachable state."),
    ("primary-backup --mutant ceil-majority", 1, "Error: invariant NoLostWrite is violated."),
    ("central", 0, "No error has been found."),
    ("central --standby", 1, "Error: invariant OneCoordinator is violated."),
    ("central --standby --fencing", 0, "No error has been found."),
    ("central --down coordinator", 1,
     "Error: reachability property WriteAcknowledged holds in no reachable state."),
])
def test_exit_code_and_verdict(args, code, verdict):
    p = quorum("check", *args.split(), "--quiet")
    assert p.returncode == code, p.stdout + p.stderr
    assert verdict in p.stdout


def test_lost_write_trace_is_printed():
    out = quorum("check", "primary-backup", "--mode", "async", "--quiet").stdout
    assert "2: ClientWrite(p='n1', w='w1')" in out
    assert "3: Promote(b='n2')" in out and "role[n2]: backup -> primary" in out


def test_bad_choice_is_a_usage_error():
    p = quorum("check", "primary-backup", "--mode", "semi")
    assert p.returncode == 2 and "invalid choice" in p.stderr and "Traceback" not in p.stderr
