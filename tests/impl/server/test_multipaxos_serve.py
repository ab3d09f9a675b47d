"""``quorum serve --protocol multipaxos``: three members inside the test process running the
Multi-Paxos core behind the same WAL, transport, state machine and gRPC API as Raft.

Put/get/txn/delete through any member (followers forward writes and serve linearizable
reads with a read barrier), the leader stopped and the survivors serving with every
acknowledged write, a member restarted from its WAL, membership changes refused."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.cli import QUORUM, one_line_error
from helpers.cluster import FLAGS, Cluster, etcdctl, free_ports
from helpers.member import config as member_config
from helpers.member import wait_leader as member_wait_leader
from quorum.impl import multipaxos as mp
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.mutants import Mutant
from quorum.impl.raft.errors import CodecError
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import Entry, Message, MessageType
from quorum.impl.server.config import ServerConfig, ServerConfigError, parse_initial_cluster
from quorum.impl.server.cores import adapter
from quorum.impl.server.machine import StateMachine, encode_barrier
from quorum.impl.server.main import start_member, stop_member
from quorum.impl.storage.errors import StorageError

SECRET = b"in-process-test-peer-secret"
NAMES = ("a", "b", "c")


def configs(tmp: Path) -> list[ServerConfig]:
    ports = free_ports(6)
    peers = {n: f"http://127.0.0.1:{ports[2 * k]}" for k, n in enumerate(NAMES)}
    initial = parse_initial_cluster(",".join(f"{n}={u}" for n, u in peers.items()))
    out = []
    for k, n in enumerate(NAMES):
        client = f"http://127.0.0.1:{ports[2 * k + 1]}"
        out.append(ServerConfig(
            name=n, data_dir=tmp / n, listen_peer_urls=(peers[n],), listen_client_urls=(client,),
            initial_cluster=initial, advertise_peer_urls=(peers[n],),
            advertise_client_urls=(client,), tick_ms=20, peer_secret=SECRET,
            protocol="multipaxos"))
    return out


async def wait_leader(nodes: list[Any]) -> Any:
    """The member of ``nodes`` that all of them agree leads."""
    for _ in range(500):
        leaders = {n.leader for n in nodes}
        lead = [n for n in nodes if leaders == {n.id}]
        if lead:
            return lead[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no agreed leader: {[(n.id, n.leader) for n in nodes]}")


def target(cfg: ServerConfig) -> str:
    return cfg.listen_client_urls[0][len("http://"):]


def test_three_multipaxos_members_serve_fail_over_and_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfgs = configs(tmp_path)
        started = [await start_member(c) for c in cfgs]
        running = {c.name: s for c, s in zip(cfgs, started, strict=True)}
        try:
            leader = await wait_leader([n for n, _, _ in running.values()])
            lead_cfg = next(c for c in cfgs if c.member_id == leader.id)
            follower_cfg = next(c for c in cfgs if c.member_id != leader.id)
            acked: dict[bytes, bytes] = {}
            # every member takes writes and linearizable reads (followers forward)
            for k, cfg in enumerate(cfgs * 2):
                async with grpc.aio.insecure_channel(target(cfg)) as ch:
                    kv = rpc_pb2_grpc.KVStub(ch)
                    key, value = f"k{k}".encode(), f"v{k}".encode()
                    await kv.Put(rpc_pb2.PutRequest(key=key, value=value))
                    acked[key] = value
                    for other in cfgs:  # read your write anywhere, linearizably
                        async with grpc.aio.insecure_channel(target(other)) as och:
                            got = await rpc_pb2_grpc.KVStub(och).Range(
                                rpc_pb2.RangeRequest(key=key))
                            assert [(x.key, x.value) for x in got.kvs] == [(key, value)]
            # a follower's linearizable reads went through the log as read barriers
            barrier = encode_barrier(follower_cfg.member_id, b"")
            assert any(e.data.startswith(barrier) for e in leader.raw.log.values())
            assert not any(e.data.startswith(encode_barrier(leader.id, b""))
                           for e in leader.raw.log.values())  # the leader asks no one
            async with grpc.aio.insecure_channel(target(follower_cfg)) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                txn = await kv.Txn(rpc_pb2.TxnRequest(
                    compare=[rpc_pb2.Compare(key=b"k0", target=rpc_pb2.Compare.VALUE,
                                             value=b"v0")],
                    success=[rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(
                        key=b"k1"))]))
                assert txn.succeeded and txn.responses[0].response_delete_range.deleted == 1
                del acked[b"k1"]
                st = await rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest())
                assert st.leader == leader.id and st.raftTerm == leader.raw.promised >= 1
                assert st.raftIndex >= st.raftAppliedIndex >= len(cfgs) * 2 + 1
                cluster = rpc_pb2_grpc.ClusterStub(ch)
                members = await cluster.MemberList(rpc_pb2.MemberListRequest(linearizable=True))
                assert sorted(m.name for m in members.members) == sorted(NAMES)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await cluster.MemberAdd(rpc_pb2.MemberAddRequest(
                        peerURLs=["http://127.0.0.1:1"]))
                assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                assert err.value.details() == (
                    "quorum: membership changes are not supported with --protocol multipaxos "
                    "(the membership is the static --initial-cluster)")
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await cluster.MemberRemove(rpc_pb2.MemberRemoveRequest(ID=leader.id))
                assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            # the leader stops; the two survivors elect another and keep every write
            node, _, server = running.pop(lead_cfg.name)
            await stop_member(node, server)
            survivors = [n for n, _, _ in running.values()]
            new_leader = await wait_leader(survivors)
            assert new_leader.id != leader.id and new_leader.raw.promised > leader.raw.promised
            async with grpc.aio.insecure_channel(target(follower_cfg)) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                await kv.Put(rpc_pb2.PutRequest(key=b"after", value=b"failover"))
                acked[b"after"] = b"failover"
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0"))
                assert {x.key: x.value for x in got.kvs} == acked
            # the stopped member restarts from its WAL and catches up
            running[lead_cfg.name] = await start_member(lead_cfg)
            back = running[lead_cfg.name][0]
            # (it may depose the leader: the core has no pre-vote; any agreed leader will do)
            await wait_leader([back, *survivors])
            async with grpc.aio.insecure_channel(target(lead_cfg)) as ch:
                got = await rpc_pb2_grpc.KVStub(ch).Range(
                    rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0"))
                assert {x.key: x.value for x in got.kvs} == acked
            assert back.snapshot_index == 0 and back.stats["snapshots"] == 0
        finally:
            for node, _, server in running.values():
                await stop_member(node, server)
    asyncio.run(scenario())


def test_protocol_is_checked(tmp_path: Path) -> None:
    cfg = configs(tmp_path)[0]
    with pytest.raises(ServerConfigError, match="--protocol must be raft or multipaxos"):
        ServerConfig(**{**cfg.__dict__, "protocol": "bogus"})
    with pytest.raises(ServerConfigError, match="static membership"):
        ServerConfig(**{**cfg.__dict__, "cluster_state": "existing"})


def test_serve_protocol_bogus_is_one_line(tmp_path: Path) -> None:
    p = subprocess.run([*QUORUM, "serve", "--protocol", "bogus",
                        "--data-dir", str(tmp_path / "d"), "--insecure-peers"],
                       capture_output=True, text=True, timeout=60)
    one_line_error(p, "--protocol must be raft or multipaxos, got 'bogus'")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("protocol,mutant,core", [
    ("raft", "mp-chosen-any-ballot", "Multi-Paxos"),
    ("multipaxos", "commit-old-term", "Raft")])
def test_serve_refuses_the_other_cores_mutant(tmp_path: Path, protocol: str, mutant: str,
                                              core: str) -> None:
    p = subprocess.run([*QUORUM, "serve", "--protocol", protocol, "--unsafe-mutant", mutant,
                        "--data-dir", str(tmp_path / "d"), "--insecure-peers"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, QUORUM_UNSAFE_MUTANTS="1"))
    one_line_error(p, f"--unsafe-mutant {mutant}: a {core} core mutant, and this member "
                      f"runs --protocol {protocol}")
    assert not (tmp_path / "d").exists()


def test_the_multipaxos_core_mutant_reaches_the_core(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = member_config(tmp_path, protocol="multipaxos")
        node, _, server = await start_member(cfg, frozenset({Mutant.MP_CHOSEN_ANY_BALLOT}))
        try:
            assert node.raw.cfg.mutants == frozenset({Mutant.MP_CHOSEN_ANY_BALLOT})
        finally:
            await stop_member(node, server)
    asyncio.run(scenario())


def test_a_data_directory_keeps_its_protocol(tmp_path: Path) -> None:
    """A member refuses the WAL another protocol's member wrote (one line), both ways."""
    async def scenario() -> None:
        for first, then in (("multipaxos", "raft"), ("raft", "multipaxos")):
            cfg = member_config(tmp_path / first, protocol=first)
            node, _, server = await start_member(cfg)
            try:
                await member_wait_leader(node)
                async with grpc.aio.insecure_channel(target(cfg)) as ch:
                    await rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"k", value=b"v"))
            finally:
                await stop_member(node, server)
            assert (cfg.data_dir / "protocol").read_text() == first + "\n"
            with pytest.raises(StorageError) as err:
                await start_member(ServerConfig(**{**cfg.__dict__, "protocol": then}))
            assert str(err.value) == (f"{cfg.data_dir} holds the data of a --protocol {first} "
                                      f"member; this member runs --protocol {then}")
    asyncio.run(scenario())


