"""The write-ahead log: torn tails, corruption, overwrite, segments, snapshots.

Every test runs twice: on the real file system (``OSDisk``) and on ``MemoryDisk``, through
the same ``DiskStorage`` code."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from pathlib import Path

import pytest

from quorum.impl.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from quorum.impl.storage import (
    CorruptionError,
    DiskStorage,
    MemoryDisk,
    OSDisk,
    State,
    StorageError,
)
from quorum.impl.storage.disk import Disk
from quorum.impl.storage.records import encode_entries

CID, NID = 0xC1, 0x1


class Fs:
    """The few file manipulations the tests need, on either disk."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.disk: Disk = OSDisk() if kind == "os" else MemoryDisk()
        self.root = str(tmp) if kind == "os" else "/mem"

    def dir(self, name: str = "d") -> str:
        return posixpath.join(self.root, name)

    def open(self, name: str = "d", **kw: object) -> tuple[DiskStorage, State]:
        return DiskStorage.open(self.disk, self.dir(name), cluster_id=CID, node_id=NID,
                                **kw)  # type: ignore[arg-type]

    def files(self, name: str = "d", sub: str = "wal") -> list[str]:
        d = posixpath.join(self.dir(name), sub)
        return [posixpath.join(d, n) for n in self.disk.listdir(d)]

    def segment(self, name: str = "d") -> str:
        [seg] = self.files(name)
        return seg

    def read(self, path: str) -> bytes:
        return self.disk.read_file(path)

    def write(self, path: str, data: bytes) -> None:
        if self.disk.exists(path):
            self.disk.remove(path)
        f = self.disk.open_append(path)
        f.write(data)
        f.sync()
        f.close()
        self.disk.sync_dir(posixpath.dirname(path))

    def truncate(self, path: str, size: int) -> None:
        self.disk.truncate(path, size)

    def size(self, path: str) -> int:
        return len(self.read(path))

    def copy(self, src: str, dst: str) -> None:
        if self.kind == "os":
            shutil.copytree(self.dir(src), self.dir(dst))
            return
        for sub in ("wal", "snap"):
            self.disk.makedirs(posixpath.join(self.dir(dst), sub))
            for path in self.files(src, sub):
                self.write(path.replace(self.dir(src), self.dir(dst), 1), self.read(path))


@pytest.fixture(params=["os", "memory"])
def fs(request: pytest.FixtureRequest, tmp_path: Path) -> Fs:
    return Fs(request.param, tmp_path)


def ents(first: int, last: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, data=b"v%d" % i) for i in range(first, last + 1)]


def test_a_fresh_directory_is_empty_and_reopens_empty(fs: Fs) -> None:
    s, state = fs.open()
    assert state == State(HardState(), None, ())
    s.close()
    assert fs.open()[1] == state


def test_save_is_one_fsync_and_commit_only_changes_are_not_synced(fs: Fs) -> None:
    s, _ = fs.open()
    before = fs.disk.syncs
    assert s.save(HardState(1, 1, 0), ents(1, 50))  # a batch of 50 entries + vote
    assert fs.disk.syncs == before + 1
    assert not s.save(HardState(1, 1, 40))  # commit only: written, not fsynced
    assert fs.disk.syncs == before + 1
    assert not s.save(HardState(1, 1, 40), ())  # nothing new: nothing written
    s.close()
    assert fs.open()[1] == State(HardState(1, 1, 40), None, tuple(ents(1, 50)))


def build(fs: Fs, name: str = "d") -> list[tuple[int, State]]:
    """Five saves and a last one of a single entry; (segment size, state) after each."""
    s, _ = fs.open(name)
    seg, out, log = fs.segment(name), [], []
    for k in range(1, 6):
        hs = HardState(k, 1, 2 * k - 2)
        batch = ents(2 * k - 1, 2 * k, term=k)
        s.save(hs, batch)
        log += batch
        out.append((fs.size(seg), State(hs, None, tuple(log))))
    last = Entry(5, 11, data=b"last entry, alone in its record")
    s.save(None, [last])
    out.append((fs.size(seg), State(out[-1][1].hard_state, None, (*log, last))))
    s.close()
    return out


def test_cutting_the_last_record_at_every_byte_keeps_exactly_the_complete_prefix(
        fs: Fs) -> None:
    history = build(fs, "golden")
    (start, before), (full, after) = history[-2], history[-1]
    for cut in range(start, full + 1):
        work = f"cut{cut}"
        fs.copy("golden", work)
        fs.truncate(fs.segment(work), cut)
        s, state = fs.open(work)
        assert state == (after if cut == full else before), cut
        s.save(None, [Entry(5, 11, data=b"again")])  # the cut-off tail is gone for good
        s.close()
        assert fs.open(work)[1].entries[-1] == Entry(5, 11, data=b"again")


