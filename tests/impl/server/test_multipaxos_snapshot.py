"""``quorum serve --protocol multipaxos`` takes snapshots and compacts its log.

Members run inside the test process (``start_member``) with a small ``--snapshot-count``:
the core's log and the WAL's recovered log shrink to what follows the snapshot, a restart
recovers every key from snapshot plus remaining log, and a member stopped while the others
wrote and compacted past its log rejoins and converges by the leader's SNAPSHOT.  The
ordering that keeps it durable: a snapshot is fsynced (file and WAL marker) before the core
drops the log below it and before the WAL releases it; and a snapshot installed from a peer
keeps this acceptor's votes above it in the WAL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc

from helpers.cluster import free_ports
from helpers.member import PEER_SECRET, running_member
from helpers.member import config as member_config
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.raft.storage import MemoryStorage
from quorum.impl.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from quorum.impl.server.config import ServerConfig, parse_initial_cluster
from quorum.impl.server.cores import adapter
from quorum.impl.server.main import start_member, stop_member
from quorum.impl.storage.disk import OSDisk
from quorum.impl.storage.memdisk import MemoryDisk
from quorum.impl.storage.storage import DiskStorage

NAMES = ("a", "b", "c")
EVERY = 10  # --snapshot-count


def target(cfg: ServerConfig) -> str:
    return cfg.listen_client_urls[0][len("http://"):]


def configs(tmp: Path) -> list[ServerConfig]:
    ports = free_ports(6)
    peers = {n: f"http://127.0.0.1:{ports[2 * k]}" for k, n in enumerate(NAMES)}
    initial = parse_initial_cluster(",".join(f"{n}={u}" for n, u in peers.items()))
    return [ServerConfig(
        name=n, data_dir=tmp / n, listen_peer_urls=(peers[n],),
        listen_client_urls=(f"http://127.0.0.1:{ports[2 * k + 1]}",), initial_cluster=initial,
        advertise_peer_urls=(peers[n],),
        advertise_client_urls=(f"http://127.0.0.1:{ports[2 * k + 1]}",), tick_ms=20,
        peer_secret=PEER_SECRET, protocol="multipaxos", snapshot_count=EVERY)
        for k, n in enumerate(NAMES)]


async def put_all(cfg: ServerConfig, items: dict[bytes, bytes]) -> None:
    async with grpc.aio.insecure_channel(target(cfg)) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        for key, value in items.items():
            await kv.Put(rpc_pb2.PutRequest(key=key, value=value))


async def everything(cfg: ServerConfig, serializable: bool = False) -> dict[bytes, bytes]:
    """Every key of ``cfg``'s member (``serializable``: its own state, no ReadIndex)."""
    async with grpc.aio.insecure_channel(target(cfg)) as ch:
        got = await rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(
            key=b"\0", range_end=b"\0", serializable=serializable))
    return {x.key: x.value for x in got.kvs}


def on_disk(cfg: ServerConfig) -> tuple[int, list[int]]:
    """(the recovered snapshot's index, the slots of the recovered log) of a stopped member."""
    disk, state = DiskStorage.open(OSDisk(), str(cfg.data_dir), cluster_id=cfg.cluster_id,
                                   node_id=cfg.member_id)
    disk.close()
    snap = 0 if state.snapshot is None else state.snapshot.meta.index
    return snap, [e.index for e in state.entries]


async def until(what: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if what():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what.__doc__ or what}")


