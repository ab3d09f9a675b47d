"""Durable state of a Raft node: a segmented, checksummed write-ahead log and snapshot files,
over a small :class:`Disk` interface that the simulator implements in memory with crashes.

Start with :mod:`impl.storage.storage` (``DiskStorage``: what is fsynced when), then
:mod:`impl.storage.recovery` (what a restart finds) and :mod:`impl.storage.records` (bytes).
"""

from impl.storage.disk import Disk, DiskFile, OSDisk
from impl.storage.errors import CorruptionError, StorageError
from impl.storage.memdisk import MemoryDisk, SimulatedCrash
from impl.storage.recovery import recover
from impl.storage.storage import MUTANTS, SEGMENT_BYTES, DiskStorage, State

__all__ = [
    "MUTANTS",
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