def test_cutting_inside_a_batch_keeps_its_complete_records(fs: Fs) -> None:
    history = build(fs)
    seg = fs.segment()
    data = fs.read(seg)
    (start, state4), (full, state5) = history[3], history[4]
    entries_end = start + len(encode_entries(ents(9, 10, term=5)))  # batch 5: entries, then hs
    middle = State(state4.hard_state, None, state5.entries)
    for cut in range(start, full):
        fs.truncate(seg, cut)
        assert fs.open()[1] == (state4 if cut < entries_end else middle), cut
        fs.write(seg, data)


@pytest.mark.parametrize("victim", range(0, 4))
def test_a_flipped_byte_in_the_middle_is_refused_naming_file_and_offset(
        fs: Fs, victim: int) -> None:
    history = build(fs)
    seg = fs.segment()
    data = fs.read(seg)
    record_start = history[victim][0]  # first record of save victim+1
    for pos in range(record_start, history[victim + 1][0]):
        damaged = bytearray(data)
        damaged[pos] ^= 0x40
        fs.write(seg, bytes(damaged))
        with pytest.raises(CorruptionError) as info:
            fs.open()
        err = info.value
        assert err.path == seg and record_start <= err.offset <= pos, pos
        msg = str(err)
        assert "\n" not in msg and seg in msg and f"at byte {err.offset}" in msg
    fs.write(seg, data)
    assert fs.open()[1] == history[-1][1]


def test_a_bad_checksum_on_the_final_record_is_a_torn_tail(fs: Fs) -> None:
    history = build(fs)
    seg = fs.segment()
    data = bytearray(fs.read(seg))
    data[-3] ^= 0xFF
    fs.write(seg, bytes(data))
    assert fs.open()[1] == history[-2][1]


def test_a_zero_filled_tail_is_a_torn_tail(fs: Fs) -> None:
    history = build(fs)
    seg = fs.segment()
    fs.write(seg, fs.read(seg) + bytes(4096))
    assert fs.open()[1] == history[-1][1]


def test_suffix_overwrite_survives_restart(fs: Fs) -> None:
    s, _ = fs.open()
    s.save(HardState(1, 1, 3), ents(1, 10, term=1))
    s.save(HardState(2, 2, 3), ents(6, 8, term=2))  # a new leader's log wins from 6 on
    s.save(None, [*ents(9, 9, term=2), *ents(7, 7, term=3)])  # two runs in one batch
    s.close()
    state = fs.open()[1]
    assert state.entries == (*ents(1, 5, 1), *ents(6, 6, 2), *ents(7, 7, 3))
    assert state.hard_state == HardState(2, 2, 3)


def test_a_batch_that_would_leave_a_hole_is_refused_before_writing(fs: Fs) -> None:
    s, _ = fs.open()
    s.save(HardState(1, 1, 0), ents(1, 3))
    with pytest.raises(StorageError, match="hole"):
        s.save(None, ents(5, 6))
    s.save_snapshot(Snapshot(SnapshotMeta(2, 1), b""))
    with pytest.raises(StorageError, match="snapshot"):
        s.save(None, ents(2, 4, term=2))
    s.close()
    assert fs.open()[1].entries == tuple(ents(3, 3))


def test_segments_rotate_and_release_below_a_snapshot(fs: Fs) -> None:
    s, _ = fs.open(segment_bytes=512)
    for i in range(1, 101):
        s.save(HardState(1, 1, i - 1), ents(i, i))
    names = [posixpath.basename(p) for p in fs.files()]
    assert len(names) == len(s.segments) > 5
    assert all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{16}\.wal", n) for n in names)
    assert int(names[1].split("-")[1][:16], 16) > 1  # names carry the first index
    conf = ConfState(voters=(1, 2, 3))
    s.save_snapshot(Snapshot(SnapshotMeta(60, 1, conf), b"state@60"))
    with pytest.raises(StorageError):
        s.release_to(61)
    released = s.release_to(60)
    assert released > 0 and len(fs.files()) == len(names) - released
    assert s.segments[0].max_index > 60
    s.close()
    state = fs.open(segment_bytes=512)[1]
    assert state.snapshot == Snapshot(SnapshotMeta(60, 1, conf), b"state@60")
    assert state.entries == tuple(ents(61, 100))
    assert state.hard_state == HardState(1, 1, 99)


