"""The write-ahead log on the real file system: torn tails, corruption, overwrite, segments,
snapshots."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from impl.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from impl.storage import CorruptionError, DiskStorage, OSDisk, State, StorageError
from impl.storage.records import encode_entries

CID, NID = 0xC1, 0x1


def open_dir(path: Path, **kw: object) -> tuple[DiskStorage, State]:
    return DiskStorage.open(OSDisk(), str(path), cluster_id=CID, node_id=NID, **kw)  # type: ignore[arg-type]


def ents(first: int, last: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, data=b"v%d" % i) for i in range(first, last + 1)]


def only_segment(path: Path) -> Path:
    [seg] = sorted((path / "wal").iterdir())
    return seg


def test_a_fresh_directory_is_empty_and_reopens_empty(tmp_path: Path) -> None:
    s, state = open_dir(tmp_path)
    assert state == State(HardState(), None, ())
    s.close()
    assert open_dir(tmp_path)[1] == state


def test_save_is_one_fsync_and_commit_only_changes_are_not_synced(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path)
    disk = s.disk
    before = disk.syncs
    assert s.save(HardState(1, 1, 0), ents(1, 50))  # a batch of 50 entries + vote
    assert disk.syncs == before + 1
    assert not s.save(HardState(1, 1, 40))  # commit only: written, not fsynced
    assert disk.syncs == before + 1
    assert not s.save(HardState(1, 1, 40), ())  # nothing new: nothing written
    s.close()
    assert open_dir(tmp_path)[1] == State(HardState(1, 1, 40), None, tuple(ents(1, 50)))


def build(path: Path) -> list[tuple[int, State]]:
    """Five saves; returns (segment size, state) after each."""
    s, _ = open_dir(path)
    seg, out, log = only_segment(path), [], []
    for k in range(1, 6):
        hs = HardState(k, 1, 2 * k - 2)
        batch = ents(2 * k - 1, 2 * k, term=k)
        s.save(hs, batch)
        log += batch
        out.append((seg.stat().st_size, State(hs, None, tuple(log))))
    s.save(None, [Entry(5, 11, data=b"last entry, alone in its record")])
    out.append((seg.stat().st_size, State(out[-1][1].hard_state, None,
                                          (*log, Entry(5, 11, data=b"last entry, alone in its record")))))
    s.close()
    return out


def test_cutting_the_last_record_at_every_byte_keeps_exactly_the_complete_prefix(
        tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    history = build(golden)
    (start, before), (full, after) = history[-2], history[-1]
    for cut in range(start, full + 1):
        work = tmp_path / f"cut{cut}"
        shutil.copytree(golden, work)
        os.truncate(only_segment(work), cut)
        s, state = open_dir(work)
        assert state == (after if cut == full else before), cut
        s.save(None, [Entry(5, 11, data=b"again")])  # the cut-off tail is gone for good
        s.close()
        assert open_dir(work)[1].entries[-1] == Entry(5, 11, data=b"again")
        shutil.rmtree(work)


def test_cutting_inside_a_batch_keeps_its_complete_records(tmp_path: Path) -> None:
    history = build(tmp_path)
    seg = only_segment(tmp_path)
    data = seg.read_bytes()
    (start, state4), (full, state5) = history[3], history[4]
    entries_end = start + len(encode_entries(ents(9, 10, term=5)))  # batch 5: entries, then hs
    middle = State(state4.hard_state, None, state5.entries)
    for cut in range(start, full):
        os.truncate(seg, cut)
        assert open_dir(tmp_path)[1] == (state4 if cut < entries_end else middle), cut
        seg.write_bytes(data)


@pytest.mark.parametrize("victim", range(0, 4))
def test_a_flipped_byte_in_the_middle_is_refused_naming_file_and_offset(
        tmp_path: Path, victim: int) -> None:
    history = build(tmp_path)
    seg = only_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    record_start = history[victim][0]  # first record of save victim+1
    for pos in range(record_start, history[victim + 1][0]):
        damaged = bytearray(data)
        damaged[pos] ^= 0x40
        seg.write_bytes(bytes(damaged))
        with pytest.raises(CorruptionError) as info:
            open_dir(tmp_path)
        err = info.value
        assert err.path == str(seg) and record_start <= err.offset <= pos, pos
        msg = str(err)
        assert "\n" not in msg and str(seg) in msg and f"at byte {err.offset}" in msg
    seg.write_bytes(bytes(data))
    assert open_dir(tmp_path)[1] == history[-1][1]


def test_a_bad_checksum_on_the_final_record_is_a_torn_tail(tmp_path: Path) -> None:
    history = build(tmp_path)
    seg = only_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF
    seg.write_bytes(bytes(data))
    assert open_dir(tmp_path)[1] == history[-2][1]


def test_a_zero_filled_tail_is_a_torn_tail(tmp_path: Path) -> None:
    history = build(tmp_path)
    with open(only_segment(tmp_path), "ab") as f:
        f.write(bytes(4096))
    assert open_dir(tmp_path)[1] == history[-1][1]


def test_suffix_overwrite_survives_restart(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path)
    s.save(HardState(1, 1, 3), ents(1, 10, term=1))
    s.save(HardState(2, 2, 3), ents(6, 8, term=2))  # a new leader's log wins from 6 on
    s.save(None, [*ents(9, 9, term=2), *ents(7, 7, term=3)])  # two runs in one batch
    s.close()
    state = open_dir(tmp_path)[1]
    assert state.entries == (*ents(1, 5, 1), *ents(6, 6, 2), *ents(7, 7, 3))
    assert state.hard_state == HardState(2, 2, 3)


def test_segments_rotate_and_release_below_a_snapshot(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path, segment_bytes=512)
    for i in range(1, 101):
        s.save(HardState(1, 1, i - 1), ents(i, i))
    names = sorted(p.name for p in (tmp_path / "wal").iterdir())
    assert len(names) == len(s.segments) > 5
    assert all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{16}\.wal", n) for n in names)
    assert int(names[1].split("-")[1][:16], 16) > 1  # names carry the first index
    conf = ConfState(voters=(1, 2, 3))
    s.save_snapshot(Snapshot(SnapshotMeta(60, 1, conf), b"state@60"))
    with pytest.raises(StorageError):
        s.release_to(61)
    released = s.release_to(60)
    assert released > 0 and all(seg.max_index > 60 for seg in s.segments[:1])
    s.close()
    state = open_dir(tmp_path, segment_bytes=512)[1]
    assert state.snapshot == Snapshot(SnapshotMeta(60, 1, conf), b"state@60")
    assert state.entries == tuple(ents(61, 100))
    assert state.hard_state == HardState(1, 1, 99)


def test_a_missing_middle_segment_is_refused(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path, segment_bytes=256)
    for i in range(1, 40):
        s.save(HardState(1, 1, 0), ents(i, i))
    s.close()
    segs = sorted((tmp_path / "wal").iterdir())
    segs[2].unlink()
    with pytest.raises(CorruptionError, match="missing"):
        open_dir(tmp_path)


def test_an_installed_snapshot_replaces_the_log(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path)
    s.save(HardState(1, 1, 0), ents(1, 5, term=1))
    snap = Snapshot(SnapshotMeta(20, 3, ConfState((1, 2, 3))), b"leader state")
    s.save(HardState(3, 0, 20), ents(21, 22, term=3), snapshot=snap)
    s.close()
    assert open_dir(tmp_path)[1] == State(HardState(3, 0, 20), snap, tuple(ents(21, 22, 3)))


def test_snapshot_files_are_atomic_and_checked(tmp_path: Path) -> None:
    s, _ = open_dir(tmp_path)
    s.save(HardState(1, 1, 0), ents(1, 5))
    s.save_snapshot(Snapshot(SnapshotMeta(3, 1), b"three"))
    s.save_snapshot(Snapshot(SnapshotMeta(5, 1), b"five"))
    s.release_to(5)
    s.close()
    snaps = sorted(p.name for p in (tmp_path / "snap").iterdir())
    assert snaps == ["0000000000000001-0000000000000005.snap"]
    (tmp_path / "snap" / "0000000000000001-0000000000000009.snap.tmp").write_bytes(b"half")
    assert open_dir(tmp_path)[1].snapshot == Snapshot(SnapshotMeta(5, 1), b"five")
    assert not any(p.suffix == ".tmp" for p in (tmp_path / "snap").iterdir())
    f = tmp_path / "snap" / snaps[0]
    f.write_bytes(f.read_bytes()[:-1] + b"!")
    with pytest.raises(CorruptionError, match="snapshot checksum"):
        open_dir(tmp_path)
    f.unlink()
    with pytest.raises(StorageError, match="missing"):
        open_dir(tmp_path)


def test_another_nodes_directory_is_refused(tmp_path: Path) -> None:
    open_dir(tmp_path)[0].close()
    with pytest.raises(StorageError, match="refusing to start"):
        DiskStorage.open(OSDisk(), str(tmp_path), cluster_id=CID, node_id=2)


def test_unknown_mutant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unknown storage mutants"):
        open_dir(tmp_path, mutants=frozenset({"no-fsync-everything"}))
