"""Every bad request is refused before it is proposed, with etcd's status code and message,
and costs no log entry; an unexpected failure reaches the client as a generic INTERNAL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.member import config, running_member
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc

INVALID, OUT_OF_RANGE = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE
NO_KEY = "etcdserver: key is not provided"
OPS = rpc_pb2.RequestOp


def _put_op(key: bytes) -> rpc_pb2.RequestOp:
    return OPS(request_put=rpc_pb2.PutRequest(key=key, value=b"v"))


def _nested(levels: int) -> rpc_pb2.TxnRequest:
    txn = rpc_pb2.TxnRequest(success=[_put_op(b"deep")])
    for _ in range(levels - 1):
        txn = rpc_pb2.TxnRequest(success=[OPS(request_txn=txn)])
    return txn


# (name, method, request, expected code, expected message)
BAD: list[tuple[str, str, Any, grpc.StatusCode, str]] = [
    ("put empty key", "Put", rpc_pb2.PutRequest(key=b"", value=b"x"), INVALID, NO_KEY),
    ("delete empty key", "DeleteRange", rpc_pb2.DeleteRangeRequest(key=b""), INVALID, NO_KEY),
    ("range empty key", "Range", rpc_pb2.RangeRequest(key=b""), INVALID, NO_KEY),
    ("ignore_value with a value", "Put",
     rpc_pb2.PutRequest(key=b"k", value=b"x", ignore_value=True), INVALID,
     "etcdserver: value is provided"),
    ("ignore_lease with a lease", "Put",
     rpc_pb2.PutRequest(key=b"k", lease=5, ignore_lease=True), INVALID,
     "etcdserver: lease is provided"),
    ("unknown lease", "Put", rpc_pb2.PutRequest(key=b"k", lease=5),
     grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found"),
    ("129 ops", "Txn", rpc_pb2.TxnRequest(success=[_put_op(b"k%d" % i) for i in range(129)]),
     INVALID, "etcdserver: too many operations in txn request"),
    ("duplicate put", "Txn", rpc_pb2.TxnRequest(success=[_put_op(b"k"), _put_op(b"k")]),
     INVALID, "etcdserver: duplicate key given in txn request"),
    ("put and delete one key", "Txn", rpc_pb2.TxnRequest(success=[
        _put_op(b"k"), OPS(request_delete_range=rpc_pb2.DeleteRangeRequest(
            key=b"a", range_end=b"z"))]),
     INVALID, "etcdserver: duplicate key given in txn request"),
    ("compare empty key", "Txn", rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"", target=rpc_pb2.Compare.VERSION)],
        success=[_put_op(b"k")]), INVALID, NO_KEY),
    ("nested 33 deep", "Txn", _nested(33), INVALID,
     "quorum: transactions nested too deep (limit 32)"),
    ("empty op", "Txn", rpc_pb2.TxnRequest(success=[OPS()]), INVALID,
     "quorum: txn operation holds no request"),
    ("bad compare target", "Txn", rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"k", target=9)], success=[_put_op(b"k")]), INVALID,
     "quorum: unknown compare target or result"),
    ("bad compare result", "Txn", rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"k", result=-1)], success=[_put_op(b"k")]), INVALID,
     "quorum: unknown compare target or result"),
    ("bad sort order", "Range", rpc_pb2.RangeRequest(key=b"k", sort_order=7), INVALID,
     "etcdserver: invalid sort option"),
    ("bad sort target", "Range", rpc_pb2.RangeRequest(key=b"k", sort_target=-3), INVALID,
     "etcdserver: invalid sort option"),
    ("compact to the future", "Compact", rpc_pb2.CompactionRequest(revision=10**9),
     OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
    ("compact to a compacted revision", "Compact", rpc_pb2.CompactionRequest(revision=2),
     OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
    ("read a future revision", "Range", rpc_pb2.RangeRequest(key=b"k", revision=10**9),
     OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
    ("read a compacted revision", "Range", rpc_pb2.RangeRequest(key=b"k", revision=1),
     OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
    ("request too large", "Put", rpc_pb2.PutRequest(key=b"k", value=b"x" * 5000), INVALID,
     "etcdserver: request is too large"),
]


@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_bad_requests_get_etcds_status_and_cost_no_log_entry(tmp_path: Path,
                                                          frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, max_request_bytes=4096, frontends=frontends)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                for i in range(3):
                    await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"%d" % i))
                await kv.Compact(rpc_pb2.CompactionRequest(revision=3))
                while node.sm.members.members[node.id].name != "solo":  # publish applied
                    await asyncio.sleep(0.02)
                index = node.raw.status().last_index
                seen = []
                for name, method, request, _, _ in BAD:
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await getattr(kv, method)(request)
                    seen.append((name, err.value.code(), err.value.details()))
                    assert node.raw.status().last_index == index, name
                assert seen == [(name, code, msg) for name, _, _, code, msg in BAD]
                # above gRPC's own limit (max request bytes + 512 KiB) gRPC refuses it
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"x" * 600_000))
                assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                # 32 levels of nesting are fine; the good requests still work
                ok = await kv.Txn(_nested(32))
                assert ok.succeeded and node.raw.status().last_index == index + 1
    asyncio.run(scenario())


@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_an_unexpected_failure_is_internal_without_python_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, frontends=frontends)
        async with running_member(cfg) as (node, requests, server):

            async def broken(*_: Any) -> Any:
                raise KeyError("secret internals")
            monkeypatch.setattr(requests, "read", broken)
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kv.Range(rpc_pb2.RangeRequest(key=b"k"))
                assert (err.value.code(), err.value.details()) == (
                    grpc.StatusCode.INTERNAL, "etcdserver: internal error")
                await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"v"))  # still serving
    asyncio.run(scenario())
    assert "internal error serving Range" in caplog.text and "secret internals" in caplog.text


def test_max_txn_ops_is_the_members_flag_and_apply_keeps_the_cluster_wide_bound(
        tmp_path: Path) -> None:
    """--max-txn-ops 200: a 150-op txn (and a read-only one) passes where etcd's default 128
    would refuse it, 201 ops are refused before proposing; the state machine itself refuses
    only past the ceiling every member shares, so members with other flags apply the same."""
    from quorum.impl import kv as kvm
    from quorum.impl.server.config import ServerConfigError

    for bad in (0, kvm.MAX_TXN_OPS_CEILING + 1):
        with pytest.raises(ServerConfigError, match="--max-txn-ops must be between 1 and"):
            config(tmp_path, max_txn_ops=bad)
    store = kvm.KVStore()
    many = kvm.Txn(success=tuple(kvm.Put(b"k%d" % i, b"v") for i in range(150)))
    assert kvm.validate(many) == kvm.KVError(kvm.ErrorCode.TOO_MANY_OPS)  # etcd's default
    assert not isinstance(store.execute(many), kvm.KVError)  # apply: the ceiling only
    too_many = kvm.Txn(success=tuple(
        kvm.Put(b"k%d" % i, b"v") for i in range(kvm.MAX_TXN_OPS_CEILING + 1)))
    assert store.execute(too_many) == kvm.KVError(kvm.ErrorCode.TOO_MANY_OPS)

    async def scenario() -> None:
        cfg = config(tmp_path, max_txn_ops=200)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                stub = rpc_pb2_grpc.KVStub(ch)
                ok = await stub.Txn(rpc_pb2.TxnRequest(
                    success=[_put_op(b"k%d" % i) for i in range(150)]))
                assert ok.succeeded and ok.header.revision == 2
                reads = [OPS(request_range=rpc_pb2.RangeRequest(key=b"k%d" % i))
                         for i in range(150)]
                got = await stub.Txn(rpc_pb2.TxnRequest(success=reads))
                assert len(got.responses) == 150
                index = node.raw.status().last_index
                for request in (
                        rpc_pb2.TxnRequest(success=[_put_op(b"k%d" % i) for i in range(201)]),
                        rpc_pb2.TxnRequest(success=reads * 2)):
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await stub.Txn(request)
                    assert (err.value.code(), err.value.details()) == (
                        INVALID, "etcdserver: too many operations in txn request")
                assert node.raw.status().last_index == index  # nothing proposed
    asyncio.run(scenario())
