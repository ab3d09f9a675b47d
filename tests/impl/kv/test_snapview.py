"""A snapshot packed in pieces while the store keeps changing (impl/kv/snapview.py):
its bytes are exactly those of ``KVStore.snapshot()`` at the moment of the view."""

from __future__ import annotations

import random

from quorum.impl.kv import Compact, DeleteRange, KVStore, Put, encode
from quorum.impl.kv.commands import Command


def feed(kv: KVStore, cmd: Command, client: int = 0, seq: int = 0) -> None:
    kv.apply(kv.applied_index + 1, encode(cmd, 0, client, seq))


def loaded(n: int, seed: int = 3) -> KVStore:
    rng = random.Random(seed)
    kv = KVStore()
    for i in range(n):
        feed(kv, Put(b"k%04d" % rng.randrange(n // 2), b"v%d" % i), client=1 + i % 3,
             seq=1 + i // 3)
    feed(kv, DeleteRange(b"k0001"))
    return kv


def test_a_view_packs_the_state_of_its_moment_whatever_follows() -> None:
    """Writes, deletes, new keys, a compaction that drops keys, all between the pieces:
    the view still yields the snapshot of the moment it was taken."""
    kv = loaded(400)
    before = kv.snapshot()
    view = kv.snapshot_view()
    assert view.applied_index == kv.applied_index == 401
    rng = random.Random(5)
    packed = []
    for done in view.pieces(per_piece=17):
        packed.append(done)
        for _ in range(5):
            feed(kv, Put(b"k%04d" % rng.randrange(300), b"new"))
        feed(kv, DeleteRange(b"k%04d" % rng.randrange(200)))
        if done == 34:
            feed(kv, Compact(kv.revision - 3))  # drops versions and whole keys
    assert packed == [*range(17, 173, 17), 173]  # the 173 keys of the view, 17 a piece
    assert view.finish() == before
    assert kv.snapshot() != before and kv._view is None  # detached by finish


def test_restore_during_a_view_leaves_the_view_as_it_was() -> None:
    kv, other = loaded(100), loaded(60, seed=9)
    before = kv.snapshot()
    view = kv.snapshot_view()
    next(view.pieces(per_piece=10))
    kv.restore(other.snapshot())
    feed(kv, Put(b"k0003", b"after the restore"))  # a key of both stores
    assert view.finish() == before


def test_finish_without_pieces_and_an_empty_store() -> None:
    kv = KVStore()
    assert kv.snapshot_view().finish() == kv.snapshot()
    kv = loaded(50)
    assert kv.snapshot_view().finish() == kv.snapshot()
