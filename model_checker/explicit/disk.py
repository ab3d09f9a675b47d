"""Breadth-first search with its seen-set, parent links and frontier on disk, in bounded
memory, with checkpoints a killed search resumes from (``quorum check --disk DIR``,
``--checkpoint DIR``).

Theory of operation.  The search is the sequential one of
:func:`~quorum.model_checker.explicit.parallel.check_fingerprints` with one worker (same
positions, same counts, same first violation, same shortest trace); only where its data
lives changes:

* **Fingerprints and parent links** (16 bytes per distinct state) go to an in-memory
  buffer of at most ``buffer`` entries, kept as a few sorted numpy chunks.  When the
  buffer is full, its chunks are merged into one *run* and written to disk: two files of uint64,
  ``N.fp`` (sorted fingerprints) and ``N.par`` (their parents), plus, in memory, a sparse
  index holding every :data:`PAGE`-th fingerprint (one 4 KiB page of the file each).
  Runs are merged as in a log-structured merge tree: after a flush, while the newest run
  is at least half as large as the one before it, the two are merged by a streaming
  merge into one file, so there are O(log N) runs and every fingerprint is rewritten
  O(log N) times.  A membership test of a batch of candidates reads, per run, only the
  pages the index points at (``os.pread``), or streams the run when the batch touches
  most of its pages.  This is TLC's DiskFPSet idea (memory buffer, sorted disk file, an
  in-memory page index), with many runs instead of one file rewritten per flush.
* **The frontier** of each level is an append-only file of pickled batches of
  ``(state, fingerprint)``, :data:`BATCH` states each, read back batch by batch.
* **Parent links** are read back from the runs to rebuild a counterexample; the trace
  is then replayed forwards as in the in-memory search.

Memory is therefore bounded by the buffer (16 bytes per entry, kept as sorted chunks
merged in memory up to an eighth of it, and written as a run by a streaming merge of
those chunks, never copied whole), one batch of states and its successors, the streaming merge's chunks,
the sparse indexes (1/512 of the fingerprints) and a bounded memo of checked states
outside the constraint; never by the number of states.

**Checkpoints.**  Every file the search writes is immutable once written, except the
next level's frontier, which only grows.  A checkpoint is therefore a small JSON file
(``checkpoint.json``, written to a temporary name, synced, renamed) listing the runs,
the frontier file and the byte offset of its next unread batch, the next level's file
and its length (the states of its last, partial batch go to a small file of their own),
and the counters.  It is taken between two batches, at most every
``checkpoint_interval`` seconds: the buffer is flushed as a run, the frontier file is
synced, and only after the rename are the files the previous checkpoint needed and this
one does not deleted.  A search killed at any moment (``kill -9`` included) resumes from
its last checkpoint: the next level's file is cut back to the recorded length, files
written after it are removed, and the counts, the verdict and the trace come out as
those of an uninterrupted run.  The checkpoint records a *key* (the model's name, its
properties and the caller's description of the configuration); resuming with another
key, or from a damaged checkpoint, raises :class:`CheckpointError`.
"""

from __future__ import annotations

import json
import os
import pickle
import time
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from quorum.model_checker import gcpause
from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.fpset import MASK64, collision_probability, fingerprint
from quorum.model_checker.explicit.parallel import OUTSIDE_MEMO, ROUND, K
from quorum.model_checker.explicit.replay import identity_function, rebuild
from quorum.model_checker.model import Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import ActionCoverage, Result, Violation

__all__ = ["BATCH", "DEFAULT_BUFFER", "PAGE", "CheckpointError", "DiskStore", "check_disk"]

PAGE = 512  # fingerprints per page of a run file (4 KiB)
BATCH = 1024  # frontier states per batch (divides parallel.ROUND)
DEFAULT_BUFFER = 1 << 22  # fingerprints held in memory before a run is written (64 MiB)
CHUNK = 1 << 18  # entries per input chunk of a streaming merge or scan
CHECKPOINT = "checkpoint.json"
FORMAT = 1
ROOT = object()  # the virtual parent of the initial states

CheckpointFn = Callable[[dict[str, Any]], None]


class CheckpointError(CheckError):
    """A checkpoint directory that cannot be resumed here (another check, or damaged)."""


# -- runs: sorted fingerprint files -------------------------------------------------------

def _fixed_mmap_threshold() -> None:
    """Fix glibc's mmap threshold at its initial 128 KiB (``mallopt(M_MMAP_THRESHOLD)``;
    nothing elsewhere).  The buffer's sorts and the merges allocate and free arrays of
    many sizes; by default glibc raises the threshold to the largest array freed, after
    which such arrays come from the heap, which fragments, and the resident set creeps up
    with the number of states (measured on Paxos: 111 MiB at 10^6 states, 132 at 3 * 10^6,
    180 at 8.2 * 10^6; with the threshold fixed, 115 and 161; docs/benchmarks.md).  Large
    arrays are then mapped and unmapped afresh each time, and go back to the system."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _crc(path: Path, length: int | None = None) -> int:
    """CRC-32 of a file's first ``length`` bytes (all of it by default)."""
    crc, left = 0, length
    with open(path, "rb") as f:
        while left is None or left > 0:
            data = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not data:
                break
            crc = zlib.crc32(data, crc)
            if left is not None:
                left -= len(data)
    return crc


