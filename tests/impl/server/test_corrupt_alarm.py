"""The issue's attack, on real processes: with --insecure-peers (logged loudly) a local
process poses as the leader and slips one forged entry of the leader's own term into a
member's log.  Raft cannot see it (same index, same term as the leader's next entry), but
the corruption check does: the member's key-space hash differs from the majority's, and
the CORRUPT alarm shows in the real `etcdctl alarm list`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from helpers.cluster import FLAGS, Cluster, etcdctl
from quorum.impl import kv as kvm
from quorum.impl.net import Identity
from quorum.impl.net.handshake import dial
from quorum.impl.raft import codec
from quorum.impl.raft.types import Entry, Message, MessageType
from quorum.impl.server.config import DEFAULT_TOKEN, cluster_id_of

pytestmark = pytest.mark.slow


async def forge(port: int, victim: int, leader: int, term: int, last: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    channel = await dial(reader, writer, Identity(cluster_id_of(DEFAULT_TOKEN), leader), victim)
    data = kvm.encode(kvm.Put(b"forged", b"by-an-impostor"))
    msg = Message(MessageType.APPEND, to=victim, frm=leader, term=term, index=last,
                  log_term=term, entries=(Entry(term=term, index=last + 1, data=data),),
                  commit=last + 1)
    writer.write(channel.seal(codec.encode_message(msg)))
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()


def test_forged_entry_raises_the_corrupt_alarm(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 3, extra=[*FLAGS, "--insecure-peers",
                                          "--corrupt-check-time", "1"], secret=None)
    cluster.start()
    try:
        leader = cluster.wait_leader()
        leader.put(b"k", b"v")
        victim = next(m for m in cluster.members if m is not leader)
        st = leader.status()
        for m in cluster.members:
            cluster.wait_applied(m, st.raftAppliedIndex)
        vs = victim.status()
        assert vs.raftIndex == st.raftIndex  # idle: the victim's log ends where the leader's does
        asyncio.run(forge(victim.peer_port, vs.header.member_id, st.leader, st.raftTerm,
                          vs.raftIndex))
        deadline = time.monotonic() + 10  # the victim persists and applies it meanwhile
        while not victim.get_local(b"forged") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert victim.get_local(b"forged") == {b"forged": b"by-an-impostor"}
        leader.put(b"k", b"v2")  # the leader's own entry at the same index and term
        deadline = time.monotonic() + 20
        while True:
            out = etcdctl(cluster.endpoints([leader]), "alarm", "list").stdout
            if "CORRUPT" in out:
                break
            assert time.monotonic() < deadline, "no CORRUPT alarm"
            time.sleep(0.3)
        assert out.strip() == f"memberID:{vs.header.member_id} alarm:CORRUPT"
        assert "INSECURE: --insecure-peers" in leader.log_text()
        # the member whose check saw the odd hash says which member it was: the leader's
        # periodic check, or a member's initial check run late (the victim's own, even),
        # whichever ran first at an index where all three had a hash
        said = f"CORRUPT: member {vs.header.member_id:x} has a different key space hash"
        assert any(said in m.log_text() for m in cluster.members)
    finally:
        cluster.stop()
