"""An in-memory :class:`~quorum.impl.storage.disk.Disk` with crashes, for the deterministic simulator.

Each file is an inode holding what the process sees (``data``) and what a crash keeps
(``durable``, updated by ``sync``).  Each directory likewise has a visible and a durable name
table (updated by ``sync_dir``).  :meth:`MemoryDisk.crash` turns the durable image into the
visible one, as a power cut would:

* everything written but not fsynced is lost, and a file created, renamed or removed since
  its directory's last fsync reverts to the old name table;
* with ``rng`` (a ``random.Random`` the caller seeds), the unsynced appended tail of each file
  may instead survive up to a random byte, so the last write can be torn mid-record;
* a crash armed with :meth:`MemoryDisk.crash_after` may tear differently (``tear``):
  ``"zeros"`` keeps the unsynced tail's full length but only a random prefix of its bytes,
  the rest reading back as zeros (the file's size reached the disk, its data did not);
  ``"garbled"`` keeps the whole tail but with its last byte wrong (a full-length final
  record with a bad checksum);
* :meth:`MemoryDisk.corrupt` flips one bit of a file's durable bytes (media corruption of
  data long since fsynced);
* files opened before the crash become unusable (a use raises ``RuntimeError``).

Directories themselves are created durably by ``makedirs`` (a simplification: the storage
layer creates its directories once, before anything else).  No randomness is drawn unless
``rng`` is passed, so runs replay exactly from the caller's seed.
"""

from __future__ import annotations

import posixpath
import random

from quorum.impl.storage.disk import DiskFile

__all__ = ["TEARS", "MemoryDisk", "SimulatedCrash"]

#: the ways an armed crash may tear the unsynced tail of a file (see the module docstring)
TEARS = ("prefix", "zeros", "garbled")


class SimulatedCrash(Exception):
    """Raised by the operation that :meth:`MemoryDisk.crash_after` chose to crash in."""


class _Inode:
    __slots__ = ("data", "durable", "append_only")

    def __init__(self) -> None:
        self.data = bytearray()
        self.durable = bytearray()
        self.append_only = True  # only appends since the last sync: durable is a prefix

    def sync(self) -> None:
        if self.append_only:
            self.durable.extend(self.data[len(self.durable):])
        else:
            self.durable = bytearray(self.data)
        self.append_only = True

    def crash(self, rng: random.Random | None, tear: str = "prefix") -> None:
        pending = len(self.data) - len(self.durable)
        if rng is not None and self.append_only and pending > 0:
            if tear == "garbled":
                self.data[-1] ^= 0x01
            else:
                keep = len(self.durable) + rng.randint(0, pending)
                if tear == "zeros":
                    self.data[keep:] = bytes(len(self.data) - keep)
                else:
                    del self.data[keep:]
        else:
            self.data = bytearray(self.durable)
        self.durable = bytearray(self.data)
        self.append_only = True


class _MemFile:
    def __init__(self, disk: MemoryDisk, inode: _Inode) -> None:
        self._disk, self._inode, self._epoch = disk, inode, disk.epoch

    def _check(self) -> None:
        if self._epoch != self._disk.epoch:
            raise RuntimeError("file handle used after a simulated crash")

    def write(self, data: bytes) -> None:
        self._check()
        self._inode.data.extend(data)  # in the page cache even if the crash hits now
        self._disk._tick()

    def sync(self) -> None:
        self._check()
        self._disk._tick()
        self._inode.sync()
        self._disk.syncs += 1

    def close(self) -> None:
        pass