def test_each_protocol_refuses_the_others_messages() -> None:
    """A member started with the wrong --protocol cannot mistake a peer's message for one
    of its own: each codec refuses the other's bytes (CodecError costs the connection)."""
    mem = MemoryStorage()
    raft, paxos = adapter("raft", 1, mem), adapter("multipaxos", 1, mem)
    accept = mp.Message(mp.MessageType.ACCEPT, 1, 2, ballot=3,
                        entries=(Entry(3, 1, data=b"x"),), commit=1)
    append = Message(MessageType.APPEND, 1, 2, term=3, entries=(Entry(3, 1, data=b"x"),))
    assert paxos.decode(paxos.encode(accept)) == accept
    assert raft.decode(raft.encode(append)) == append
    with pytest.raises(CodecError, match="expected 12 fields, got 9"):
        raft.decode(paxos.encode(accept))
    with pytest.raises(CodecError, match="expected a list of 9 fields"):
        paxos.decode(raft.encode(append))


@pytest.mark.slow
def test_etcdctl_against_three_multipaxos_processes(tmp_path: Path) -> None:
    """Debian's etcdctl against three `quorum serve --protocol multipaxos` processes: put,
    get (both consistencies), txn, del through any member; member add refused; the leader
    killed (SIGKILL), the survivors serving every acknowledged write; it restarts from its
    WAL and catches up."""
    assert shutil.which("etcdctl"), "etcdctl missing: apt-get install etcd-client (see .ci/run)"
    cluster = Cluster(tmp_path, 3, extra=["--protocol", "multipaxos", *FLAGS])
    cluster.start()
    try:
        leader = cluster.wait_leader()
        a, b, c = cluster.members
        assert etcdctl(a.client_url, "put", "foo", "bar").stdout == "OK\n"
        assert etcdctl(b.client_url, "get", "foo").stdout == "foo\nbar\n"
        cluster.wait_applied(c, a.status().raftAppliedIndex)
        assert etcdctl(c.client_url, "get", "foo", "--consistency=s").stdout == "foo\nbar\n"
        txn = 'value("foo") = "bar"\n\nput foo baz\n\nput foo failed\n\n'
        assert etcdctl(c.client_url, "txn", stdin=txn).stdout.startswith("SUCCESS")
        assert etcdctl(c.client_url, "del", "foo").stdout == "1\n"
        status = json.loads(etcdctl(leader.client_url, "endpoint", "status", "-w",
                                    "json").stdout)[0]["Status"]
        assert status["leader"] == status["header"]["member_id"]
        assert status["raftTerm"] >= 1 and status["raftIndex"] >= 4
        names = etcdctl(a.client_url, "member", "list").stdout
        assert sorted(line.split(", ")[2] for line in names.splitlines()) == ["n1", "n2", "n3"]
        refused = etcdctl(a.client_url, "member", "add", "n4", "--peer-urls",
                          "http://127.0.0.1:1", check=False)
        assert refused.returncode != 0
        assert "quorum: membership changes are not supported with --protocol multipaxos" \
            in refused.stderr
        assert "--snapshot-count is ignored" not in a.log_text()  # it applies here too
        acked = {}
        for i in range(20):
            m = cluster.members[i % 3]
            assert etcdctl(m.client_url, "put", f"k{i}", f"v{i}").stdout == "OK\n"
            acked[f"k{i}"] = f"v{i}"
        leader.kill9()
        survivors = [m for m in cluster.members if m is not leader]
        cluster.wait_leader(survivors)
        for i in range(20, 30):
            m = survivors[i % 2]
            assert etcdctl(m.client_url, "put", f"k{i}", f"v{i}").stdout == "OK\n"
            acked[f"k{i}"] = f"v{i}"
        for m in survivors:
            got = etcdctl(m.client_url, "get", "k", "--prefix").stdout.split("\n")[:-1]
            assert dict(zip(got[::2], got[1::2], strict=True)) == acked
        leader.start(cluster.initial_cluster())
        cluster.wait_leader()
        cluster.wait_applied(leader, survivors[0].status().raftAppliedIndex)
        got = etcdctl(leader.client_url, "get", "k", "--prefix",
                      "--consistency=s").stdout.split("\n")[:-1]
        assert dict(zip(got[::2], got[1::2], strict=True)) == acked
    finally:
        cluster.stop()