SYNC = True  # fsync what a checkpoint names (tests of the logic alone turn it off)


def _fsync(path: Path) -> None:
    if not SYNC:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Run:
    """One sorted run on disk: ``NAME.fp`` and ``NAME.par``, and its page index."""

    def __init__(self, directory: Path, name: str, n: int, index: np.ndarray,
                 crcs: tuple[int, int] = (0, 0)) -> None:
        self.directory, self.name, self.n, self.index = directory, name, n, index
        self.crcs = crcs  # CRC-32 of the .fp and the .par file, checked on a resume
        self._fd: int | None = None

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.directory / f"{self.name}.fp", self.directory / f"{self.name}.par"

    @classmethod
    def open(cls, directory: Path, name: str, n: int, crcs: tuple[int, int]) -> _Run:
        """A run written earlier (a resumed search), checked; its index is read back."""
        run = cls(directory, name, n, np.empty(0, dtype=np.uint64), crcs)
        for path, crc in zip(run.paths, crcs, strict=True):
            if not path.is_file() or path.stat().st_size != 8 * n:
                raise CheckpointError(f"damaged checkpoint ({path.name} is missing or not "
                                      f"{8 * n} bytes long)")
            if _crc(path) != crc:
                raise CheckpointError(f"damaged checkpoint ({path.name}: wrong checksum)")
        # copies: a view would keep every chunk it was cut from alive, the whole run
        run.index = np.concatenate([c[::PAGE].copy() for c in run.chunks(PAGE * 64)] or
                                   [np.empty(0, dtype=np.uint64)])
        return run

    def fd(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.paths[0], os.O_RDONLY)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def chunks(self, size: int | None = None, parents: bool = False
               ) -> Iterator[Any]:
        """The run's fingerprints (with ``parents``: pairs of arrays) in chunks of ``size``
        (default :data:`CHUNK`), in order."""
        size = CHUNK if size is None else size
        with open(self.paths[0], "rb") as f, open(self.paths[1] if parents else os.devnull,
                                                     "rb") as g:
            while True:
                fps = np.fromfile(f, dtype=np.uint64, count=size)
                if len(fps) == 0:
                    return
                yield (fps, np.fromfile(g, dtype=np.uint64, count=len(fps))) if parents else fps

    def member(self, cands: np.ndarray) -> np.ndarray:
        """Mask of the sorted, distinct ``cands`` that the run holds."""
        out = np.zeros(len(cands), dtype=bool)
        if self.n == 0 or len(cands) == 0:
            return out
        pages = np.searchsorted(self.index, cands, side="right") - 1
        live = pages >= 0
        distinct, starts = np.unique(pages[live], return_index=True)
        offset = int(np.argmax(live)) if live.any() else len(cands)
        if len(distinct) * 4 >= len(self.index):  # most pages: one sequential pass is cheaper
            for chunk in self.chunks():
                lo = int(np.searchsorted(cands, chunk[0]))
                hi = int(np.searchsorted(cands, chunk[-1], side="right"))
                part = cands[lo:hi]
                if len(part):
                    i = np.searchsorted(chunk, part)
                    i[i == len(chunk)] = 0
                    out[lo:hi] |= chunk[i] == part
            return out
        fd = self.fd()
        bounds = list(starts + offset) + [len(cands)]
        for j, page in enumerate(distinct.tolist()):
            lo, hi = bounds[j], bounds[j + 1]
            data = np.frombuffer(os.pread(fd, PAGE * 8, page * PAGE * 8), dtype=np.uint64)
            part = cands[lo:hi]
            i = np.searchsorted(data, part)
            i[i == len(data)] = 0
            out[lo:hi] = data[i] == part
        return out

    def parent(self, fp: int) -> int | None:
        page = int(np.searchsorted(self.index, np.uint64(fp), side="right")) - 1
        if page < 0:
            return None
        data = np.frombuffer(os.pread(self.fd(), PAGE * 8, page * PAGE * 8), dtype=np.uint64)
        i = int(np.searchsorted(data, np.uint64(fp)))
        if i == len(data) or int(data[i]) != fp:
            return None
        with open(self.paths[1], "rb") as g:
            g.seek((page * PAGE + i) * 8)
            return int(np.fromfile(g, dtype=np.uint64, count=1)[0])


