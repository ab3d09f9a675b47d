"""`quorum example NAME`: each canonical counterexample in one command, exit 1."""

from __future__ import annotations

import pytest

from helpers.cli import quorum
from quorum.cli.commands.example import EXAMPLES
from quorum.spec.raft.figure8 import FIGURE_8, figure_8_labels


def test_figure_8_is_told_in_the_papers_four_phases():
    p = quorum("example", "figure8")
    assert p.returncode == 1, p.stderr
    out = p.stdout
    captions = [c.split(" ")[0] for c, _ in FIGURE_8]
    assert captions == ["(a)", "(b)", "(c)", "(d)"]
    # the phases come in order, each before its first step
    at = [out.index("\n(a) "), out.index("\n(b) "), out.index("\n(c) "), out.index("\n(d) ")]
    assert at == sorted(at)
    assert out.index("\n(a) ") < out.index("\n2: Timeout(i='s1')")
    assert out.index("\n(c) ") < out.index("\n23: Restart(i='s1')") < out.index("\n(d) ")
    assert "\n41: AdvanceCommitIndex(i='s1')\n     commitIndex[s1]: 0 -> 1\n" in out
    assert "\n52: BecomeLeader(i='s2')\n" in out and "\n53: " not in out
    assert out.rstrip().endswith("which s1 committed in term 4.")
    assert "Error: invariant LeaderCompleteness is violated in state 52" in out
    assert len(figure_8_labels()) == 51


@pytest.mark.parametrize("name,verdict,length", [
    ("ceil-majority-paxos", "Error: invariant Agreement is violated.", 13),
    ("ceil-majority-raft", "Error: invariant ElectionSafety is violated.", 11),
    ("ceil-majority-primary-backup", "Error: invariant NoLostWrite is violated.", 4),
    ("split-brain", "Error: invariant NoSplitBrain is violated.", 5),
])
def test_the_tutorials_bugs_one_command_each(name, verdict, length):
    p = quorum("example", name)
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith(EXAMPLES[name].title + ".\n")
    assert "$ quorum check " + " ".join(EXAMPLES[name].check or ()) in p.stdout
    assert verdict in p.stdout
    assert f"behaviour that violates it ({length} states):" in p.stdout


def test_list_and_unknown_name():
    p = quorum("example")
    assert p.returncode == 0 and p.stdout.splitlines()[0].startswith("figure8 ")
    assert len(p.stdout.splitlines()) == len(EXAMPLES) == 5
    bad = quorum("example", "figure9")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no example 'figure9'" in bad.stderr
