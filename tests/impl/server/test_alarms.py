"""Alarms (quorum.impl.server.alarms): the replicated table, its log entries, its place in
the state machine and its snapshots, and etcd's Alarm RPC on a one-member cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from helpers.member import config, running_member
from quorum.impl import kv
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.raft.types import Entry
from quorum.impl.server.alarms import (
    AlarmAction,
    AlarmRequest,
    Alarms,
    AlarmType,
    decode_alarm,
    encode_alarm,
)
from quorum.impl.server.machine import StateMachine


def test_alarm_entries_round_trip_and_garbage_decodes_to_none() -> None:
    data = encode_alarm(AlarmAction.ACTIVATE, 7, AlarmType.CORRUPT, 99)
    assert decode_alarm(data) == AlarmRequest(AlarmAction.ACTIVATE, 7, AlarmType.CORRUPT, 99)
    for bad in (b"QA", b"QA\xc1", b"QA" + data[2:-1], encode_alarm(AlarmAction.GET, 1,
                AlarmType.NOSPACE)[:2] + b"\x94\x00\x09\x01\x01", b"QM" + data[2:]):
        assert decode_alarm(bad) is None


def test_alarm_table_activate_deactivate_and_get_filters() -> None:
    t = Alarms()
    assert t.apply(AlarmRequest(AlarmAction.ACTIVATE, 2, AlarmType.NOSPACE)) == [
        (2, AlarmType.NOSPACE)]
    t.apply(AlarmRequest(AlarmAction.ACTIVATE, 1, AlarmType.CORRUPT))
    t.apply(AlarmRequest(AlarmAction.ACTIVATE, 1, AlarmType.NONE))  # NONE is never stored
    assert t.active() == [(1, AlarmType.CORRUPT), (2, AlarmType.NOSPACE)]
    assert t.active(member_id=2) == [(2, AlarmType.NOSPACE)]
    assert t.active(alarm=AlarmType.CORRUPT) == [(1, AlarmType.CORRUPT)]
    assert t.has(AlarmType.NOSPACE) and t.has(AlarmType.CORRUPT)
    assert t.apply(AlarmRequest(AlarmAction.DEACTIVATE, 3, AlarmType.NOSPACE)) == []
    assert t.apply(AlarmRequest(AlarmAction.DEACTIVATE, 2, AlarmType.NOSPACE)) == [
        (2, AlarmType.NOSPACE)]
    assert not t.has(AlarmType.NOSPACE)
    restored = Alarms()
    restored.load(t.dump())
    assert restored.active() == [(1, AlarmType.CORRUPT)]
    with pytest.raises(ValueError, match="malformed alarm table"):
        restored.load([[1, 9]])


def _entry(index: int, data: bytes) -> Entry:
    return Entry(1, index, data=data)


def _put(index: int, key: bytes, sm: StateMachine) -> kv.Result | None:
    out = sm.apply(_entry(index, kv.encode(kv.Put(key, b"v"), index)))
    return None if out is None else out.result


def test_state_machine_applies_alarms_refuses_writes_and_snapshots_them() -> None:
    sm = StateMachine()
    assert isinstance(_put(1, b"a", sm), kv.PutResult)
    out = sm.apply(_entry(2, encode_alarm(AlarmAction.ACTIVATE, 5, AlarmType.NOSPACE, 42)))
    assert out is not None and out.request_id == 42 and sm.kv.nospace
    assert _put(3, b"b", sm) == kv.KVError(kv.ErrorCode.NO_SPACE)
    rev = sm.kv.revision
    deleted = sm.apply(_entry(4, kv.encode(kv.DeleteRange(b"a"), 4)))
    assert deleted is not None and isinstance(deleted.result, kv.DeleteRangeResult)
    assert deleted.result.deleted == 1 and sm.kv.revision == rev + 1  # deletes still run
    assert isinstance(sm.kv.read(kv.Range(b"a")), kv.RangeResult)
    # a restored replica refuses the same writes
    twin = StateMachine()
    twin.restore(sm.snapshot_data())
    assert twin.alarms.active() == [(5, AlarmType.NOSPACE)] and twin.kv.nospace
    assert _put(5, b"c", twin) == kv.KVError(kv.ErrorCode.NO_SPACE)
    sm.apply(_entry(5, encode_alarm(AlarmAction.DEACTIVATE, 5, AlarmType.NOSPACE)))
    assert not sm.kv.nospace and isinstance(_put(6, b"b", sm), kv.PutResult)
    sm.apply(_entry(7, encode_alarm(AlarmAction.ACTIVATE, 5, AlarmType.CORRUPT)))
    assert sm.kv.read(kv.Range(b"b")) == kv.KVError(kv.ErrorCode.CORRUPT)
    assert sm.apply(_entry(8, b"QA\xc1")) is not None  # garbage: consumed, ignored
    assert sm.applied == 8 and sm.alarms.active() == [(5, AlarmType.CORRUPT)]


def test_alarm_rpc_raises_refuses_writes_and_disarms(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kvs = rpc_pb2_grpc.KVStub(ch)
                maint = rpc_pb2_grpc.MaintenanceStub(ch)
                await kvs.Put(rpc_pb2.PutRequest(key=b"a", value=b"1"))
                got = await maint.Alarm(rpc_pb2.AlarmRequest(
                    action=rpc_pb2.AlarmRequest.ACTIVATE, memberID=node.id,
                    alarm=rpc_pb2.NOSPACE))
                assert [(a.memberID, a.alarm) for a in got.alarms] == [(node.id, 1)]
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kvs.Put(rpc_pb2.PutRequest(key=b"b", value=b"2"))
                assert (err.value.code(), err.value.details()) == (
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "etcdserver: mvcc: database space exceeded")
                assert (await kvs.Range(rpc_pb2.RangeRequest(key=b"a"))).count == 1
                st = await maint.Status(rpc_pb2.StatusRequest())
                assert list(st.errors) == [f"memberID:{node.id} alarm:NOSPACE"]
                listed = await maint.Alarm(rpc_pb2.AlarmRequest())
                assert [(a.memberID, a.alarm) for a in listed.alarms] == [(node.id, 1)]
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await maint.Alarm(rpc_pb2.AlarmRequest(action=7))
                assert (err.value.code(), err.value.details()) == (
                    grpc.StatusCode.INVALID_ARGUMENT, "quorum: unknown alarm action or type")
                off = await maint.Alarm(rpc_pb2.AlarmRequest(
                    action=rpc_pb2.AlarmRequest.DEACTIVATE, memberID=node.id,
                    alarm=rpc_pb2.NOSPACE))
                assert [(a.memberID, a.alarm) for a in off.alarms] == [(node.id, 1)]
                await kvs.Put(rpc_pb2.PutRequest(key=b"b", value=b"2"))
                assert list((await maint.Status(rpc_pb2.StatusRequest())).errors) == []
                await maint.Defragment(rpc_pb2.DefragmentRequest())
    asyncio.run(scenario())
