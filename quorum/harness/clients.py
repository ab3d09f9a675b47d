"""Concurrent clients: reads, writes and compare-and-swaps over gRPC, every call recorded.

Each client is a thread that issues one operation at a time to a member it picks at
random among the running ones (a paused member included: that is the point), with a
per-operation deadline.  Any member accepts any request (a follower forwards it to the
leader), so no client needs to know who leads.

The operations, as :class:`quorum.spec.kv.KVModel` reads them:

* ``("read", k)``: a linearizable ``Range`` of ``k``; the value, or ``None``;
* ``("write", k, v)``: a ``Put``; every value written is unique (``"c3-17"``);
* ``("cas", k, old, new)``: a ``Txn`` that puts ``new`` if ``k`` holds ``old``
  (compare ``VALUE == old``; for ``old is None``, compare ``VERSION == 0``: the key
  does not exist); ``True`` if it swapped.  ``old`` is the value this client last saw.

An outcome is recorded as Jepsen does: *ok* with its output; *fail* when the request
certainly had no effect (it never reached a member: the connection was refused), and
then it is left out of the history; *indeterminate* (``unknown=True``) on a timeout or
any other error: it may or may not have taken effect.  A client whose operation is
indeterminate continues under a new client id, as a Jepsen process that crashed.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.model_checker.history.operations import Operation

__all__ = ["Clients", "Recorder", "Workload", "invoke"]

#: the share of each operation kind in the workload
MIX = (("read", 0.4), ("write", 0.3), ("cas", 0.3))


@dataclass
class Recorder:
    """The history being recorded, shared by every client (thread-safe)."""

    t0: float = field(default_factory=time.monotonic)
    ops: list[Operation] = field(default_factory=list)
    #: (kind, outcome) -> count; outcome "ok", "fail" or "info" (indeterminate)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def record(self, op: Operation | None, kind: str, outcome: str) -> None:
        with self._lock:
            if op is not None:
                self.ops.append(op)
            self.counts[kind, outcome] += 1


@dataclass(frozen=True)
class Workload:
    keys: int = 5
    op_timeout: float = 1.5
    #: a pause between two operations of one client, in seconds
    think: float = 0.0
    #: read with etcd's serializable reads (the member's local state, no ReadIndex):
    #: not linearizable by design, so a run with them must be judged a violation
    serializable: bool = False


def key_name(k: str) -> bytes:
    return b"torture/" + k.encode()


def invoke(stub: Any, op: tuple[Any, ...], timeout: float, serializable: bool = False) -> Any:
    """Send one operation; its output (raises grpc.RpcError)."""
    kind, key = op[0], key_name(op[1])
    if kind == "read":
        resp = stub.Range(rpc_pb2.RangeRequest(key=key, serializable=serializable),
                          timeout=timeout)
        return resp.kvs[0].value.decode() if resp.kvs else None
    if kind == "write":
        stub.Put(rpc_pb2.PutRequest(key=key, value=op[2].encode()), timeout=timeout)
        return None
    if kind == "cas":
        old, new = op[2], op[3]
        if old is None:
            cmp = rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.VERSION,
                                  result=rpc_pb2.Compare.EQUAL, version=0)
        else:
            cmp = rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.VALUE,
                                  result=rpc_pb2.Compare.EQUAL, value=old.encode())
        put = rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=new.encode()))
        resp = stub.Txn(rpc_pb2.TxnRequest(compare=[cmp], success=[put]), timeout=timeout)
        return bool(resp.succeeded)
    raise ValueError(f"unknown operation {kind!r}")


def _refused(exc: grpc.RpcError) -> bool:
    """The request certainly never reached a member (no connection could be made)."""
    details = (exc.details() or "").lower()
    return exc.code() is grpc.StatusCode.UNAVAILABLE and (
        "connection refused" in details or "failed to connect" in details)


class Clients:
    """``n`` client threads against the members ``targets()`` names at each call."""

    def __init__(self, n: int, targets: Callable[[], list[str]], recorder: Recorder,
                 workload: Workload, seed: int) -> None:
        self.recorder, self.workload, self.targets = recorder, workload, targets
        self.stopping = threading.Event()
        self._rngs = [random.Random(f"{seed}/client/{i}") for i in range(n)]
        self._next_id = n
        self._id_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True,
                                          name=f"client-{i}") for i in range(n)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self._threads:
            t.join()

    def _new_id(self) -> int:
        with self._id_lock:
            self._next_id += 1
            return self._next_id

    def _run(self, i: int) -> None:
        rng, wl = self._rngs[i], self.workload
        client, seq = i, 0
        seen: dict[str, str | None] = {}
        channels: dict[str, grpc.Channel] = {}
        try:
            while not self.stopping.is_set():
                targets = self.targets()
                if not targets:
                    time.sleep(0.05)
                    continue
                target = rng.choice(targets)
                if target not in channels:
                    channels[target] = grpc.insecure_channel(target)
                stub = rpc_pb2_grpc.KVStub(channels[target])
                seq += 1
                op = self._draw(rng, i, seq, seen)
                outcome = self.call(stub, client, op, seen)
                if outcome == "info":
                    client = self._new_id()
                elif outcome == "fail":
                    time.sleep(0.05)
                if wl.think:
                    time.sleep(wl.think)
        finally:
            for ch in channels.values():
                ch.close()

    def _draw(self, rng: random.Random, i: int, seq: int,
              seen: dict[str, str | None]) -> tuple[Any, ...]:
        kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        key = f"k{rng.randrange(self.workload.keys)}"
        value = f"c{i}-{seq}"
        if kind == "read":
            return ("read", key)
        if kind == "write":
            return ("write", key, value)
        return ("cas", key, seen.get(key), value)

    def call(self, stub: Any, client: int, op: tuple[Any, ...],
             seen: dict[str, str | None], timeout: float | None = None) -> str:
        """Invoke ``op``, record it; "ok", "fail" or "info"."""
        rec, kind = self.recorder, op[0]
        start = rec.now()
        try:
            out = invoke(stub, op, timeout or self.workload.op_timeout,
                         self.workload.serializable)
        except grpc.RpcError as exc:
            end = rec.now()
            if _refused(exc):
                rec.record(None, kind, "fail")
                return "fail"
            rec.record(Operation(client, start, end, op, None, unknown=True), kind, "info")
            return "info"
        rec.record(Operation(client, start, rec.now(), op, out), kind, "ok")
        if kind == "read":
            seen[op[1]] = out
        elif kind == "write" or (kind == "cas" and out):
            seen[op[1]] = op[-1]
        return "ok"

    def final_reads(self, target: str, timeout: float = 10.0) -> int:
        """The quiet phase: one linearizable read of every key, each retried until it
        succeeds (or ``timeout``); the number of keys read."""
        seen: dict[str, str | None] = {}
        done = 0
        with grpc.insecure_channel(target) as ch:
            stub = rpc_pb2_grpc.KVStub(ch)
            for k in range(self.workload.keys):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if self.call(stub, self._new_id(), ("read", f"k{k}"), seen, 3.0) == "ok":
                        done += 1
                        break
                    time.sleep(0.2)
        return done
