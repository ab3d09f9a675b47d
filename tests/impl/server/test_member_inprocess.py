"""A one-member cluster inside the test process: the gRPC API end to end (fast suite), and
a restart that recovers every acknowledged write from the WAL and a snapshot."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.member import PEER_SECRET, config, running_member
from quorum.impl import kv as kvm
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server import node as node_module
from quorum.impl.server.config import ServerConfig


@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_kv_cluster_and_maintenance_services(tmp_path: Path, frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, frontends=frontends)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                put = await kv.Put(rpc_pb2.PutRequest(key=b"a", value=b"1"))
                again = await kv.Put(rpc_pb2.PutRequest(key=b"a", value=b"2", prev_kv=True))
                assert again.header.revision == put.header.revision + 1
                assert again.prev_kv.value == b"1" and again.header.member_id == node.id
                for ser in (False, True):
                    got = await kv.Range(rpc_pb2.RangeRequest(key=b"a", serializable=ser))
                    assert [(x.key, x.value, x.version) for x in got.kvs] == [(b"a", b"2", 2)]
                txn = await kv.Txn(rpc_pb2.TxnRequest(
                    compare=[rpc_pb2.Compare(key=b"a", target=rpc_pb2.Compare.VALUE,
                                             value=b"2")],
                    success=[rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(
                        key=b"a"))]))
                assert txn.succeeded and txn.responses[0].response_delete_range.deleted == 1
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kv.Range(rpc_pb2.RangeRequest(key=b"a", revision=10**6))
                assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kv.Put(rpc_pb2.PutRequest(key=b"", value=b"x"))
                assert (err.value.code(), err.value.details()) == (
                    grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: key is not provided")
                members = await rpc_pb2_grpc.ClusterStub(ch).MemberList(
                    rpc_pb2.MemberListRequest(linearizable=True))
                assert [(m.ID, m.name) for m in members.members] == [(node.id, "solo")]
                st = await rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest())
                assert st.leader == node.id and st.raftTerm >= 1
                assert st.raftIndex >= st.raftAppliedIndex >= 4
    asyncio.run(scenario())


@pytest.mark.parametrize("piece", [2000, 8])
def test_restart_recovers_acknowledged_writes_from_wal_and_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    """Snapshots every 25 entries, then a restart recovers from the newest one and the WAL
    after it.  With pieces of 2,000 keys (the default) a state this small is snapshotted
    at once in the Ready loop; with pieces of 8 keys by the snapshot task, in pieces,
    beside the writes (``Node._snapshot_beside``)."""
    monkeypatch.setattr(node_module, "SNAPSHOT_PIECE", piece)
    beside, real = [], node_module.Node._snapshot_beside

    async def counted(self: Any, *args: Any) -> None:
        beside.append(args[0])
        await real(self, *args)
    monkeypatch.setattr(node_module.Node, "_snapshot_beside", counted)
    async def write_some(cfg: ServerConfig, start: int, n: int) -> None:
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                await asyncio.gather(*(kv.Put(rpc_pb2.PutRequest(
                    key=b"k%03d" % i, value=b"v%d" % i)) for i in range(start, start + n)))
            if n >= 50:  # taken by the snapshot task from a view (snapview.py), which
                for _ in range(400):  # runs beside the writes: wait for it (20 s at most)
                    if node.stats["snapshots"]:
                        break
                    await asyncio.sleep(0.05)
                assert node.stats["snapshots"] >= 1

    async def scenario() -> None:
        cfg = config(tmp_path, snapshot_count=25, catchup_entries=5)
        await write_some(cfg, 0, 60)  # several snapshots and compactions
        await write_some(cfg, 60, 10)
        async with running_member(cfg) as (node, _, server):
            assert node.snapshot_index >= 50  # recovered from a snapshot, then the WAL tail
            got = node.sm.kv.read(kvm.Range(b"k", b"l"))
            assert [kv.key for kv in got.kvs] == [b"k%03d" % i for i in range(70)]
    asyncio.run(scenario())
    assert bool(beside) == (piece == 8)  # which way the snapshots went


def test_peer_garbage_and_spoofed_sender_cost_only_that_connection(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from quorum.impl.net import Identity
    from quorum.impl.net.frame import pack
    from quorum.impl.net.handshake import dial
    from quorum.impl.raft import codec
    from quorum.impl.raft.types import Message, MessageType

    caplog.set_level(logging.WARNING, "quorum.net")

    async def peer_sends(node: Any, port: int, body: bytes, me: int = 7) -> bool:
        """Handshake as a (fake) member ``me`` and send ``body``; True if node hung up on us
        (a different ``me`` each time: warnings are rate-limited per peer)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        channel = await dial(reader, writer, Identity(node.cluster_id, me, PEER_SECRET), node.id)
        writer.write(channel.seal(body))
        try:
            return await asyncio.wait_for(reader.read(1), 5) == b""
        finally:
            writer.close()

    async def scenario() -> None:
        cfg = config(tmp_path)
        async with running_member(cfg) as (node, requests, server):
            port = int(cfg.listen_peer_urls[0].rsplit(":", 1)[1])
            assert await peer_sends(node, port, pack([1, 2, 3]))  # msgpack, not a Message
            spoofed = Message(MessageType.APPEND, to=node.id, frm=9, term=99)
            assert await peer_sends(node, port, codec.encode_message(spoofed), me=8)
            assert node.term < 99  # the spoofed message never reached the core
            result = await requests.write(kvm.Put(b"still", b"serving"))
            assert isinstance(result, kvm.PutResult)
    asyncio.run(scenario())
    assert "dropped peer connection" in caplog.text
    assert "on 8's connection" in caplog.text


