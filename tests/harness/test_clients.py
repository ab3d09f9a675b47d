"""The clients' recording of outcomes (ok, fail, indeterminate) without a cluster: a stub
stands in for the gRPC KV service."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from quorum.harness.clients import Clients, Recorder, Workload, invoke, key_name
from quorum.impl.api import kv_pb2, rpc_pb2


class _Error(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _Stub:
    """A KV service holding one dict; ``fail`` is raised by the next call instead."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.fail: grpc.RpcError | None = None
        self.requests: list[Any] = []

    def _maybe_fail(self, req: Any) -> None:
        self.requests.append(req)
        if self.fail is not None:
            raise self.fail

    def Range(self, req: Any, timeout: float) -> Any:
        self._maybe_fail(req)
        kvs = [kv_pb2.KeyValue(key=req.key, value=self.data[req.key])] \
            if req.key in self.data else []
        return rpc_pb2.RangeResponse(kvs=kvs)

    def Put(self, req: Any, timeout: float) -> Any:
        self._maybe_fail(req)
        self.data[req.key] = req.value
        return rpc_pb2.PutResponse()

    def Txn(self, req: Any, timeout: float) -> Any:
        self._maybe_fail(req)
        (cmp,) = req.compare
        current = self.data.get(cmp.key)
        hit = current is None if cmp.target == rpc_pb2.Compare.VERSION else current == cmp.value
        if hit:
            put = req.success[0].request_put
            self.data[put.key] = put.value
        return rpc_pb2.TxnResponse(succeeded=hit)


def test_operations_reach_the_etcd_api_as_range_put_and_txn() -> None:
    stub = _Stub()
    assert invoke(stub, ("read", "k0"), 1.0) is None
    assert invoke(stub, ("cas", "k0", None, "a"), 1.0) is True  # VERSION == 0: absent
    assert invoke(stub, ("cas", "k0", None, "b"), 1.0) is False
    assert invoke(stub, ("cas", "k0", "a", "c"), 1.0) is True  # VALUE == "a"
    invoke(stub, ("write", "k1", "d"), 1.0)
    assert invoke(stub, ("read", "k0"), 1.0) == "c"
    assert stub.data == {key_name("k0"): b"c", key_name("k1"): b"d"}
    first = stub.requests[1].compare[0]
    assert first.target == rpc_pb2.Compare.VERSION and first.version == 0
    assert not stub.requests[0].serializable
    invoke(stub, ("read", "k0"), 1.0, serializable=True)
    assert stub.requests[-1].serializable


@pytest.mark.parametrize("error, outcome, recorded", [
    (None, "ok", "ok"),
    (_Error(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; last error: "
            "UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused"),
     "fail", None),
    (_Error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), "info", "unknown"),
    (_Error(grpc.StatusCode.UNAVAILABLE, "Socket closed"), "info", "unknown"),
    (_Error(grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out"), "info", "unknown"),
])
def test_each_outcome_is_recorded_as_jepsen_does(error: grpc.RpcError | None, outcome: str,
                                                 recorded: str | None) -> None:
    """ok: with its output; fail (certainly no effect): left out of the history;
    anything else: indeterminate, with the time it returned."""
    rec = Recorder()
    clients = Clients(1, lambda: [], rec, Workload(), seed=0)
    stub = _Stub()
    stub.fail = error
    seen: dict[str, str | None] = {}
    assert clients.call(stub, 5, ("cas", "k0", None, "v"), seen) == outcome
    assert rec.counts[("cas", outcome)] == 1
    if recorded is None:
        assert rec.ops == []
        return
    (op,) = rec.ops
    assert op.client == 5 and op.input == ("cas", "k0", None, "v") and op.ret is not None
    assert op.unknown is (recorded == "unknown")
    assert (op.output, seen) == ((True, {"k0": "v"}) if recorded == "ok" else (None, {}))


def test_a_client_draws_its_operations_from_its_seed() -> None:
    def draws(seed: int) -> list[tuple[object, ...]]:
        import random

        clients = Clients(2, lambda: [], Recorder(), Workload(keys=3), seed=seed)
        rng = random.Random(seed)
        return [clients._draw(rng, 1, i, {"k1": "c0-1"}) for i in range(6)]

    assert draws(3) == draws(3)
    ops = draws(3)
    assert {op[0] for op in ops} <= {"read", "write", "cas"}
    assert all(op[1] in ("k0", "k1", "k2") for op in ops)
    assert all(op[2] == ("c0-1" if op[1] == "k1" else None) for op in ops if op[0] == "cas")
    assert all(op[-1] == f"c1-{i}" for i, op in enumerate(ops) if op[0] != "read")
