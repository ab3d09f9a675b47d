"""Limits on one member: the limit flags, the quota and its NOSPACE alarm, compaction giving
space back, auto-compaction, and a log bounded in bytes as well as entries."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.cli import quorum
from helpers.cluster import Cluster, etcdctl
from helpers.member import config, running_member
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server.config import (
    DEFAULT_QUOTA_BYTES,
    ServerConfigError,
    parse_retention,
)
from quorum.impl.server.main import grpc_options


@pytest.mark.parametrize(("mode", "text", "value"), [
    ("periodic", "0", 0.0), ("periodic", "1", 3600.0), ("periodic", "30m", 1800.0),
    ("periodic", "1.5h", 5400.0), ("periodic", "90s", 90.0), ("periodic", "500ms", 0.5),
    ("revision", "1000", 1000.0),
])
def test_retention_parses_as_etcd_reads_it(mode: str, text: str, value: float) -> None:
    assert parse_retention(mode, text) == value


@pytest.mark.parametrize(("mode", "text", "message"), [
    ("periodic", "soon", "expected a duration like 30m or 1h"),
    ("revision", "1h", "expected a number of revisions"),
    ("periodic", "-5m", "must be >= 0"),
    ("hourly", "1", "--auto-compaction-mode must be 'periodic' or 'revision'"),
])
def test_bad_retention_is_one_clear_line(mode: str, text: str, message: str) -> None:
    with pytest.raises(ServerConfigError, match=message):
        parse_retention(mode, text)


def test_limit_flags_reach_the_config_and_bad_ones_exit_2(tmp_path: Path) -> None:
    assert config(tmp_path).quota == DEFAULT_QUOTA_BYTES
    assert config(tmp_path, quota_backend_bytes=-1).quota == 0
    assert config(tmp_path, quota_backend_bytes=5000).quota == 5000
    assert ("grpc.max_receive_message_length", 1000 + 512 * 1024) in grpc_options(
        config(tmp_path, max_request_bytes=1000))
    for flags, message in [
            (["--max-request-bytes", "0"], "--max-request-bytes must be positive"),
            (["--snapshot-bytes", "0"], "--snapshot-bytes must be positive"),
            (["--auto-compaction-retention", "abc"], "expected a duration like 30m or 1h")]:
        r = quorum("serve", "--data-dir", str(tmp_path / "d"), *flags)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


async def _until(check: Any, what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_quota_raises_nospace_and_freeing_space_then_disarm_restores_writes(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, quota_backend_bytes=40_000)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                maint = rpc_pb2_grpc.MaintenanceStub(ch)
                written = 0
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    for i in range(20):
                        await kv.Put(rpc_pb2.PutRequest(key=b"k%d" % i, value=b"x" * 4000))
                        written += 1
                assert (err.value.code(), err.value.details()) == (
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "etcdserver: mvcc: database space exceeded")
                assert written == 9  # 9 x (4002 + 48) bytes fit in 40,000; the 10th does not
                await _until(lambda: node.sm.alarms.active() != [], "the NOSPACE alarm")
                st = await maint.Status(rpc_pb2.StatusRequest())
                assert list(st.errors) == [f"memberID:{node.id} alarm:NOSPACE"]
                assert st.dbSize == st.dbSizeInUse == node.sm.kv.size_bytes == 9 * 4050
                index = node.raw.status().last_index
                with pytest.raises(grpc.aio.AioRpcError) as err:  # refused before proposing
                    await kv.Put(rpc_pb2.PutRequest(key=b"tiny", value=b"1"))
                assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert node.raw.status().last_index == index
                assert (await kv.Range(rpc_pb2.RangeRequest(key=b"k0"))).count == 1
                # free space: delete and compact (deletes are allowed under NOSPACE)
                gone = await kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=b"k", range_end=b"l"))
                assert gone.deleted == 9
                await kv.Compact(rpc_pb2.CompactionRequest(revision=gone.header.revision))
                await maint.Defragment(rpc_pb2.DefragmentRequest())
                st = await maint.Status(rpc_pb2.StatusRequest())
                assert st.dbSize == 0 and list(st.errors) == [
                    f"memberID:{node.id} alarm:NOSPACE"]  # still armed until disarmed
                await maint.Alarm(rpc_pb2.AlarmRequest(
                    action=rpc_pb2.AlarmRequest.DEACTIVATE, memberID=node.id,
                    alarm=rpc_pb2.NOSPACE))
                await kv.Put(rpc_pb2.PutRequest(key=b"after", value=b"x" * 4000))
                st = await maint.Status(rpc_pb2.StatusRequest())
                assert list(st.errors) == [] and st.dbSize == 5 + 4000 + 48
    asyncio.run(scenario())


def test_periodic_auto_compaction_compacts_on_its_own(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, auto_compaction_retention="500ms")
        async with running_member(cfg) as (node, requests, server):
            assert requests.compactor.interval == 0.05
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                first = await kv.Put(rpc_pb2.PutRequest(key=b"a", value=b"1"))
                await kv.Put(rpc_pb2.PutRequest(key=b"a", value=b"2"))
                await _until(lambda: node.sm.kv.compact_revision >= first.header.revision,
                             "auto-compaction")
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await kv.Range(rpc_pb2.RangeRequest(key=b"a", revision=1))
                assert err.value.details() == (
                    "etcdserver: mvcc: required revision has been compacted")
    asyncio.run(scenario())


def test_the_in_memory_log_is_bounded_in_bytes(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, snapshot_bytes=60_000, catchup_bytes=25_000)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                peak = 0
                for i in range(40):
                    put = await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"%d" % i * 5000))
                    if i % 4 == 3:  # keep the state (so each snapshot) below --snapshot-bytes
                        await kv.Compact(rpc_pb2.CompactionRequest(
                            revision=put.header.revision))
                    mem = node.mem
                    held = sum(len(e.data) for e in mem.entries(
                        mem.first_index(), mem.last_index() + 1))
                    peak = max(peak, held)
                assert node.snapshot_index > 0  # by bytes: far below --snapshot-count
                # the log never held more than a snapshot's worth plus the catch-up bytes
                assert peak <= 60_000 + 25_000 + 2 * 10_100
                assert mem.first_index() > 20
    asyncio.run(scenario())



def test_a_compaction_replaces_the_large_snapshot_held_in_memory(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, snapshot_bytes=1_000_000, catchup_bytes=0)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                for i in range(12):
                    put = await kv.Put(rpc_pb2.PutRequest(key=b"k", value=bytes([i]) * 300_000))
                # snapshots are taken beside the writes: wait for one of seven or more
                # 300 kB versions (then no snapshot is under way: the next one is due
                # only after as many bytes again)
                await _until(lambda: len(node.mem.snapshot().data) > 2_000_000
                             and not node._snapshotting, "a large snapshot")
                await kv.Compact(rpc_pb2.CompactionRequest(revision=put.header.revision))
                assert node.sm.kv.size_bytes == 1 + 300_000 + 48
                # the Compact's own Ready found the held snapshot stale and replaced it
                await _until(lambda: len(node.mem.snapshot().data) < 400_000, "a new snapshot")
    asyncio.run(scenario())

@pytest.mark.slow
def test_etcdctl_quota_alarm_disarm_and_bad_requests_on_three_members(tmp_path: Path) -> None:
    """The real etcdctl against three ``quorum serve`` processes: fill the quota, see the
    NOSPACE alarm on every member, free space, disarm, write again; bad requests get etcd's
    messages and cost no log entry."""
    assert shutil.which("etcdctl"), "etcdctl missing: apt-get install etcd-client (see .ci/run)"
    c = Cluster(tmp_path, 3, extra=["--quota-backend-bytes", "60000",
                                    "--max-request-bytes", "8192"])
    c.start()
    try:
        c.wait_leader()
        one, every = c.members[1].client_url, c.endpoints()
        refused = None
        for i in range(30):
            r = etcdctl(one, "put", f"k{i}", "x" * 5000, check=False)
            if r.returncode != 0:
                refused = (i, r.stderr)
                break
        assert refused is not None and refused[0] == 11  # 11 x 5,051 bytes fit in 60,000
        assert "etcdserver: mvcc: database space exceeded" in refused[1]
        for _ in range(100):
            listed = etcdctl(one, "alarm", "list").stdout.split()
            if listed:
                break
            time.sleep(0.1)
        alarm = f"memberID:{c.members[1].status().header.member_id} alarm:NOSPACE"
        assert " ".join(listed) == alarm
        for m in c.members:  # the alarm is replicated: every member shows it, once applied
            assert _shows(m.client_url, [alarm]), _status(m.client_url)
        r = etcdctl(c.members[2].client_url, "put", "other", "1", check=False)
        assert "database space exceeded" in r.stderr  # refused on every member
        assert etcdctl(one, "get", "k0", "--print-value-only").stdout.strip() == "x" * 5000
        # bad requests: etcd's messages, no log entry
        before = _raft_index(one)
        for args, stdin, message in [
                (["compact", "1000000"], None, "required revision is a future revision"),
                (["del", "y" * 9000], None, "etcdserver: request is too large"),
                (["txn"], "\nput a 1\nput a 2\n\n\n", "duplicate key given in txn request"),
                (["get", "k0", "--sort-by=VALUE", "--order=DESCEND", "--rev", "99999"], None,
                 "required revision is a future revision")]:
            r = etcdctl(one, *args, stdin=stdin, check=False)
            assert r.returncode != 0 and message in r.stderr, (args, r.stderr)
            assert "Traceback" not in r.stderr
        assert _raft_index(one) == before
        # free space, then disarm: writes work again
        rev = int(json.loads(etcdctl(one, "del", "--prefix", "k", "-w", "json").stdout)[
            "header"]["revision"])
        etcdctl(one, "compact", str(rev))
        etcdctl(every, "defrag")
        assert _db_size(one) == 0
        assert etcdctl(one, "alarm", "disarm").stdout.split() == alarm.split()
        assert etcdctl(one, "alarm", "list").stdout.strip() == ""
        assert _shows(c.members[2].client_url, []), _status(c.members[2].client_url)
        etcdctl(c.members[2].client_url, "put", "other", "1")
        r = etcdctl(one, "get", "k0", "--rev", str(rev - 1), check=False)
        assert "required revision has been compacted" in r.stderr
    finally:
        c.stop()


def _status(endpoint: str) -> Any:
    return json.loads(etcdctl(endpoint, "endpoint", "status", "-w", "json").stdout)[0]["Status"]


def _shows(endpoint: str, errors: list[str], timeout: float = 10.0) -> bool:
    """Whether the member's status lists these alarms within ``timeout`` (a follower
    applies the alarm entry a moment after the member that raised it)."""
    deadline = time.monotonic() + timeout
    while _status(endpoint).get("errors", []) != errors:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _raft_index(endpoint: str) -> int:
    return int(_status(endpoint)["raftIndex"])


def _db_size(endpoint: str) -> int:
    return int(_status(endpoint).get("dbSize", 0))