def test_a_lost_or_duplicated_write_proposal_executes_exactly_once(tmp_path: Path) -> None:
    """Client sessions (thesis 6.3): the first proposal of a write is lost, so the member
    proposes it again after an election timeout; the next write's proposal is duplicated.
    Each executes once, and the duplicate is answered from the session table."""
    async def scenario() -> None:
        cfg = config(tmp_path)
        async with running_member(cfg) as (node, requests, server):
            real, calls = node.submit, []

            def lossy(data: bytes) -> None:  # drop the first submission
                calls.append(data)
                if len(calls) > 1:
                    real(data)
            node.submit = lossy
            rev = node.sm.kv.revision
            result = await requests.write(kvm.Put(b"once", b"1"))
            assert isinstance(result, kvm.PutResult) and result.revision == rev + 1
            assert len(calls) == 2 and calls[0] == calls[1]  # the same bytes: same session
            assert node.stats["resubmits"] == 1
            assert kvm.decode(calls[0]).client_id != 0 and kvm.decode(calls[0]).seq >= 1

            def twice(data: bytes) -> None:
                real(data)
                real(data)
            node.submit = twice
            hits = node.sm.kv.sessions.hits
            cas = kvm.Txn(compare=(kvm.Compare(b"once", kvm.CompareTarget.VALUE,
                                               kvm.CompareResult.EQUAL, b"1"),),
                          success=(kvm.Put(b"once", b"2"),))
            result = await requests.write(cas)
            assert isinstance(result, kvm.TxnResult) and result.succeeded
            for _ in range(100):
                if node.sm.kv.sessions.hits > hits:
                    break
                await asyncio.sleep(0.02)
            assert node.sm.kv.sessions.hits == hits + 1  # the second copy was deduplicated
            assert node.sm.kv.revision == rev + 2
            got = node.sm.kv.read(kvm.Range(b"once"))
            assert isinstance(got, kvm.RangeResult) and got.kvs[0].version == 2
    asyncio.run(scenario())


def test_a_write_on_a_forgotten_pooled_session_is_retried_on_a_fresh_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path)
        async with running_member(cfg) as (node, requests, server):
            await requests.write(kvm.Put(b"a", b"1"))  # pools session A (seq 1)
            (a_id, _), = requests._sessions
            node.sm.kv.sessions.max_sessions = 1
            await requests._write_once(kvm.Put(b"b", b"1"), [12345, 0])  # evicts A
            assert requests._sessions.pop() == [12345, 1]  # out of the pool: A is next
            rev = node.sm.kv.revision
            result = await requests.write(kvm.Put(b"a", b"2"))  # A seq 2: expired, retried
            assert isinstance(result, kvm.PutResult) and result.revision == rev + 1
            assert node.sm.kv.sessions.last(12345) is None  # the fresh session evicted it
            assert node.sm.kv.sessions.last(a_id) is None and len(node.sm.kv.sessions) == 1
            assert [s[0] for s in requests._sessions] != [a_id]  # A left the pool
    asyncio.run(scenario())


def test_a_broken_raft_invariant_stops_the_member(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A PanicError from the core (where etcd-raft panics) stops the member whichever input
    raised it, a tick or a peer's message: nothing more is stepped into the broken core,
    and ``serve`` sees ``stopped`` and shuts the member down."""
    import logging

    from quorum.impl.raft import codec
    from quorum.impl.raft.errors import PanicError
    from quorum.impl.raft.types import Message, MessageType

    caplog.set_level(logging.CRITICAL, "quorum.server")

    def planted(*_: Any) -> None:
        raise PanicError("planted: commit 9 is beyond the last index 4")

    async def scenario(through: str) -> None:
        cfg = config(tmp_path / through)
        async with running_member(cfg) as (node, _, server):
            heartbeat = codec.encode_message(
                Message(MessageType.HEARTBEAT, to=node.id, frm=7, term=node.term))
            if through == "tick":
                node.raw.tick = planted  # type: ignore[method-assign]
            else:
                node.raw.step = planted  # type: ignore[method-assign]
                node.transport.handler(7, heartbeat)
            await asyncio.wait_for(node.stopped.wait(), 5)
            assert isinstance(node.panic, PanicError) and not node.removed
            stepped: list[Message] = []
            node.raw.step = stepped.append  # type: ignore[method-assign]
            node.transport.handler(7, heartbeat)
            assert stepped == []
    for through in ("tick", "frame"):
        asyncio.run(scenario(through))
    assert caplog.text.count("raft invariant broken; stopping this member: planted") == 2
