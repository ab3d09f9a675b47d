"""The disk-backed search agrees with the in-memory fingerprint search (counts, depth,
coverage, verdict, shortest trace), keeps at most its buffer in memory, and resumes
from any of its checkpoints to the same result; damaged or foreign checkpoints are
refused."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from quorum.model_checker.explicit import disk
from quorum.model_checker.explicit.disk import CheckpointError, DiskStore, check_disk
from quorum.model_checker.explicit.parallel import check_fingerprints
from quorum.spec.paxos import SPEC as PAXOS
from quorum.spec.raft import SPEC as RAFT

from .test_parallel import Grid


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch):
    """The logic of checkpoints, not their durability (fsync), is tested here; the
    command's test kills a real process that does sync."""
    monkeypatch.setattr(disk, "SYNC", False)


def outcome(r):
    return (r.ok, r.distinct_states, r.generated_states, r.depth, r.complete,
            {k: (c.generated, c.distinct) for k, c in r.coverage.items()},
            None if r.violation is None else (r.violation.kind, r.violation.property,
                                              r.violation.trace))


def paxos(mutant=None, symmetry=False, **values):
    return PAXOS.build({**PAXOS.defaults(mutant), **values}, mutant, symmetry)


@pytest.mark.parametrize("buffer", [1, 7, 1 << 22])
@pytest.mark.parametrize("kwargs", [
    {},
    {"invariants": {"Low": lambda s: s[0] + s[1] < 7}},
    {"action_properties": {"NoJump": lambda s, lab, t: lab[0] != "Jump" or t[1] < 3}},
    {"reachability": {"Corner": lambda s: s == (9, 9)}},
    {"stop_at": 3},
])
def test_grid_agrees_with_the_in_memory_search(tmp_path, buffer, kwargs):
    deadlock = "stop_at" in kwargs
    expected = check_fingerprints(Grid(**kwargs), check_deadlock=deadlock)
    got = check_disk(Grid(**kwargs), tmp_path / "d", buffer=buffer, check_deadlock=deadlock)
    assert outcome(got) == outcome(expected)
    assert list((tmp_path / "d").iterdir()) == []  # its files are gone when it ends


@pytest.mark.parametrize("model,distinct,kind", [
    (lambda: paxos(), 3921, None),
    (lambda: paxos(symmetry=True, max_ballot=2), 17153, None),
    (lambda: paxos("ceil-quorum"), 28279, "invariant"),
    (lambda: paxos("vote-below-promise"), 934, "invariant"),
    (lambda: RAFT.build({**RAFT.defaults(), "servers": 2, "max_term": 2, "max_log": 1,
                         "max_msgs": 1}, None, False), None, None),
], ids=["paxos-b1", "paxos-b2-symmetry", "ceil-quorum", "vote-below-promise", "raft-s2"])
def test_pinned_models_agree(tmp_path, model, distinct, kind):
    expected = check_fingerprints(model(), workers=1)
    got = check_disk(model(), tmp_path / "d", buffer=500)  # several runs, merged
    assert outcome(got) == outcome(expected)
    if distinct is not None:
        assert got.distinct_states == distinct
    assert (got.violation and got.violation.kind) == kind
    assert got.extra["store"] == "64-bit fingerprints on disk"


@pytest.mark.slow
def test_paxos_b2_without_symmetry_agrees(tmp_path):
    expected = check_fingerprints(paxos(max_ballot=2), workers=1)
    got = check_disk(paxos(max_ballot=2), tmp_path / "d", buffer=10_000)
    assert outcome(got) == outcome(expected) and got.distinct_states == 185369


def test_max_states_stops_where_the_in_memory_search_stops(tmp_path):
    expected = check_fingerprints(paxos(max_ballot=2), workers=1, max_states=20000)
    got = check_disk(paxos(max_ballot=2), tmp_path / "d", max_states=20000)
    assert outcome(got) == outcome(expected) and not got.complete


