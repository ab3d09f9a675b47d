"""How long a snapshot holds the event loop: all at once against a copy-on-write view.

Usage: python benchmarks/bench_snapshot.py [--keys 100000] [--piece 2000] [--repeat 3]

A state machine is loaded with ``keys`` keys (16-byte keys, 100-byte values, as
``bench_store.py`` writes them).  Before (``StateMachine.snapshot_data``): the whole
snapshot is packed in one call, which is how long the member's event loop stood still.
After (``StateMachine.snapshot_view``, what ``Node`` runs): the loop stands still while the
view is taken, while each piece of ``piece`` keys is packed, and while the result is
sealed; between pieces 50 writes are applied, as a loaded leader would.  The longest of
those pauses is the figure to compare; both results are checked to be the same bytes.
"""

from __future__ import annotations

import argparse
import random
import time

from quorum.impl.kv import Put, encode
from quorum.impl.raft.types import Entry
from quorum.impl.server.machine import StateMachine

VALUE = bytes(100)


def loaded(keys: int) -> StateMachine:
    sm = StateMachine()
    for i in range(keys):
        sm.apply(Entry(1, i + 1, data=encode(Put(b"%016d" % i, VALUE))))
    return sm


def once(keys: int, piece: int) -> tuple[float, float, float, float, int]:
    """(all-at-once s, view s, longest piece s, seal s, bytes)."""
    sm = loaded(keys)
    t0 = time.perf_counter()
    whole = sm.snapshot_data()
    t_whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    view = sm.snapshot_view()
    t_view = time.perf_counter() - t0
    rng, index, longest = random.Random(1), sm.applied, 0.0
    t0 = time.perf_counter()
    for _ in view.kv.pieces(piece):
        longest = max(longest, time.perf_counter() - t0)
        for _ in range(50):  # the loop runs meanwhile: writes change the state
            index += 1
            sm.apply(Entry(1, index, data=encode(Put(b"%016d" % rng.randrange(keys), b"x"))))
        t0 = time.perf_counter()
    t0 = time.perf_counter()
    data = view.finish()
    t_seal = time.perf_counter() - t0
    assert data == whole, "the view's bytes differ from the snapshot of its moment"
    return t_whole, t_view, longest, t_seal, len(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--piece", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = sorted((once(args.keys, args.piece) for _ in range(args.repeat)),
                  key=lambda r: r[0])
    whole, view, piece, seal, size = runs[len(runs) // 2]
    stall = max(view, piece, seal)
    print(f"{args.keys:,} keys, {size / 1e6:.1f} MB snapshot, median of {args.repeat} runs")
    print(f"before: all at once                       {whole * 1000:8.1f} ms")
    print(f"after:  view {view * 1000:.1f} ms, longest piece of {args.piece:,} keys "
          f"{piece * 1000:.1f} ms, seal {seal * 1000:.1f} ms")
    print(f"longest loop stall: {whole * 1000:.1f} -> {stall * 1000:.1f} ms "
          f"({whole / stall:.0f}x shorter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
