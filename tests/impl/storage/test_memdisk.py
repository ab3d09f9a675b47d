"""DiskStorage on MemoryDisk: crashes lose exactly what was not fsynced, torn writes are cut
back to whole records, and a crash inside any operation leaves a state Raft may restart from.

The crash property runs seeded random workloads against a record-level model: after a crash
the recovered state must equal the model's state after some prefix of the records written,
and never one from before the last fsync."""

from __future__ import annotations

import random

import pytest

from quorum.impl.mutants import Mutant
from quorum.impl.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from quorum.impl.storage import DiskStorage, MemoryDisk, SimulatedCrash, State

DIR = "/data/n1"


def open_mem(disk: MemoryDisk, **kw: object) -> tuple[DiskStorage, State]:
    return DiskStorage.open(disk, DIR, cluster_id=9, node_id=1, **kw)  # type: ignore[arg-type]


def test_unsynced_commit_index_is_lost_but_synced_entries_are_not() -> None:
    disk = MemoryDisk()
    s, _ = open_mem(disk)
    s.save(HardState(1, 1, 0), [Entry(1, 1), Entry(1, 2)])
    s.save(HardState(1, 1, 2))  # commit only: not fsynced
    disk.crash()
    assert open_mem(disk)[1] == State(HardState(1, 1, 0), None, (Entry(1, 1), Entry(1, 2)))


def test_no_fsync_vote_mutant_loses_the_vote_on_a_crash() -> None:
    for mutants, expected in [(frozenset(), HardState(2, 3, 0)),
                              (frozenset({Mutant.NO_FSYNC_VOTE}), HardState())]:
        disk = MemoryDisk()
        s, _ = open_mem(disk, mutants=mutants)
        assert s.save(HardState(2, 3, 0)) is not bool(mutants)
        disk.crash()
        assert open_mem(disk)[1].hard_state == expected


def test_a_file_created_without_a_directory_fsync_vanishes() -> None:
    disk = MemoryDisk()
    disk.makedirs("/d")
    f = disk.open_append("/d/x")
    f.write(b"data")
    f.sync()
    disk.crash()
    assert not disk.exists("/d/x")
    with pytest.raises(RuntimeError):
        f.write(b"more")  # handles die with the crash


def test_a_torn_write_keeps_a_random_prefix_of_the_unsynced_bytes() -> None:
    kept = set()
    for seed in range(40):
        disk = MemoryDisk()
        disk.makedirs("/d")
        f = disk.open_append("/d/x")
        disk.sync_dir("/d")
        f.write(b"synced")
        f.sync()
        f.write(b"0123456789")
        disk.crash(random.Random(seed))
        data = disk.read_file("/d/x")
        assert data.startswith(b"synced") and b"synced0123456789".startswith(data)
        kept.add(len(data))
    assert len(kept) > 5  # the tear point really varies with the seed


def test_durable_view_reads_what_a_crash_would_keep() -> None:
    disk = MemoryDisk()
    s, _ = open_mem(disk)
    s.save(HardState(1, 1, 0), [Entry(1, 1)])
    s.save(HardState(1, 1, 1))
    durable = open_mem(disk.durable_view())[1]
    assert durable.hard_state == HardState(1, 1, 0)
    s.save(None, [Entry(1, 2)])  # the live disk is untouched by reading the view
    disk.crash()
    assert open_mem(disk)[1].entries == (Entry(1, 1), Entry(1, 2))


# --- the crash property ---------------------------------------------------------------------

class Model:
    """The log as a prefix of the records written describes it."""

    def __init__(self, state: State) -> None:
        self.hs, self.snap, self.log = state.hard_state, state.snapshot, list(state.entries)
        self.states = [state]  # after each record boundary since the last durable point
        self.durable = 0  # index into states: nothing before it may be lost

    @property
    def snap_index(self) -> int:
        return self.snap.meta.index if self.snap else 0

    @property
    def last(self) -> int:
        return self.log[-1].index if self.log else self.snap_index

    def record(self) -> None:
        self.states.append(State(self.hs, self.snap, tuple(self.log)))

    def entries(self, run: list[Entry]) -> None:
        self.log = [e for e in self.log if e.index < run[0].index] + run
        self.record()

    def snapshot(self, snap: Snapshot, replace_log: bool) -> None:
        self.snap = snap
        self.log = [] if replace_log else [e for e in self.log if e.index > snap.meta.index]
        self.record()

    def hard_state(self, hs: HardState) -> None:
        if hs != self.hs:
            self.hs = hs
            self.record()


def step(rng: random.Random, m: Model, s: DiskStorage) -> None:
    """One random, Raft-shaped storage operation, announced to the model first."""
    r, term = rng.random(), m.hs.term or 1
    if r < 0.45 or m.last == 0:
        floor = max(m.snap_index, m.hs.commit)  # committed entries are never overwritten
        first = m.last + 1 if r < 0.35 or m.last <= floor else rng.randint(floor + 1, m.last)
        if first <= m.last:
            term += 1  # only a newer leader overwrites
        batch = [Entry(term, i, data=rng.randbytes(rng.randint(0, 40)))
                 for i in range(first, first + rng.randint(1, 5))]
        hs = HardState(term, m.hs.vote, m.hs.commit)
        m.entries(batch)
        m.hard_state(hs)
        synced = s.save(hs, batch)
    elif r < 0.6:
        hs = HardState(m.hs.term, m.hs.vote, rng.randint(m.hs.commit, max(m.hs.commit, m.last)))
        m.hard_state(hs)
        synced = s.save(hs)
    elif r < 0.72:
        hs = HardState(m.hs.term + 1, rng.randint(1, 3), m.hs.commit)
        m.hard_state(hs)
        synced = s.save(hs)
    elif r < 0.9 and m.last > m.snap_index:
        index = rng.randint(m.snap_index + 1, m.last)
        term_at = next(e.term for e in m.log if e.index == index)
        snap = Snapshot(SnapshotMeta(index, term_at, ConfState((1, 2, 3))), b"sm@%d" % index)
        m.snapshot(snap, replace_log=False)
        s.save_snapshot(snap)
        s.release_to(index)
        synced = True
    else:
        index = m.last + rng.randint(1, 4)
        snap = Snapshot(SnapshotMeta(index, term, ConfState((1, 2, 3))), b"installed")
        m.snapshot(snap, replace_log=True)
        synced = s.save(None, (), snapshot=snap)
    if synced:
        m.durable = len(m.states) - 1


