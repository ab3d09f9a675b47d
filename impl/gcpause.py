"""Pausing Python's cyclic garbage collector around bulk work on acyclic objects.

Building or reading a snapshot and replaying the write-ahead log each allocate an
object per key or entry, none of them part of a reference cycle.  CPython's cyclic
collector runs every few hundred allocations and, as the live objects grow, walks all
of them; here it finds nothing to free and only adds time (measured: more than double
for a snapshot, a third for replaying 64 MiB of log).  Reference counting still frees
everything as usual.  (``model_checker/gcpause.py`` does the same for the searches;
``impl`` may not import the checker.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (if it was enabled), then restore it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
