"""Time the linearizability checker on a large generated history (Porcupine's workload shape).

Usage: python benchmarks/bench_linearizability.py [--ops 10000] [--clients 64] [--keys 8]
       [--seed 1] [--repeat 3]

The history comes from a simulated linearizable key-value register: each of the
clients issues reads, writes and compare-and-swaps back to back; every operation
takes effect at a random instant between its call and its return (so the
history is linearizable by construction) and a small fraction never returns
(the client "timed out": the operation may or may not have taken effect).  A
corrupted copy (one read answered with a value nobody wrote) must be judged
illegal.  Prints the best time of ``--repeat`` runs for each; the goal is under
one second for 10,000 operations of 64 clients.
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time

from quorum.model_checker.history.linearizability import ILLEGAL, OK, Operation, check
from quorum.spec.kv import KVModel

LOSS = 0.002


def generate(ops: int, clients: int, keys: int, seed: int) -> list[Operation]:
    """A linearizable history: linearization points drawn inside each call..return span."""
    rng = random.Random(seed)
    store: dict[int, int] = {}
    # per client: (next call time); an op = (call, point, ret)
    # (linearization point, seq, call, client, input, return)
    pending: list[tuple[float, int, float, int, tuple, float]] = []
    seq = 0
    clock = [rng.uniform(0, 1) for _ in range(clients)]
    issued = 0
    out: list[Operation] = []

    def issue(c: int) -> None:
        nonlocal seq, issued
        call = clock[c]
        latency = rng.uniform(0.5, 4.0)
        point = call + rng.uniform(0, latency)
        k = rng.randrange(keys)
        r = rng.random()
        if r < 0.5:
            inp: tuple = ("read", k)
        elif r < 0.8:
            inp = ("write", k, rng.randrange(5))
        else:
            inp = ("cas", k, rng.randrange(5), rng.randrange(5))
        heapq.heappush(pending, (point, seq, call, c, inp, call + latency))
        seq += 1
        issued += 1
        clock[c] = call + latency + rng.uniform(0, 0.5)

    for c in range(clients):
        issue(c)
    while pending:
        point, _, call, c, inp, ret = heapq.heappop(pending)
        kind, k = inp[0], inp[1]
        if kind == "read":
            output: object = store.get(k)
        elif kind == "write":
            store[k] = inp[2]
            output = None
        else:
            output = store.get(k) == inp[2]
            if output:
                store[k] = inp[3]
        lost = rng.random() < LOSS
        out.append(Operation(c, call, None if lost else ret, inp, None if lost else output))
        if issued < ops and not lost:
            issue(c)
    out.sort(key=lambda o: o.call)
    return out


def corrupt(history: list[Operation]) -> list[Operation]:
    """The same history with one completed read answering a value nobody wrote."""
    h = list(history)
    for i in range(len(h) // 2, len(h)):
        o = h[i]
        if o.input[0] == "read" and o.ret is not None:
            h[i] = Operation(o.client, o.call, o.ret, o.input, 99)
            return h
    raise AssertionError("no read to corrupt")


def best_of(history: list[Operation], repeat: int) -> tuple[float, str, int]:
    times, verdict, parts = [], "", 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = check(history, KVModel(), timeout=60)
        times.append(time.perf_counter() - t0)
        verdict, parts = res.verdict, res.partitions
    return min(times), verdict, parts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--keys", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    h = generate(a.ops, a.clients, a.keys, a.seed)
    lost = sum(o.ret is None for o in h)
    print(f"history: {len(h)} operations, {a.clients} clients, {a.keys} keys, {lost} never returned")
    secs, verdict, parts = best_of(h, a.repeat)
    print(f"linearizable history: {verdict:8s} {secs:6.3f} s  ({parts} partitions)")
    bad_secs, bad_verdict, _ = best_of(corrupt(h), a.repeat)
    print(f"corrupted history:    {bad_verdict:8s} {bad_secs:6.3f} s")
    return 0 if verdict == OK and bad_verdict == ILLEGAL else 1


if __name__ == "__main__":
    sys.exit(main())