def test_a_read_barrier_answers_only_the_read_of_this_life() -> None:
    """A barrier names its member and that member's run: one replayed from the log after a
    restart (another nonce) or proposed by another member answers no read."""
    mem = MemoryStorage()
    life1, life2 = adapter("multipaxos", 7, mem), adapter("multipaxos", 7, mem)
    payload = life1.nonce + b"ctx-0001"  # type: ignore[attr-defined]
    assert life1.own_barrier(7, payload) == b"ctx-0001"
    assert life2.own_barrier(7, payload) is None
    assert life1.own_barrier(8, payload) is None
    assert adapter("raft", 7, mem).own_barrier(7, payload) is None
    sm = StateMachine()
    out = sm.apply(Entry(1, 1, data=encode_barrier(7, payload)))
    assert out is not None and out.barrier == (7, payload) and out.result is None
    assert sm.applied == 1 and sm.kv.revision == 1  # applied, and the key space unchanged


def test_one_multipaxos_member_behind_a_front_end(tmp_path: Path) -> None:
    """A one-member Multi-Paxos cluster (its own majority) serving through a gRPC
    front-end process: write, linearizable read, status."""
    async def scenario() -> None:
        cfg = member_config(tmp_path, protocol="multipaxos", frontends=1)
        node, _, server = await start_member(cfg)
        try:
            await member_wait_leader(node)
            async with grpc.aio.insecure_channel(target(cfg)) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                for _ in range(100):  # the front-end process takes a moment to start
                    try:
                        await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"v"))
                        break
                    except grpc.aio.AioRpcError:
                        await asyncio.sleep(0.1)
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"k"))
                assert [(x.key, x.value) for x in got.kvs] == [(b"k", b"v")]
                st = await rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest())
                assert (st.leader, st.raftTerm) == (node.id, node.raw.promised)
                assert st.raftTerm == 1  # the only member owns ballot 1
        finally:
            await stop_member(node, server)
    asyncio.run(scenario())