def test_the_store_holds_at_most_its_buffer_in_memory(tmp_path):
    rng = np.random.default_rng(7)
    store = DiskStore(tmp_path, buffer=1000, retire=lambda p: p.unlink())
    added = np.unique(rng.integers(1, 1 << 63, 25_000, dtype=np.uint64))
    rng.shuffle(added)
    for part in np.array_split(added, 100):
        part = np.sort(part)
        assert store.unseen(part).all()
        store.add(part, part + np.uint64(1))
        assert store.mem_n < 1000
    assert len(store) == len(added)
    assert len(store.runs) <= 6  # merged by size: logarithmically many runs
    others = np.setdiff1d(rng.integers(1, 1 << 63, 5000, dtype=np.uint64), added)
    probe = np.sort(np.concatenate((added[:3000], others)))
    assert (store.unseen(probe) == ~np.isin(probe, added)).all()
    assert store.parent(int(added[17])) == int(added[17]) + 1
    assert store.parent(int(others[0])) is None
    assert store.min_gap() == int(np.diff(np.sort(added)).min())


def _peak_while_adding(directory, n: int, seed: int) -> int:
    """tracemalloc's peak (numpy's arrays included) over adding ``n`` random fingerprints
    to a store with a small buffer, in batches, so that runs are written and merged."""
    rng = np.random.default_rng(seed)
    store = DiskStore(directory, buffer=1 << 14, retire=lambda p: p.unlink())
    tracemalloc.start()
    try:
        for _ in range(n // 4096):
            batch = np.unique(rng.integers(1, 1 << 63, 4096, dtype=np.uint64))
            store.add(batch, batch)
        store.flush()
        assert len(store) > n * 0.99
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()


def test_the_stores_peak_memory_does_not_grow_with_the_states(tmp_path, monkeypatch):
    """A merge of runs holding N fingerprints must not keep 8 N bytes alive (its page
    index once was views into every chunk it wrote, 5 MB more at 2^20 than at 2^17)."""
    monkeypatch.setattr(disk, "CHUNK", 1 << 12)
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = _peak_while_adding(tmp_path / "small", 1 << 17, 1)
    large = _peak_while_adding(tmp_path / "large", 1 << 20, 2)
    # 8x the states: the page indexes grow by 7 * 2^20 / 512 * 8 bytes (112 KiB); a merge
    # that kept its output would add 7 MiB
    assert large - small < 512 * 1024, (small, large)


def _interrupted(model, directory, stop_at, **kw):
    """Run until the ``stop_at``-th checkpoint has been written, then die there."""
    class Killed(Exception):
        pass

    seen = []

    def on_checkpoint(info):
        seen.append(info)
        if len(seen) == stop_at:
            raise Killed

    try:
        check_disk(model, directory, checkpoint_interval=0, on_checkpoint=on_checkpoint, **kw)
    except Killed:
        return True
    return False


def test_resuming_from_any_checkpoint_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "BATCH", 64)  # checkpoints in the middle of levels too
    expected = outcome(check_fingerprints(paxos(), workers=1))
    stops = 0
    for stop_at in range(1, 200, 9):
        d = tmp_path / f"run{stop_at}"
        if not _interrupted(paxos(), d, stop_at, buffer=300, key={"k": 1}):
            break
        doc = json.loads((d / "checkpoint.json").read_text())
        stops += doc["frontier_offset"] > 0  # a checkpoint within a level
        got = check_disk(paxos(), d, checkpoint_interval=0, buffer=300, key={"k": 1})
        assert outcome(got) == expected
        assert got.extra["resumed_at_depth"] == doc["depth"]
        assert list(d.iterdir()) == []
    assert stop_at > 50 and stops >= 5


