"""Durable state of a Raft node: a segmented, checksummed write-ahead log and snapshot files,
over a small :class:`Disk` interface that the simulator implements in memory with crashes.

Start with :mod:`quorum.impl.storage.storage` (``DiskStorage``: what is fsynced when), then
:mod:`quorum.impl.storage.recovery` (what a restart finds) and :mod:`quorum.impl.storage.records` (bytes).
"""

from quorum.impl.storage.disk import Disk, DiskFile, OSDisk
from quorum.impl.storage.errors import CorruptionError, StorageError
from quorum.impl.storage.memdisk import MemoryDisk, SimulatedCrash
from quorum.impl.storage.recovery import recover
from quorum.impl.storage.storage import SEGMENT_BYTES, DiskStorage, State

__all__ = [
    "SEGMENT_BYTES",
    "CorruptionError",
    "Disk",
    "DiskFile",
    "DiskStorage",
    "MemoryDisk",
    "OSDisk",
    "SimulatedCrash",
    "State",
    "StorageError",
    "recover",
]
