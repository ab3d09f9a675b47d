"""The file-system interface of the storage layer, and its real implementation.

Every byte the storage layer reads or writes goes through a :class:`Disk`, so the
deterministic simulator can substitute :class:`quorum.impl.storage.memdisk.MemoryDisk` (which loses
what was not fsynced on a simulated crash) and run the very same ``DiskStorage`` code.
Paths are plain strings joined with ``/``.

Durability contract, the one POSIX gives and the one MemoryDisk models:
* ``DiskFile.write`` appends; the bytes are durable only after ``DiskFile.sync``.
* creating, renaming or removing a file is durable only after ``sync_dir`` of its directory.
* ``truncate`` is durable after the file's next ``sync``.
"""

from __future__ import annotations

import os
from typing import Protocol

__all__ = ["Disk", "DiskFile", "OSDisk"]


class DiskFile(Protocol):
    """A file opened for appending."""

    def write(self, data: bytes) -> None: ...

    def sync(self) -> None:
        """fsync: everything written so far survives a crash."""

    def close(self) -> None: ...


class Disk(Protocol):
    """The handful of file-system operations the storage layer needs."""

    syncs: int  # fsyncs of files and directories so far (for tests and benchmarks)

    def makedirs(self, path: str) -> None: ...

    def listdir(self, path: str) -> list[str]:
        """Names in directory ``path``, sorted."""

    def exists(self, path: str) -> bool: ...

    def read_file(self, path: str) -> bytes: ...

    def open_append(self, path: str) -> DiskFile:
        """Open ``path`` for appending, creating it (empty) if it does not exist."""

    def truncate(self, path: str, size: int) -> None: ...

    def rename(self, src: str, dst: str) -> None:
        """Atomically replace ``dst`` by ``src``."""

    def remove(self, path: str) -> None: ...

    def sync_dir(self, path: str) -> None:
        """fsync a directory: creations, renames and removals in it survive a crash."""


class _OSFile:
    def __init__(self, disk: OSDisk, path: str) -> None:
        self._disk = disk
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def sync(self) -> None:
        os.fdatasync(self._fd) if hasattr(os, "fdatasync") else os.fsync(self._fd)
        self._disk.syncs += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class OSDisk:
    """The real file system (fdatasync for files, fsync of an O_RDONLY fd for directories)."""

    def __init__(self) -> None:
        self.syncs = 0

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def read_file(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def open_append(self, path: str) -> DiskFile:
        return _OSFile(self, path)

    def truncate(self, path: str, size: int) -> None:
        os.truncate(path, size)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def remove(self, path: str) -> None:
        os.remove(path)

    def sync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.syncs += 1
