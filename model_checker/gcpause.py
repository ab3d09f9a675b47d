"""Searching with Python's cyclic garbage collector paused.

A search holds millions of live states (a BFS level, parent links, memo tables) and
allocates a few tuples per generated state.  CPython's cyclic collector runs every few
hundred allocations and, as the number of live objects grows, periodically walks all of
them; tuple *subclasses* such as ``NamedTuple`` states are never exempted from those
walks, so on a large model the collector alone can cost more than the search.  States
are acyclic values that reference counting frees as soon as they are dropped, so the
collector finds nothing to collect: the searches pause it for their duration
(:func:`paused`), and afterwards leave what they allocated out of its sight
(``gc.freeze``).  A model must therefore not create
reference cycles per step (none of ours does; a cycle would merely be freed late).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]


@contextmanager
def paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (if it was enabled), then restore it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # The objects allocated meanwhile are all still "young": the first collection
            # after re-enabling would walk every one of them.  Freezing moves them out of
            # the collector's sight (reference counting still frees them).
            gc.freeze()
            gc.enable()