async def wait_leader(nodes: list[Any]) -> Any:
    for _ in range(500):
        leaders = {n.leader for n in nodes}
        lead = [n for n in nodes if leaders == {n.id}]
        if lead:
            return lead[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no agreed leader: {[(n.id, n.leader) for n in nodes]}")


def test_a_member_compacts_its_log_and_recovers_every_key_from_the_snapshot(
        tmp_path: Path) -> None:
    n = 50
    cfg = member_config(tmp_path, protocol="multipaxos", snapshot_count=EVERY)
    written = {f"k{i:02d}".encode(): f"v{i}".encode() for i in range(n)}

    async def scenario() -> None:
        async with running_member(cfg) as (node, _, _):
            await put_all(cfg, written)
            applied = node.sm.applied
            assert applied >= n  # the writes, and the member's own publish entry
            # a snapshot every EVERY entries: the core holds only the slots after its
            # newest snapshot (none are kept for catch-up: the snapshot is the prefix)
            assert node.stats["snapshots"] == applied // EVERY
            snap = node.raw.snap.meta.index
            assert snap == node.snapshot_index == applied - applied % EVERY
            assert sorted(node.raw.log) == list(range(snap + 1, node.raw.last + 1))
            assert len(node.raw.log) < EVERY
            assert node.disk.snapshot_marker[0] == snap  # durable: the WAL's marker
        # the WAL recovers the snapshot and only the slots after it, not N records
        disk_snap, slots = on_disk(cfg)
        assert disk_snap == snap and slots == list(range(snap + 1, applied + 1))
        assert len(slots) < EVERY < n
        async with running_member(cfg) as (node, _, _):
            assert node.snapshot_index == snap and node.raw.snap.meta.index == snap
            assert node.raw.applied >= snap
            assert await everything(cfg) == written
            await put_all(cfg, {b"after": b"restart"})
            assert await everything(cfg) == {**written, b"after": b"restart"}
    asyncio.run(scenario())


def test_a_stopped_member_rejoins_past_the_compacted_log_by_snapshot(tmp_path: Path) -> None:
    cfgs = configs(tmp_path)

    async def scenario() -> None:
        running = {c.name: await start_member(c) for c in cfgs}
        try:
            nodes = [r[0] for r in running.values()]
            leader = await wait_leader(nodes)
            lead_cfg = next(c for c in cfgs if c.member_id == leader.id)
            late_cfg = next(c for c in cfgs if c.member_id != leader.id)
            written = {f"early{i}".encode(): b"x" for i in range(5)}
            await put_all(lead_cfg, written)
            node, _, server = running.pop(late_cfg.name)
            await until(lambda: node.sm.applied >= leader.sm.applied)
            await stop_member(node, server)
            _, late_slots = on_disk(late_cfg)
            # the others write and compact past the stopped member's log; what they send it
            # meanwhile is lost (the transport would otherwise queue the ACCEPTs for it,
            # and the member would catch up from them: a dropped link loses them)
            survivors = [r[0] for r in running.values()]
            address = survivors[0].transport.peers()[late_cfg.member_id]
            for s in survivors:
                s.transport.remove_peer(late_cfg.member_id)
            later = {f"k{i:02d}".encode(): f"v{i}".encode() for i in range(60)}
            await put_all(lead_cfg, later)
            written.update(later)
            # put_all returns when the leader has applied; a follower may lag behind it
            await until(lambda: all(s.sm.applied >= leader.sm.applied for s in survivors))
            assert all(s.raw.snap.meta.index > late_slots[-1] for s in survivors)
            assert all(s.stats["snapshots"] >= 1 for s in survivors)
            assert all(min(s.raw.log) > late_slots[-1] + 1 for s in survivors)
            # it rejoins; the slots it lacks are compacted everywhere: it gets a snapshot
            for s in survivors:
                s.transport.set_peer(late_cfg.member_id, *address)
            running[late_cfg.name] = await start_member(late_cfg)
            back = running[late_cfg.name][0]
            assert back.stats["installs"] == 0
            await until(lambda: back.sm.applied >= leader.sm.applied)
            assert back.stats["installs"] >= 1  # a slow disk may see a second one sent
            assert back.snapshot_index >= leader.raw.snap.meta.index > late_slots[-1]
            assert await everything(late_cfg, serializable=True) == written
            assert back.sm.kv.revision == leader.sm.kv.revision  # the same history too
            # the installed snapshot is durable with the votes after it: another restart
            # recovers it (the member installs nothing more to hold every key)
            node, _, server = running.pop(late_cfg.name)
            await stop_member(node, server)
            disk_snap, slots = on_disk(late_cfg)
            # stopped between saving a snapshot and releasing the slots below it, the disk
            # holds both; the slots above the snapshot start right after it
            above = [x for x in slots if x > disk_snap]
            assert disk_snap >= back.snapshot_index and (not above or above[0] == disk_snap + 1)
            running[late_cfg.name] = await start_member(late_cfg)
            again = running[late_cfg.name][0]
            assert again.snapshot_index == disk_snap
            await until(lambda: again.sm.applied >= leader.sm.applied)
            assert again.stats["installs"] == 0
            assert await everything(late_cfg, serializable=True) == written
            await put_all(late_cfg, {b"last": b"write"})  # forwarded to the leader
            written[b"last"] = b"write"
            for c in cfgs:
                assert await everything(c) == written
        finally:
            for node, _, server in running.values():
                await stop_member(node, server)
    asyncio.run(scenario())


def test_a_snapshot_is_durable_before_the_log_below_it_is_dropped(tmp_path: Path) -> None:
    """The core compacts, and the WAL releases segments, only up to a snapshot whose file
    and marker a crash would already keep (``DiskStorage.durable``)."""
    cfg = member_config(tmp_path, protocol="multipaxos", snapshot_count=5)
    seen: list[tuple[str, int, int]] = []  # (step, index, the durable snapshot's index)
    applied: list[int] = []

    async def scenario() -> None:
        async with running_member(cfg) as (node, _, _):
            core, disk = node.core, node.disk
            compact, release = core.compact, disk.release_to

            def durable() -> int:
                snap = disk.durable().snapshot
                return 0 if snap is None else snap.meta.index

            def compacting(snap: Any, keep_entries: int, keep_bytes: int) -> int:
                seen.append(("compact", snap.meta.index, durable()))
                return int(compact(snap, keep_entries, keep_bytes))

            def releasing(index: int) -> int:
                seen.append(("release", index, durable()))
                return int(release(index))

            core.compact, disk.release_to = compacting, releasing
            await put_all(cfg, {f"k{i}".encode(): b"v" for i in range(22)})
            assert node.stats["snapshots"] == node.sm.applied // 5 >= 4
            assert node.raw.snap.meta.index == node.sm.applied - node.sm.applied % 5
            applied.append(node.sm.applied)
    asyncio.run(scenario())
    compacts = [(i, d) for step, i, d in seen if step == "compact"]
    releases = [(i, d) for step, i, d in seen if step == "release"]
    assert applied[0] >= 23  # the member's publish entry and the 22 writes
    assert [i for i, _ in compacts] == list(range(5, applied[0] + 1, 5))
    assert [i for i, _ in releases] == [i for i, _ in compacts]
    assert all(d >= i for i, d in compacts + releases)


def test_an_installed_snapshot_keeps_the_acceptors_votes_above_it_in_the_wal() -> None:
    """The Multi-Paxos adapter saves a peer's snapshot with ``save_snapshot`` (fsynced first),
    not as Raft's log-replacing snapshot: after a crash the votes above it are still there,
    and the Ready's own votes follow it."""
    disk = MemoryDisk()
    wal, _ = DiskStorage.open(disk, "/m", cluster_id=1, node_id=7)
    core = adapter("multipaxos", 7, MemoryStorage())
    votes = [Entry(3, i, data=f"v{i}".encode()) for i in range(1, 13)]
    assert core.save(wal, SimpleNamespace(hard_state=HardState(3, 1, 4), entries=votes,
                                          snapshot=None))
    snap = Snapshot(SnapshotMeta(10, 0, ConfState(voters=(1, 7, 9))), b"state at 10")
    more = [Entry(5, 13, data=b"v13")]
    syncs = disk.syncs
    assert core.save(wal, SimpleNamespace(hard_state=HardState(5, 9, 10), entries=more,
                                          snapshot=snap))
    assert disk.syncs >= syncs + 2  # the snapshot's marker, then the Ready's votes
    disk.crash(None)
    _, state = DiskStorage.open(disk, "/m", cluster_id=1, node_id=7)
    assert state.snapshot == snap
    assert state.entries == (*votes[10:], *more)  # slots 11..13: 11 and 12 kept
    assert state.hard_state == HardState(5, 9, 10)
