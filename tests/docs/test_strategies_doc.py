"""docs/strategies.md is generated from the checker: its traces and its table must be
exactly what docs/gen_strategies.py computes now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_strategies", ROOT / "docs" /
                                                  "gen_strategies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_strategies"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_doc_is_current():
    text = gen.DOC.read_text()
    assert text == gen.regenerate(text), "run: python docs/gen_strategies.py"


def test_every_generated_block_is_filled():
    blocks = list(gen.BLOCK.finditer(gen.DOC.read_text()))
    assert len(blocks) == 19
    for m in blocks:
        assert "(exit status" in m.group("body") or m.group("what") == "comparison table"


@pytest.mark.parametrize("command,verdict", [
    ("quorum check primary-backup --mode async", "Error: invariant NoLostWrite is violated."),
    ("quorum check primary-backup --mode sync --no-fencing",
     "Error: invariant NoSplitBrain is violated."),
    ("quorum check primary-backup --mode sync-majority --reads local",
     "Error: action property ReadsSeeLatestAck is violated."),
    ("quorum check primary-backup --mode sync-majority", "(exit status 0)"),
    ("quorum check central", "(exit status 0)"),
    ("quorum check central --standby", "Error: invariant OneCoordinator is violated."),
    ("quorum check central --standby --fencing", "(exit status 0)"),
    ("quorum check central --liveness", "(exit status 0)"),
    ("quorum check central --liveness --down coordinator",
     "Error: liveness property EveryWriteAcknowledged is violated."),
    ("quorum check central --liveness --standby --fencing --down coordinator --failovers 2",
     "(exit status 0)"),
    ("quorum check central --liveness --standby --fencing --down coordinator",
     "Then it stutters in state 4 forever"),
])
def test_issue_verdicts_appear_in_the_doc(command, verdict):
    text = gen.DOC.read_text()
    block = next(m.group("body") for m in gen.BLOCK.finditer(text) if m.group("what") == command)
    assert verdict in block


def test_table_cells_are_read_off_shortest_traces():
    rows = {row.flags: row for row in gen.ROWS if row.spec == "primary-backup"}
    pb = {flags: gen._build(row) for flags, row in rows.items()}
    assert gen.round_trips_before_ack("primary-backup", pb["--mode async"]) == (0, 0)
    assert gen.round_trips_before_ack("primary-backup", pb["--mode sync"]) == (1, 2)
    assert gen.round_trips_before_ack("primary-backup", pb["--mode sync-majority"]) == (1, 1)
    assert gen.messages_per_write("primary-backup", pb["--mode sync-majority"]) == 4
    standby = next(r for r in gen.ROWS if r.flags == "--standby --fencing")
    assert gen.messages_per_write("central", gen._build(standby)) == 6
    assert gen.shortest_actions(pb["--mode sync"], gen._FACTS["primary-backup"].acknowledged) \
        == ["ClientWrite", "Replicate", "Replicate"]


def test_availability_column():
    sync = next(r for r in gen.ROWS if r.flags == "--mode sync")
    majority = next(r for r in gen.ROWS if r.flags == "--mode sync-majority")
    alone = next(r for r in gen.ROWS if r.spec == "central" and not r.flags)
    assert [gen.available(sync, d) for d in ("primary", "backup")] == ["**no**", "**no**"]
    assert [gen.available(majority, d) for d in ("primary", "backup")] == ["yes", "yes"]
    assert [gen.available(alone, d) for d in ("coordinator", "replica")] == ["**no**", "yes"]


def test_check_mode_reports_a_stale_doc(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "strategies.md"
    stale.write_text(gen.DOC.read_text().replace("depth 3.", "depth 4.", 1))
    monkeypatch.setattr(gen, "DOC", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert "is stale" in capsys.readouterr().err
