"""CPU per put of each stage of the wire and apply paths, in one process, without the network.

Usage: python benchmarks/bench_wire.py [--batch 9,32] [--followers 2] [--repeat 3]

A Ready's batch of ``batch`` Put entries (16-byte keys, 100-byte values, encoded as a
member proposes them, with a client session) goes through the stages a 3-member cluster
runs for it, and each stage's CPU time (``time.process_time``) is divided by the number of
puts.  Stages: on the leader, encoding the AppendEntries for ``followers`` followers (each
message encoded on its own, as before issue 19 item 3, and with the entry run packed once
and shared), and sealing the frames (ChaCha20-Poly1305); on a follower, opening a frame,
decoding it, encoding the WAL record, and applying the entries to the state machine
(``StateMachine.apply``, a fresh key space per batch, which costs about 2.5 us).  The median of ``repeat`` runs is
printed.  9 entries per Ready is what the leader of ``bench_store.py`` at concurrency 64
batched (its counters: 8,040 entries in 912 batches); the machine's load moves every
figure, so compare the rows of one run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable

from quorum.impl.kv.commands import Put, encode
from quorum.impl.net.channel import SealedChannel
from quorum.impl.raft import codec
from quorum.impl.raft.types import Entry, Message, MessageType
from quorum.impl.server.machine import StateMachine
from quorum.impl.storage.records import encode_entries

KEY_BYTES, VALUE_BYTES = 16, 100


def batch_of(n: int, first: int, rng: random.Random) -> tuple[Entry, ...]:
    return tuple(Entry(term=2, index=first + i, data=encode(
        Put(key=b"%016d" % rng.randrange(100_000), value=rng.randbytes(VALUE_BYTES)),
        request_id=first + i, client_id=7, seq=first + i)) for i in range(n))


def appends(entries: tuple[Entry, ...], followers: int) -> list[Message]:
    """The leader's AppendEntries of one Ready, one per follower (the same run each)."""
    prev = entries[0].index - 1
    return [Message(MessageType.APPEND, to=2 + f, frm=1, term=2, log_term=2, index=prev,
                    entries=entries, commit=prev) for f in range(followers)]


def cpu_per_put(work: Callable[[], object], puts: int, budget: float = 0.15) -> float:
    """Microseconds of CPU per put of ``work`` (which handles ``puts`` puts), run for about
    ``budget`` CPU seconds."""
    work()
    rounds, spent = 0, 0.0
    while spent < budget:
        t0 = time.process_time()
        for _ in range(20):
            work()
        spent += time.process_time() - t0
        rounds += 20
    return spent / rounds / puts * 1e6


def stages(batch: int, followers: int) -> dict[str, float]:
    rng = random.Random(batch)
    entries = batch_of(batch, 1, rng)
    msgs = appends(entries, followers)
    bodies = [codec.encode_message(m) for m in msgs]
    key = bytes(32)
    sealer, opener = SealedChannel(key), SealedChannel(key)
    frame = sealer.seal(bodies[0])

    def encode_each() -> None:
        for m in msgs:
            codec.encode_message(m)

    def encode_shared() -> None:
        runs: dict[tuple[int, int, int], bytes] = {}
        for m in msgs:
            codec.encode_message(m, runs)

    def seal() -> None:
        for b in bodies:
            sealer.seal(b)

    def open_frame() -> None:  # what SealedChannel.read does once the frame is read
        opener._aead.decrypt(bytes(12), frame[4:], frame[:4])

    def apply() -> None:
        sm = StateMachine()
        for e in entries:
            sm.apply(e)

    return {
        "leader: encode, each message on its own": cpu_per_put(encode_each, batch),
        "leader: encode, the run packed once": cpu_per_put(encode_shared, batch),
        "leader: seal the frames": cpu_per_put(seal, batch),
        "follower: open the frame": cpu_per_put(open_frame, batch),
        "follower: decode the message": cpu_per_put(lambda: codec.decode_message(bodies[0]),
                                                    batch),
        "follower: WAL record": cpu_per_put(lambda: encode_entries(entries), batch),
        "apply: StateMachine.apply": cpu_per_put(apply, batch),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", default="9,32", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--followers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if min(args.batch) < 1 or args.followers < 1 or args.repeat < 1:
        print("bench_wire: --batch, --followers and --repeat must be positive", file=sys.stderr)
        return 2
    print(f"CPU microseconds per put, {args.followers} followers, median of {args.repeat}")
    print(f"{'stage':<42}" + "".join(f"{f'batch {b}':>10}" for b in args.batch))
    table = {b: [stages(b, args.followers) for _ in range(args.repeat)] for b in args.batch}
    for name in table[args.batch[0]][0]:
        print(f"{name:<42}" + "".join(
            f"{statistics.median(r[name] for r in table[b]):>10.2f}" for b in args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