def test_a_missing_middle_segment_is_refused(fs: Fs) -> None:
    s, _ = fs.open(segment_bytes=256)
    for i in range(1, 40):
        s.save(HardState(1, 1, 0), ents(i, i))
    s.close()
    fs.disk.remove(fs.files()[2])
    with pytest.raises(CorruptionError, match="missing"):
        fs.open()


def test_an_installed_snapshot_replaces_the_log(fs: Fs) -> None:
    s, _ = fs.open()
    s.save(HardState(1, 1, 0), ents(1, 5, term=1))
    snap = Snapshot(SnapshotMeta(20, 3, ConfState((1, 2, 3))), b"leader state")
    s.save(HardState(3, 0, 20), ents(21, 22, term=3), snapshot=snap)
    s.close()
    assert fs.open()[1] == State(HardState(3, 0, 20), snap, tuple(ents(21, 22, 3)))


def test_snapshot_files_are_atomic_and_checked(fs: Fs) -> None:
    s, _ = fs.open()
    s.save(HardState(1, 1, 0), ents(1, 5))
    s.save_snapshot(Snapshot(SnapshotMeta(3, 1), b"three"))
    s.save_snapshot(Snapshot(SnapshotMeta(5, 1), b"five"))
    s.release_to(5)
    s.close()
    [snap] = fs.files(sub="snap")
    assert snap.endswith("/0000000000000001-0000000000000005.snap")
    fs.write(snap.replace("05.snap", "09.snap.tmp"), b"half a snapshot")
    assert fs.open()[1].snapshot == Snapshot(SnapshotMeta(5, 1), b"five")
    assert fs.files(sub="snap") == [snap]  # the temp file was removed
    fs.write(snap, fs.read(snap)[:-1] + b"!")
    with pytest.raises(CorruptionError, match="snapshot checksum"):
        fs.open()
    fs.disk.remove(snap)
    with pytest.raises(StorageError, match="missing"):
        fs.open()


def test_another_nodes_directory_is_refused(fs: Fs) -> None:
    fs.open()[0].close()
    with pytest.raises(StorageError, match="refusing to start"):
        DiskStorage.open(fs.disk, fs.dir(), cluster_id=CID, node_id=2)


def test_unknown_mutant_is_refused(fs: Fs) -> None:
    with pytest.raises(StorageError, match="unknown storage mutants"):
        fs.open(mutants=frozenset({"no-fsync-everything"}))


def test_os_disk_really_writes_files(tmp_path: Path) -> None:
    fs = Fs("os", tmp_path)
    fs.open()[0].save(HardState(1, 1, 0), ents(1, 2))
    assert os.path.getsize(fs.segment()) == fs.size(fs.segment()) > 0


@pytest.mark.parametrize("kept", [0, 8, 20, 40])
@pytest.mark.parametrize("extra", [0, 600])
def test_a_last_batch_that_reads_back_as_zeros_is_a_torn_tail(
        fs: Fs, kept: int, extra: int) -> None:
    """Issue 14: the file's size reached the disk but not (all of) the last batch's data:
    its bytes from ``kept`` on read back as zeros (``extra`` zeros beyond, as a file
    system that extends by blocks leaves).  The member restarts without that batch, and
    appends again where it was cut."""
    history = build(fs)
    seg = fs.segment()
    data = fs.read(seg)
    start, full = history[-2][0], history[-1][0]
    fs.write(seg, data[:start + kept] + bytes(full - start - kept + extra))
    s, state = fs.open()
    assert state == history[-2][1]
    assert fs.size(seg) == start  # the torn batch is cut off, zeros and all
    s.save(None, [Entry(5, 11, data=b"again")])
    s.close()
    assert fs.open()[1].entries[-1] == Entry(5, 11, data=b"again")


def test_a_zeroed_record_followed_by_an_intact_one_is_corruption(fs: Fs) -> None:
    """Zeros inside a record with an intact record behind it are no torn write."""
    history = build(fs)
    seg = fs.segment()
    data = bytearray(fs.read(seg))
    start = history[2][0]  # the first record of save 4, followed by save 5 and 6
    data[start + 10:start + 30] = bytes(20)
    fs.write(seg, bytes(data))
    with pytest.raises(CorruptionError, match="checksum mismatch") as info:
        fs.open()
    assert info.value.offset == start


def test_a_full_length_final_record_with_a_bad_checksum_is_a_torn_tail(fs: Fs) -> None:
    history = build(fs)
    seg = fs.segment()
    data = bytearray(fs.read(seg))
    data[history[-2][0] + 12] ^= 0x01  # inside the body of the last, full-length record
    fs.write(seg, bytes(data))
    assert fs.open()[1] == history[-2][1]
