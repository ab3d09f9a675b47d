"""Giving freed memory back to the operating system (glibc's ``malloc_trim``).

CPython hands every object above 512 bytes to the C allocator.  With glibc, freed blocks
of a few MiB (large values, old snapshots) usually stay in the process's heap for reuse, so
after a compaction the memory is free inside the process but its resident size does not
fall.  :func:`trim` asks glibc to return every whole free page to the kernel; the member
calls it after each snapshot (which is when old log entries and an old snapshot are
dropped).  Elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

__all__ = ["trim"]


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.malloc_trim.argtypes = [ctypes.c_size_t]
        return lib
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def trim() -> bool:
    """Return free heap pages to the kernel; True if the allocator released any."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