def _slices(fps: np.ndarray, parents: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A sorted in-memory chunk as views of at most :data:`CHUNK` entries (no copy)."""
    for i in range(0, len(fps), CHUNK):
        yield fps[i:i + CHUNK], parents[i:i + CHUNK]


def _merge(directory: Path, name: str, runs: list[_Run]) -> _Run:
    """Merge sorted runs into a new one, streaming: memory is a chunk per input."""
    return _write_merged(directory, name, [r.chunks(parents=True) for r in runs])


def _write_merged(directory: Path, name: str,
                  sources: list[Iterator[tuple[np.ndarray, np.ndarray]]]) -> _Run:
    """Write the merge of sorted sources of ``(fingerprints, parents)`` chunks as a run.

    Memory is a chunk per source and their merge; the page index is built from copies, so
    that no output chunk outlives its write (a view would keep all of them, the whole
    run, alive until the end)."""
    fp_path, par_path = directory / f"{name}.fp", directory / f"{name}.par"
    heads: list[tuple[np.ndarray, np.ndarray] | None] = [next(s, None) for s in sources]
    index_parts, n, crc_fp, crc_par = [], 0, 0, 0
    with open(fp_path, "wb") as f, open(par_path, "wb") as g:
        while any(h is not None for h in heads):
            bound = min(h[0][-1] for h in heads if h is not None)
            fps_parts, par_parts = [], []
            for k, h in enumerate(heads):
                if h is None:
                    continue
                cut = int(np.searchsorted(h[0], bound, side="right"))
                fps_parts.append(h[0][:cut])
                par_parts.append(h[1][:cut])
                if cut == len(h[0]):
                    heads[k] = next(sources[k], None)
                else:
                    heads[k] = (h[0][cut:], h[1][cut:])
            fps = np.concatenate(fps_parts)
            order = np.argsort(fps, kind="stable")
            fps, parents = fps[order], np.concatenate(par_parts)[order]
            del fps_parts, par_parts, order
            index_parts.append(fps[(-n) % PAGE::PAGE].copy())
            crc_fp = zlib.crc32(fps.tobytes(), crc_fp)
            crc_par = zlib.crc32(parents.tobytes(), crc_par)
            fps.tofile(f)
            parents.tofile(g)
            n += len(fps)
    return _Run(directory, name, n,
                np.concatenate(index_parts) if index_parts else np.empty(0, dtype=np.uint64),
                (crc_fp, crc_par))


class DiskStore:
    """Fingerprints with parent links: a bounded in-memory buffer and sorted runs on disk."""

    def __init__(self, directory: Path, buffer: int, retire: Callable[[Path], None]) -> None:
        self.directory, self.buffer, self.retire = directory, buffer, retire
        self.runs: list[_Run] = []
        self.mem: list[tuple[np.ndarray, np.ndarray]] = []  # sorted chunks, newest last
        self.mem_n = 0
        self.serial = 0

    def __len__(self) -> int:
        return self.mem_n + sum(r.n for r in self.runs)

    def _name(self) -> str:
        self.serial += 1
        return f"run-{self.serial:06d}"

    def unseen(self, fps: np.ndarray) -> np.ndarray:
        """Mask of the sorted, distinct candidates the store does not hold."""
        seen = np.zeros(len(fps), dtype=bool)
        for chunk, _ in self.mem:
            i = np.searchsorted(chunk, fps)
            i[i == len(chunk)] = 0
            seen |= chunk[i] == fps
        for run in self.runs:
            rest = ~seen
            if rest.any():
                seen[rest] = run.member(fps[rest])
        return ~seen

    def add(self, fps: np.ndarray, parents: np.ndarray) -> None:
        """Add new fingerprints (sorted, distinct, not yet stored)."""
        if len(fps) == 0:
            return
        self.mem.append((fps, parents))
        self.mem_n += len(fps)
        # merge chunks of similar size, up to an eighth of the buffer: a merge's temporaries
        # are a few times its size, and a flush merges the chunks streaming anyway
        while (len(self.mem) >= 2 and 2 * len(self.mem[-1][0]) >= len(self.mem[-2][0])
               and len(self.mem[-1][0]) + len(self.mem[-2][0]) <= max(self.buffer // 8, BATCH)):
            (a, pa), (b, pb) = self.mem.pop(), self.mem.pop()
            f, p = np.concatenate((b, a)), np.concatenate((pb, pa))
            order = np.argsort(f, kind="stable")
            self.mem.append((f[order], p[order]))
        if self.mem_n >= self.buffer:
            self.flush()

    def flush(self) -> None:
        """Write the buffer as a run, then merge runs of similar size."""
        if not self.mem_n:
            return
        # the sorted chunks merged streaming into the run file: no copy of the buffer
        self.runs.append(_write_merged(self.directory, self._name(),
                                       [_slices(c, q) for c, q in self.mem]))
        self.mem, self.mem_n = [], 0
        while len(self.runs) >= 2 and 2 * self.runs[-1].n >= self.runs[-2].n:
            b, a = self.runs.pop(), self.runs.pop()
            self.runs.append(_merge(self.directory, self._name(), [a, b]))
            for old in (a, b):
                old.close()
                for path in old.paths:
                    self.retire(path)

    def parent(self, fp: int) -> int | None:
        for chunk, parents in self.mem:
            i = int(np.searchsorted(chunk, np.uint64(fp)))
            if i < len(chunk) and int(chunk[i]) == fp:
                return int(parents[i])
        for run in self.runs:
            p = run.parent(fp)
            if p is not None:
                return p
        return None

    def min_gap(self) -> int:
        """The least distance between two stored fingerprints, over all runs at once."""
        self.flush()
        if len(self.runs) > 1:
            merged = _merge(self.directory, self._name(), self.runs)
            for old in self.runs:
                old.close()
                for path in old.paths:
                    self.retire(path)
            self.runs = [merged]
        gap, last = 1 << 64, None
        for run in self.runs:
            for chunk in run.chunks():
                if last is not None:
                    gap = min(gap, int(chunk[0]) - last)
                if len(chunk) > 1:
                    gap = min(gap, int(np.diff(chunk).min()))
                last = int(chunk[-1])
        return gap

    def disk_bytes(self) -> int:
        return sum(16 * r.n for r in self.runs)

    def close(self) -> None:
        for run in self.runs:
            run.close()


# -- the frontier: pickled batches of (state, fingerprint) --------------------------------

class _Writer:
    """The next level's frontier, appended a batch at a time."""

    def __init__(self, path: Path, length: int = 0, crc: int = 0) -> None:
        self.path, self.crc = path, crc  # CRC-32 of the file's bytes
        self.file: BinaryIO = open(path, "r+b" if length else "wb")  # noqa: SIM115
        self.file.truncate(length)
        self.file.seek(length)
        self.pending: list[tuple[Any, int]] = []
        self.count = 0  # states written, pending included

    def append(self, state: Any, fp: int) -> None:
        self.pending.append((state, fp))
        self.count += 1
        if len(self.pending) == BATCH:
            self._dump()

    def _dump(self) -> None:
        if self.pending:
            try:
                data = pickle.dumps(self.pending, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                raise CheckError(f"the disk search writes states to files, and this "
                                 f"model's states cannot be pickled ({exc})") from None
            self.crc = zlib.crc32(data, self.crc)
            self.file.write(data)
            self.pending = []

    def sync(self) -> int:
        """Sync the whole batches written so far and return the file's length; the
        states of a batch not yet whole stay pending (a checkpoint saves them apart)."""
        self.file.flush()
        if SYNC:
            os.fsync(self.file.fileno())
        return self.file.tell()

    def close(self) -> None:
        self._dump()
        self.file.close()


def _batches(path: Path, offset: int) -> Iterator[tuple[list[tuple[Any, int]], int]]:
    """The batches of a frontier file from byte ``offset``, each with the offset after it."""
    with open(path, "rb") as f:
        f.seek(offset)
        while True:
            try:
                batch = pickle.load(f)
            except EOFError:
                return
            except (pickle.UnpicklingError, ValueError, TypeError) as exc:
                raise CheckpointError(f"{path}: damaged frontier file ({exc})") from None
            yield batch, f.tell()


# -- the search ---------------------------------------------------------------------------

class _Search:
    def __init__(self, model: Model, props: Properties, directory: Path, check_deadlock: bool,
                 max_states: int | None, progress: ProgressFn | None, buffer: int,
                 key: dict[str, Any], checkpoint_interval: float | None,
                 on_checkpoint: CheckpointFn | None) -> None:
        self.model, self.props, self.dir = model, props, directory
        self.check_deadlock, self.max_states, self.progress = check_deadlock, max_states, progress
        self.key = {"model": model.name, "properties": list(props.names),
                    "check_deadlock": check_deadlock, **key}
        self.interval, self.on_checkpoint = checkpoint_interval, on_checkpoint
        self.ident = identity_function(model)
        self.obsolete: list[Path] = []
        self.store = DiskStore(directory, buffer, self._retire)
        self.outside: set[int] = set()
        self.generated = self.distinct = self.depth = 0
        self.cov_gen: dict[str, int] = {}
        self.cov_new: dict[str, int] = {}
        self.pending = [name for name, _ in props.reachability]
        self.event: tuple[int, int, str, str, int, int] | None = None
        self.complete = True
        self.level = 0  # serial of the level files
        self.frontier: Path | None = None  # None: the virtual root level
        self.offset = 0
        self.rank = 0
        self.level_size = 1
        self.writer: _Writer | None = None
        self.last_checkpoint = time.monotonic()
        self.resumed_from: dict[str, Any] | None = None
        self.tail: str | None = None  # the last checkpoint's tail file
        self.tails = 0
        self.frontier_crc = 0
        self.disk_peak = 0

    # -- files --------------------------------------------------------------------------
    def _retire(self, path: Path) -> None:
        """A file no longer needed: deleted now, or after the next checkpoint if the last
        one may still name it."""
        if self.interval is None:
            path.unlink(missing_ok=True)
        else:
            self.obsolete.append(path)

    def _level_path(self, level: int) -> Path:
        return self.dir / f"level-{level:06d}.states"

    # -- checkpoints ----------------------------------------------------------------------
    def _checkpoint(self) -> None:
        assert self.writer is not None
        self.store.flush()
        length = self.writer.sync()
        tail, tail_crc = None, 0  # the next level's states not yet a whole batch: a file
        if self.writer.pending:
            self.tails += 1
            tail = f"tail-{self.tails:06d}.pickle"
            data = pickle.dumps(self.writer.pending, protocol=pickle.HIGHEST_PROTOCOL)
            tail_crc = zlib.crc32(data)
            with open(self.dir / tail, "wb") as f:
                f.write(data)
                f.flush()
                if SYNC:
                    os.fsync(f.fileno())
        for run in self.store.runs:
            for path in run.paths:
                _fsync(path)
        doc = {
            "format": FORMAT, "key": self.key,
            "runs": [[r.name, r.n, *r.crcs] for r in self.store.runs],
            "serial": self.store.serial, "frontier_crc": self.frontier_crc,
            "next_crc": self.writer.crc, "tail_crc": tail_crc,
            "level": self.level, "frontier_offset": self.offset, "rank": self.rank,
            "level_size": self.level_size, "next_length": length,
            "next_count": self.writer.count, "tail": tail, "tails": self.tails,
            "generated": self.generated, "distinct": self.distinct, "depth": self.depth,
            "cov_gen": self.cov_gen, "cov_new": self.cov_new, "pending": self.pending,
        }
        tmp = self.dir / (CHECKPOINT + ".tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.flush()
            if SYNC:
                os.fsync(f.fileno())
        os.replace(tmp, self.dir / CHECKPOINT)
        _fsync(self.dir)
        if self.tail is not None:
            self.obsolete.append(self.dir / self.tail)
        self.tail = tail
        for path in self.obsolete:
            path.unlink(missing_ok=True)
        self.obsolete = []
        self.last_checkpoint = time.monotonic()
        if self.on_checkpoint is not None:
            self.on_checkpoint({"depth": self.depth, "distinct": self.distinct,
                                "generated": self.generated,
                                "disk_bytes": self.store.disk_bytes()})

    def resume(self) -> bool:
        """Continue from the directory's checkpoint, if it has one; refuse another
        check's or a damaged one.  False when the directory holds no checkpoint."""
        path = self.dir / CHECKPOINT
        if not path.exists():
            leftovers = [p.name for p in self.dir.iterdir()]
            if leftovers:
                raise CheckpointError(f"{self.dir} is not empty and holds no checkpoint "
                                      f"({leftovers[0]}, ...); give an empty directory")
            return False
        try:
            nxt = self._restore(json.loads(path.read_text()))
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise CheckpointError(f"{path}: damaged checkpoint ({exc})") from None
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{path}: damaged checkpoint ({type(exc).__name__}: "
                                  f"{exc})") from None
        self._discard_after_checkpoint(nxt)
        self.resumed_from = {"depth": self.depth, "distinct": self.distinct}
        return True

    def _restore(self, doc: Any) -> Path:
        """The search's state from a checkpoint's document, its files verified; the next
        level's frontier file, reopened for appending.  CheckpointError (or a decoding
        error, which :meth:`resume` words) on another check's or a damaged checkpoint."""
        if doc.get("format") != FORMAT:
            raise CheckpointError(f"unknown checkpoint format {doc.get('format')!r}")
        if doc["key"] != json.loads(json.dumps(self.key)):
            raise CheckpointError(self._mismatch(doc["key"]))
        self.store.runs = [_Run.open(self.dir, str(name), int(n), (int(c1), int(c2)))
                           for name, n, c1, c2 in doc["runs"]]
        self.store.serial = int(doc["serial"])
        self.level, self.offset = int(doc["level"]), int(doc["frontier_offset"])
        self.rank, self.level_size = int(doc["rank"]), int(doc["level_size"])
        self.generated, self.distinct = int(doc["generated"]), int(doc["distinct"])
        self.depth = int(doc["depth"])
        self.cov_gen = {str(k): int(v) for k, v in doc["cov_gen"].items()}
        self.cov_new = {str(k): int(v) for k, v in doc["cov_new"].items()}
        self.pending = [str(p) for p in doc["pending"]]
        length, count = int(doc["next_length"]), int(doc["next_count"])
        tail, self.tails = doc["tail"], int(doc["tails"])
        self.frontier_crc, next_crc = int(doc["frontier_crc"]), int(doc["next_crc"])
        pending: list[tuple[Any, int]] = []
        self.tail = None if tail is None else str(tail)
        if self.tail is not None:
            data = (self.dir / self.tail).read_bytes()
            if zlib.crc32(data) != int(doc["tail_crc"]):
                raise CheckpointError(f"damaged checkpoint ({self.tail}: wrong checksum)")
            pending = pickle.loads(data)
            if not isinstance(pending, list):
                raise TypeError(f"{self.tail} holds no list of states")
        self.frontier = self._level_path(self.level) if self.level else None
        nxt = self._level_path(self.level + 1)
        # the frontier being expanded is complete (its checksum covers the whole file);
        # the next level's counts only the bytes written before the checkpoint
        for file, size, summed, crc in ((self.frontier, self.offset, None, self.frontier_crc),
                                        (nxt, length, length, next_crc)):
            if file is None:
                continue
            if not file.is_file() or file.stat().st_size < size:
                raise CheckpointError(f"damaged checkpoint ({file.name} is missing or too "
                                      f"short)")
            if _crc(file, summed) != crc:
                raise CheckpointError(f"damaged checkpoint ({file.name}: wrong checksum)")
        self.writer = _Writer(nxt, length, next_crc)
        self.writer.pending, self.writer.count = pending, count
        return nxt

    def _discard_after_checkpoint(self, nxt: Path) -> None:
        """Delete the files written after the checkpoint: runs, frontier batches and
        tails that it does not list."""
        keep = {CHECKPOINT, nxt.name} | {p.name for r in self.store.runs for p in r.paths}
        if self.tail is not None:
            keep.add(self.tail)
        if self.frontier is not None:
            keep.add(self.frontier.name)
        for p in self.dir.iterdir():
            if p.name not in keep:
                p.unlink()

    def _mismatch(self, theirs: Any) -> str:
        if not isinstance(theirs, dict):
            return "damaged checkpoint (no key)"
        for k, v in self.key.items():
            if json.loads(json.dumps(v)) != theirs.get(k):
                return (f"the checkpoint is of another check ({k}: {theirs.get(k)!r}, "
                        f"not {v!r}); give another directory")
        return "the checkpoint is of another check; give another directory"

    # -- levels and batches ---------------------------------------------------------------
    def run(self) -> None:
        if self.writer is None:
            self.writer = _Writer(self._level_path(1))
        while self.level_size:
            source: Iterable[tuple[list[tuple[Any, int]], int]] = (
                [([(ROOT, 0)], 0)] if self.frontier is None
                else _batches(self.frontier, self.offset))
            for batch, after in source:
                self._batch(batch, self.rank)
                self.rank += len(batch)
                self.offset = after
                if self.event is not None:
                    return
                at_round = self.rank % ROUND == 0 or self.rank == self.level_size
                if at_round:
                    self._measure_disk()
                    if self.progress:
                        self.progress(self.distinct, self.generated, self.depth,
                                      self.level_size - self.rank)
                    if self.max_states is not None and self.distinct >= self.max_states:
                        self.complete = False
                        return
                if (self.interval is not None and self.rank < self.level_size
                        and time.monotonic() - self.last_checkpoint >= self.interval):
                    self._checkpoint()
            self._next_level()
            if self.interval is not None and self.level_size and (
                    time.monotonic() - self.last_checkpoint >= self.interval):
                self._checkpoint()

    def _next_level(self) -> None:
        assert self.writer is not None
        self.writer.close()
        if self.frontier is not None:
            self._retire(self.frontier)
        self.level += 1
        self.frontier, self.offset, self.rank = self.writer.path, 0, 0
        self.frontier_crc = self.writer.crc
        self.level_size = self.writer.count
        self.depth += 1 if self.level_size else 0
        self.writer = _Writer(self._level_path(self.level + 1))
        self._measure_disk()

    def _measure_disk(self) -> None:
        """Keep the peak of the bytes the search holds on disk (runs, frontier files)."""
        self.disk_peak = max(self.disk_peak, sum(p.stat().st_size for p in self.dir.iterdir()))

    def _batch(self, batch: list[tuple[Any, int]], rank0: int) -> None:
        """Expand one batch of frontier states, then keep their new successors."""
        snapshot = (self.generated, dict(self.cov_gen))
        event = self._accept(*self._expand(batch, rank0))
        if event is not None:
            self.event = event
            self._recount(batch, rank0, event[0], snapshot)

    def _expand(self, batch: list[tuple[Any, int]], rank0: int
                ) -> tuple[list[int], list[int], list[int], list[tuple[Any, Any]], Any]:
        """The candidate successors of ``batch`` in generation order (fingerprints,
        positions, parents, (label, state)), and the first event met while generating."""
        model, ident, outside = self.model, self.ident, self.outside
        aprops, invariants = self.props.action_properties, self.props.invariants
        within = model.within_bounds
        successors = getattr(model, "successors_within", None) or model.successors
        if len(outside) > OUTSIDE_MEMO:
            outside.clear()
        cov = self.cov_gen
        fps: list[int] = []
        poss: list[int] = []
        pars: list[int] = []
        items: list[tuple[Any, Any]] = []
        raw: dict[Any, int] = {}
        event = None
        generated = 0
        for r, (s, sfp) in enumerate(batch, rank0):
            pos = first = r * K
            steps: Iterable[tuple[Any, Any]] = (
                [(None, t) for t in model.initial_states()] if s is ROOT else successors(s))
            for label, t in steps:
                if label is not None:
                    name = label[0]
                    cov[name] = cov.get(name, 0) + 1
                    if t is None:
                        pos += 1
                        continue
                    if aprops:
                        for pname, holds in aprops:
                            if not holds(s, label, t):
                                event = (pos, 0, "action-property", pname, sfp, self._fp(t))
                                break
                        if event is not None:
                            pos += 1
                            break
                    if t is s:
                        pos += 1
                        continue
                if not within(t):
                    h = hash(t)
                    if h not in outside:
                        outside.add(h)
                        for iname, holds in invariants:
                            if not holds(t):
                                event = (pos, 1, "invariant", iname, sfp, self._fp(t))
                                break
                        if event is not None:
                            pos += 1
                            break
                    pos += 1
                    continue
                if ident is None:
                    fp = (hash(t) & MASK64) or 1
                else:
                    fp = raw.get(t, 0)
                    if not fp:
                        fp = raw[t] = (hash(ident(t)) & MASK64) or 1
                if fp != sfp:
                    fps.append(fp)
                    poss.append(pos)
                    pars.append(sfp)
                    items.append((label, t))
                pos += 1
            generated += pos - first
            if event is not None:
                break
            if pos == first and self.check_deadlock and s is not ROOT:
                event = (first, 0, "deadlock", "Deadlock", sfp, sfp)
                break
        self.generated += generated
        return fps, poss, pars, items, event

    def _accept(self, fps: list[int], poss: list[int], pars: list[int],
                items: list[tuple[Any, Any]], event: Any) -> Any:
        """Write the new candidates (first occurrences the store lacks) to the next level,
        checking invariants, up to ``event``; return the first event in generation order."""
        invariants = self.props.invariants
        new = self._decide(np.array(fps, dtype=np.uint64), np.array(pars, dtype=np.uint64))
        assert self.writer is not None
        writer, reach = self.writer, [(n, f) for n, f in self.props.reachability
                                      if n in self.pending]
        accepted: list[tuple[int, str | None]] = []
        for i in np.flatnonzero(new).tolist():
            label, t = items[i]
            pos = poss[i]
            if event is not None and pos >= event[0]:
                break
            bad = None
            for iname, holds in invariants:
                if not holds(t):
                    bad = iname
                    break
            if bad is not None:
                event = (pos, 1, "invariant", bad, pars[i], fps[i])
                break
            accepted.append((pos, None if label is None else label[0]))
            for rname, holds in reach:
                if rname in self.pending and holds(t):
                    self.pending.remove(rname)
            writer.append(t, fps[i])
        for _, name in accepted:
            self.distinct += 1
            if name is not None:
                self.cov_new[name] = self.cov_new.get(name, 0) + 1
        return event

    def _fp(self, t: Any) -> int:
        return (hash(self.ident(t) if self.ident else t) & MASK64) or 1

    def _decide(self, fps: np.ndarray, parents: np.ndarray) -> np.ndarray:
        """Which candidates are new: the first occurrence of a fingerprint the store lacks;
        those are added to the store."""
        new = np.zeros(len(fps), dtype=bool)
        if len(fps) == 0:
            return new
        distinct, first = np.unique(fps, return_index=True)
        unseen = self.store.unseen(distinct)
        winners = first[unseen]
        new[winners] = True
        self.store.add(distinct[unseen], parents[winners])
        return new

    def _recount(self, batch: list[tuple[Any, int]], rank0: int, limit: int,
                 snapshot: tuple[int, dict[str, int]]) -> None:
        """Count the batch's steps only up to the violation's position, as the sequential
        search counts before it stops."""
        self.generated, self.cov_gen = snapshot[0], snapshot[1]
        for r, (s, _) in enumerate(batch, rank0):
            if r * K > limit:
                break
            steps = ([(None, t) for t in self.model.initial_states()] if s is ROOT
                     else self.model.successors(s))
            for k, (label, _t) in enumerate(steps):
                if r * K + k > limit:
                    break
                self.generated += 1
                if label is not None:
                    self.cov_gen[label[0]] = self.cov_gen.get(label[0], 0) + 1

    # -- the counterexample ---------------------------------------------------------------
    def path(self, fp: int) -> list[int]:
        path = []
        while fp:
            path.append(fp)
            parent = self.store.parent(fp)
            assert parent is not None, "a stored state has no parent link"
            fp = parent
        return path[::-1]

    def violation(self) -> Violation | None:
        if self.event is None:
            return None
        _, _, kind, name, parent_fp, last_fp = self.event
        model, ident = self.model, self.ident
        fp_of: Callable[[Any], Hashable] = ((lambda s: fingerprint(ident(s))) if ident
                                            else fingerprint)
        if kind == "deadlock":
            return Violation(kind, name, rebuild(model, self.path(parent_fp), None, fp_of))
        path = self.path(parent_fp) + [last_fp]
        if kind == "invariant":
            holds = dict(self.props.invariants)[name]
            return Violation(kind, name, rebuild(model, path, lambda _s, _l, t: not holds(t),
                                                 fp_of))
        ok = dict(self.props.action_properties)[name]
        return Violation(kind, name, rebuild(model, path, lambda p, lab, q: not ok(p, lab, q),
                                             fp_of))

    def cleanup(self) -> None:
        """The search is over: its files go (a later run in the directory starts afresh)."""
        self.store.close()
        if self.writer is not None:
            self.writer.file.close()
        for p in self.dir.iterdir():
            if p.name == CHECKPOINT or p.suffix in (".fp", ".par", ".states", ".tmp",
                                                     ".pickle"):
                p.unlink()


def check_disk(model: Model, directory: Path, *, properties: Iterable[str] | None = None,
               check_deadlock: bool = False, max_states: int | None = None,
               progress: ProgressFn | None = None, buffer: int = DEFAULT_BUFFER,
               key: dict[str, Any] | None = None, checkpoint_interval: float | None = None,
               on_checkpoint: CheckpointFn | None = None) -> Result:
    """Exhaustive BFS with its store and frontier in ``directory``; the same verdicts,
    counts and traces as :func:`~quorum.model_checker.explicit.parallel.check_fingerprints`.

    ``buffer`` bounds the fingerprints held in memory.  With ``checkpoint_interval``
    (seconds; 0: between every two batches) the search writes checkpoints and, when
    ``directory`` holds one whose ``key`` matches, resumes from it; the directory must
    otherwise be empty or absent.  Its files are removed when the search ends.
    """
    if buffer < 1:
        raise CheckError(f"the fingerprint buffer must hold at least 1 entry, got {buffer}")
    props = Properties(model, properties)
    _fixed_mmap_threshold()
    directory.mkdir(parents=True, exist_ok=True)
    search = _Search(model, props, directory, check_deadlock, max_states, progress, buffer,
                     key or {}, checkpoint_interval, on_checkpoint)
    if checkpoint_interval is not None:
        search.resume()
    elif any(directory.iterdir()):
        raise CheckpointError(f"{directory} is not empty; the disk search needs an empty "
                              f"directory")
    start = time.perf_counter()
    try:
        with gcpause.paused():
            search.run()
            violation = search.violation()
    except BaseException:
        if checkpoint_interval is None:  # nothing to resume from: leave the directory empty
            search.cleanup()
        raise
    seconds = time.perf_counter() - start
    if violation is None and search.complete and search.pending:
        violation = Violation("unreached", search.pending[0])
    disk_bytes = search.store.disk_bytes() + search.store.mem_n * 16
    gap = search.store.min_gap()
    search.cleanup()
    odds = collision_probability(search.distinct, search.generated, gap)
    coverage: dict[str, ActionCoverage] = {}
    for name, g in search.cov_gen.items():
        coverage.setdefault(name, ActionCoverage()).generated += g
    for name, d in search.cov_new.items():
        coverage.setdefault(name, ActionCoverage()).distinct += d
    extra: dict[str, Any] = {
        "workers": 1,
        "store": "64-bit fingerprints on disk",
        "store_bytes_per_state": round(disk_bytes / max(search.distinct, 1), 1),
        "collision_probability_optimistic": float(f"{odds['optimistic']:.2e}"),
        "collision_probability_actual": float(f"{odds['actual']:.2e}"),
        "disk_peak_bytes": search.disk_peak,
    }
    if search.resumed_from is not None:
        extra["resumed_at_depth"] = search.resumed_from["depth"]
    depth = max(search.depth, violation.length if violation else 0)
    return Result(
        model=model.name, mode="exhaustive", violation=violation,
        distinct_states=search.distinct, generated_states=search.generated, depth=depth,
        seconds=seconds, coverage=dict(sorted(coverage.items())),
        properties_checked=props.names, symmetry=model.canonicalize is not None,
        complete=search.complete, extra=extra,
    )