def test_a_violation_found_after_a_resume_has_the_same_trace(tmp_path, monkeypatch):
    monkeypatch.setattr(disk, "BATCH", 64)
    expected = outcome(check_fingerprints(paxos("ceil-quorum"), workers=1))
    assert _interrupted(paxos("ceil-quorum"), tmp_path / "d", 40, buffer=1000)
    got = check_disk(paxos("ceil-quorum"), tmp_path / "d", checkpoint_interval=0, buffer=1000)
    assert outcome(got) == expected


def _checkpointed(tmp_path):
    d = tmp_path / "d"
    assert _interrupted(paxos(), d, 6, buffer=300, key={"k": 1})
    return d


def test_another_checks_checkpoint_is_refused(tmp_path):
    d = _checkpointed(tmp_path)
    with pytest.raises(CheckpointError, match=r"another check \(k: 1, not 2\)"):
        check_disk(paxos(), d, checkpoint_interval=0, key={"k": 2})
    with pytest.raises(CheckpointError, match="another check"):
        check_disk(paxos(), d, checkpoint_interval=0, key={"k": 1}, check_deadlock=True)
    with pytest.raises(CheckpointError, match="model"):
        check_disk(Grid(), d, checkpoint_interval=0, key={"k": 1})


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "checkpoint.json").write_text("{"), "damaged checkpoint"),
    (lambda d: (d / "checkpoint.json").write_text("[]"), "damaged checkpoint"),
    (lambda d: next(d.glob("run-*.fp")).unlink(), r"run-\d+\.fp is missing"),
    (lambda d: _flip(next(d.glob("run-*.par"))), r"run-\d+\.par: wrong checksum"),
    (lambda d: _flip(min(d.glob("level-*.states"))), r"level-\d+\.states: wrong checksum"),
    (lambda d: min(d.glob("level-*.states")).write_bytes(b""),
     r"level-\d+\.states( is missing|: wrong checksum)"),
])
def test_a_damaged_checkpoint_is_refused(tmp_path, damage, message):
    d = _checkpointed(tmp_path)
    damage(d)
    with pytest.raises(CheckpointError, match=message):
        check_disk(paxos(), d, checkpoint_interval=0, key={"k": 1})


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_directory_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="not empty"):
        check_disk(paxos(), tmp_path)
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        check_disk(paxos(), tmp_path, checkpoint_interval=0)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("spec,symmetry,overrides,pinned", [
    ("paxos", False, {}, (3921, 17, 22995)),
    ("paxos", True, {}, (443, 17, None)),
    ("raft", False, {}, (1657, 28, 12969)),
    ("raft", True, {}, (837, 28, None)),
    ("primary-backup", False, {"nodes": 4, "mode": "sync-majority"}, (2580, None, None)),
    pytest.param("central", False, {"standby": True, "fencing": True, "failovers": 2,
                                    "crashes": 2, "writes": 3}, (17009, None, None),
                 marks=pytest.mark.slow),
])
def test_the_pinned_counts_of_every_spec(tmp_path, spec, symmetry, overrides, pinned):
    """The counts the specs' own tests pin (and TLC's where there is one), on disk."""
    from helpers.specs import build
    from quorum.cli.specs import load

    model = build(load(spec), None, symmetry, **overrides)
    got = check_disk(model, tmp_path / "d", buffer=256)
    assert got.ok and got.complete
    counts = (got.distinct_states, got.depth, got.generated_states)
    assert all(p is None or p == c for p, c in zip(pinned, counts, strict=True)), counts
    assert outcome(got) == outcome(check_fingerprints(model, workers=1))


def test_states_that_cannot_be_written_are_a_clear_error(tmp_path):
    class Odd(Grid):
        def initial_states(self):
            yield (0, lambda: 0)

        def within_bounds(self, s):
            return True

        def successors(self, s):
            return iter(())

    with pytest.raises(disk.CheckError, match="states cannot be pickled"):
        check_disk(Odd(), tmp_path / "d")
    assert list((tmp_path / "d").iterdir()) == []
