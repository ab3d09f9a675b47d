"""`quorum check ... --chart FILE` and the explanation printed after a counterexample."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from helpers.cli import quorum


def test_check_writes_the_chart_and_explains(tmp_path):
    out = tmp_path / "chart.svg"
    p = quorum("check", "paxos", "--mutant", "ignore-1b-votes", "--invariant", "Agreement",
               "--quiet", "--chart", str(out))
    assert p.returncode == 1
    assert ("Where the bug acts (steps the correct protocol does not take):\n"
            "  step 10: Paxos.tla refuses: a2 reported a vote for v1 in ballot 0, the highest "
            "reported, so ballot 1 may propose only v1, not v2 (the mutant's rule proposable "
            "allows it)\n"
            "Why the last state violates it:\n"
            "  two values are chosen: v1 by {a2,a3} in ballot 0, v2 by {a1,a2} in ballot 1\n"
            "  the 2a of ballot 1 proposes v2, while a2's 1b for ballot 1 reports a vote for v1 "
            "in ballot 0, the highest reported\n"
            "Milestones:\n"
            "  state 7: ballot 0 proposes v1\n") in p.stdout
    root = ET.fromstring(out.read_text())
    assert root.get("class") == "sequence-chart"
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")
              if t.get("class") == "lane-label"]
    assert labels == ["p0", "p1", "a1", "a2", "a3", "learner"]


def test_chart_errors_are_one_line(tmp_path):
    p = quorum("check", "primary-backup", "--mutant", "ceil-majority", "--quiet",
               "--chart", str(tmp_path / "c.svg"))
    assert p.returncode == 2  # a spec without chart hooks: one clear line
    assert p.stderr.strip().splitlines() == [
        "quorum check: error: --chart: primary-backup[ceil-majority] has no sequence-chart hooks "
        "(paxos and raft have them)"]
    assert not (tmp_path / "c.svg").exists()
    p = quorum("check", "paxos", "--mutant", "ceil-quorum", "--quiet",
               "--chart", str(tmp_path / "missing" / "c.svg"))
    assert p.returncode == 2
    assert p.stderr.strip() == (f"quorum check: error: --chart {tmp_path / 'missing' / 'c.svg'}: "
                                f"directory {tmp_path / 'missing'} does not exist")
    assert "Traceback" not in p.stderr