class MemoryDisk:
    """In-memory files that lose unsynced data on :meth:`crash` (see the module docstring)."""

    def __init__(self) -> None:
        self.syncs = 0
        self.epoch = 0
        self._dirs: dict[str, dict[str, _Inode]] = {}  # visible name tables
        self._durable: dict[str, dict[str, _Inode]] = {}  # name tables as a crash finds them
        self._countdown = -1  # operations left before a SimulatedCrash (-1: never)
        self._tear = "prefix"  # how the next crash tears unsynced tails (module docstring)

    def crash_after(self, operations: int, tear: str = "prefix") -> None:
        """Make the ``operations``-th next mutating operation (write, sync, truncate,
        rename, remove, sync_dir, creating a file) raise :class:`SimulatedCrash` instead of
        completing (a write's bytes still reach the page cache, so ``crash(rng)`` may keep
        part of them, torn as ``tear`` says: ``prefix``, ``zeros`` or ``garbled``, see the
        module docstring).  The caller then calls :meth:`crash`."""
        if tear not in TEARS:
            raise ValueError(f"unknown tear {tear!r}; known: {', '.join(TEARS)}")
        self._countdown, self._tear = operations, tear

    def corrupt(self, path: str, offset: int, bit: int) -> None:
        """Flip bit ``bit`` of byte ``offset`` of the durable contents of ``path`` (and of
        what the process sees, when it has that byte)."""
        table, name = self._split(path)
        inode = table[name]
        if not 0 <= offset < len(inode.durable):
            raise ValueError(f"{path}: offset {offset} is not durable")
        inode.durable[offset] ^= 1 << (bit % 8)
        if offset < len(inode.data):
            inode.data[offset] ^= 1 << (bit % 8)

    def _tick(self) -> None:
        if self._countdown > 0:
            self._countdown -= 1
            if self._countdown == 0:
                self._countdown = -1
                raise SimulatedCrash()

    def _split(self, path: str) -> tuple[dict[str, _Inode], str]:
        parent, name = posixpath.split(posixpath.normpath(path))
        if parent not in self._dirs:
            raise FileNotFoundError(f"no directory {parent!r}")
        return self._dirs[parent], name

    def _inode(self, path: str) -> _Inode:
        table, name = self._split(path)
        if name not in table:
            raise FileNotFoundError(path)
        return table[name]

    def makedirs(self, path: str) -> None:
        path = posixpath.normpath(path)
        while path not in self._dirs:
            self._dirs[path], self._durable[path] = {}, {}
            path = posixpath.dirname(path)

    def listdir(self, path: str) -> list[str]:
        path = posixpath.normpath(path)
        if path not in self._dirs:
            raise FileNotFoundError(path)
        subdirs = [posixpath.basename(d) for d in self._dirs if posixpath.dirname(d) == path
                   and d != path]
        return sorted([*self._dirs[path], *subdirs])

    def exists(self, path: str) -> bool:
        path = posixpath.normpath(path)
        if path in self._dirs:
            return True
        parent, name = posixpath.split(path)
        return name in self._dirs.get(parent, {})

    def read_file(self, path: str) -> bytes:
        return bytes(self._inode(path).data)

    def open_append(self, path: str) -> DiskFile:
        table, name = self._split(path)
        if name not in table:
            self._tick()
            table[name] = _Inode()
        return _MemFile(self, table[name])

    def truncate(self, path: str, size: int) -> None:
        inode = self._inode(path)
        self._tick()
        if size < len(inode.data):
            del inode.data[size:]
            inode.append_only = False

    def rename(self, src: str, dst: str) -> None:
        inode = self._inode(src)
        self._tick()
        src_table, src_name = self._split(src)
        dst_table, dst_name = self._split(dst)
        del src_table[src_name]
        dst_table[dst_name] = inode

    def remove(self, path: str) -> None:
        table, name = self._split(path)
        if name not in table:
            raise FileNotFoundError(path)
        self._tick()
        del table[name]

    def sync_dir(self, path: str) -> None:
        path = posixpath.normpath(path)
        self._tick()
        self._durable[path] = dict(self._dirs[path])
        self.syncs += 1

    # --- faults -------------------------------------------------------------------------
    def crash(self, rng: random.Random | None = None) -> None:
        """Simulate a power cut (see the module docstring); open handles become invalid."""
        self.epoch += 1
        self._countdown = -1
        tear, self._tear = self._tear, "prefix"
        self._dirs = {d: dict(t) for d, t in self._durable.items()}
        seen: set[int] = set()
        for table in self._dirs.values():
            for inode in table.values():
                if id(inode) not in seen:
                    seen.add(id(inode))
                    inode.crash(rng, tear)

    def durable_view(self) -> MemoryDisk:
        """A copy holding only what a crash now would keep (for reading durable state
        without disturbing this disk)."""
        view = MemoryDisk()
        copies: dict[int, _Inode] = {}
        for d, table in self._durable.items():
            view._dirs[d], view._durable[d] = {}, {}
            for name, inode in table.items():
                if id(inode) not in copies:
                    c = copies[id(inode)] = _Inode()
                    c.data, c.durable = bytearray(inode.durable), bytearray(inode.durable)
                view._dirs[d][name] = view._durable[d][name] = copies[id(inode)]
        return view

    def files(self) -> dict[str, bytes]:
        """Every visible file's path and contents (for tests and debugging)."""
        return {posixpath.join(d, n): bytes(i.data) for d, t in self._dirs.items()
                for n, i in t.items()}