def run_with_crashes(seed: int, steps: int) -> int:
    rng = random.Random(seed)
    disk = MemoryDisk()
    s, state = open_mem(disk, segment_bytes=rng.choice([200, 600, 4096]))
    m = Model(state)
    crashes = 0
    for _ in range(steps):
        if rng.random() < 0.15:
            disk.crash_after(rng.randint(1, 6))
        try:
            step(rng, m, s)
        except SimulatedCrash:
            pass
        else:
            if rng.random() > 0.1:
                continue
        disk.crash(rng if rng.random() < 0.7 else None)
        crashes += 1
        s, state = open_mem(disk, segment_bytes=s.segment_bytes)
        assert state in m.states[m.durable:], (seed, state, m.states[m.durable:])
        m = Model(state)
    return crashes


@pytest.mark.parametrize("mutants", [frozenset(), frozenset({Mutant.NO_FSYNC_VOTE})])
@pytest.mark.parametrize("seed", range(6))
def test_durable_is_what_a_crash_would_recover(seed: int, mutants: frozenset[Mutant]) -> None:
    rng = random.Random(seed)
    disk = MemoryDisk()
    s, state = open_mem(disk, segment_bytes=400, mutants=mutants)
    m = Model(state)
    lagging = 0
    for _ in range(150):
        step(rng, m, s)
        durable = open_mem(disk.durable_view(), mutants=mutants)[1]
        assert s.durable() == durable
        assert s.durable_hard_state == durable.hard_state
        behind = (durable.hard_state.term, durable.hard_state.vote) != (m.hs.term, m.hs.vote)
        assert not behind or mutants  # term and vote are durable when save returns ...
        lagging += behind
    assert bool(lagging) == bool(mutants)  # ... except under the mutant


@pytest.mark.parametrize("seed", range(25))
def test_recovery_after_a_crash_anywhere_is_a_record_prefix_past_the_last_fsync(
        seed: int) -> None:
    assert run_with_crashes(seed, 120) > 0


@pytest.mark.slow
def test_crash_property_many_seeds() -> None:
    crashes = sum(run_with_crashes(seed, 200) for seed in range(25, 625))
    assert crashes > 600


def _torn(tear: str, seed: int) -> bytes:
    disk = MemoryDisk()
    disk.makedirs("/d")
    f = disk.open_append("/d/x")
    disk.sync_dir("/d")
    f.write(b"synced")
    f.sync()
    disk.crash_after(2, tear)
    f.write(b"0123456789")
    with pytest.raises(SimulatedCrash):
        f.sync()
    disk.crash(random.Random(seed))
    return disk.read_file("/d/x")


def test_a_zeros_tear_keeps_the_full_length_with_a_zero_filled_rest() -> None:
    seen = set()
    for seed in range(40):
        data = _torn("zeros", seed)
        assert len(data) == 16 and data.startswith(b"synced")
        kept = len(data.rstrip(b"\0"))
        assert data[:kept] == b"synced0123456789"[:kept] and not any(data[kept:])
        seen.add(kept)
    assert {6, 16} <= seen and len(seen) > 5  # all zeros, none, and tears in between


def test_a_garbled_tear_keeps_every_byte_but_the_last() -> None:
    assert _torn("garbled", 0) == b"synced012345678" + bytes([ord("9") ^ 1])


def test_the_tear_applies_to_one_crash_only_and_unknown_tears_are_refused() -> None:
    disk = MemoryDisk()
    disk.makedirs("/d")
    f = disk.open_append("/d/x")
    disk.crash_after(5, "zeros")
    disk.crash()
    f = disk.open_append("/d/x")
    disk.sync_dir("/d")
    f.write(b"abc")
    disk.crash(random.Random(1))  # a prefix again, not zeros
    assert disk.read_file("/d/x") in (b"", b"a", b"ab", b"abc")
    with pytest.raises(ValueError, match="unknown tear 'shred'"):
        disk.crash_after(1, "shred")


def test_corrupt_flips_one_durable_bit_and_refuses_bytes_not_yet_durable() -> None:
    disk = MemoryDisk()
    disk.makedirs("/d")
    f = disk.open_append("/d/x")
    disk.sync_dir("/d")
    f.write(b"AB")
    f.sync()
    f.write(b"C")
    disk.corrupt("/d/x", 1, 0)
    assert disk.read_file("/d/x") == b"AC" + b"C"
    assert disk.durable_view().read_file("/d/x") == b"AC"
    with pytest.raises(ValueError, match="not durable"):
        disk.corrupt("/d/x", 2, 0)
