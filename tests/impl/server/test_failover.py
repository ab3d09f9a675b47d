"""A real 3-process cluster on loopback survives kill -9 of its leader (Raft paper section
5.2 elections, 5.4 safety; section 7 snapshots): a new leader is elected within a few
election timeouts, writes continue, the old leader restarts and catches up through a
snapshot (it is behind the compaction point), and every acknowledged write is on every
member."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cluster import ELECTION_S, FLAGS, Cluster, Writers

pytestmark = pytest.mark.slow

@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, 3, extra=FLAGS)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def test_kill_leader_elect_continue_catch_up_via_snapshot(cluster: Cluster) -> None:
    old = cluster.wait_leader()
    for m in cluster.members:  # writes through any member
        m.put(b"through-" + m.name.encode(), b"ok")
    with Writers(cluster) as writers:
        writers.wait_for(50)
        old.kill9()
        killed_at, before = time.monotonic(), writers.count()
        survivors = cluster.live()
        new = cluster.wait_leader(survivors, timeout=30)
        elected_after = time.monotonic() - killed_at
        assert new is not old
        # measured 0.65-1.03 s here, also with six busy processes on the two cores; the
        # bound leaves room for a loaded CI machine and still fails a member that does not
        # time out within a dozen election timeouts
        assert elected_after < 12 * ELECTION_S, f"new leader after {elected_after:.2f}s"
        # writes continue, far past the compaction point the old leader last saw
        writers.wait_for(before + 300)
        old.start(cluster.initial_cluster())
        cluster.wait_applied(old, new.status().raftAppliedIndex, timeout=60)
        writers.wait_for(writers.count() + 30)  # and it takes part again
    assert "installed the leader's snapshot" in old.log_text()
    final = cluster.wait_leader()
    target = final.status().raftAppliedIndex
    for m in cluster.members:
        cluster.wait_applied(m, target)
    acked, failed = writers.acked, writers.failed
    for m in cluster.members:
        stored = m.get_local(b"w/", prefix=True)
        missing = [k for k in acked if stored.get(k) != acked[k]]
        assert not missing, f"{m.name} lacks {len(missing)} acknowledged writes: {missing[:3]}"
        # a write that was not acknowledged may or may not have happened, but nothing else
        assert all(stored[k] == failed[k] for k in failed if k in stored)
        assert set(stored) <= set(acked) | set(failed)
        assert m.get_local(b"through-n1") == {b"through-n1": b"ok"}
    assert len(acked) >= 380



def test_restarted_follower_forwards_writes_without_an_election(cluster: Cluster) -> None:
    leader = cluster.wait_leader()
    follower = next(m for m in cluster.members if m is not leader)
    term = leader.status().raftTerm
    follower.stop()  # SIGTERM; the other two keep the leader and the term
    follower.start(cluster.initial_cluster())
    assert cluster.wait_leader() is leader
    for i in range(5):  # forwarded by the restarted member, which recovered its term
        follower.put(b"after-restart-%d" % i, b"v", timeout=5)
    assert leader.status().raftTerm == term
    assert leader.get_local(b"after-restart-", prefix=True) == {
        b"after-restart-%d" % i: b"v" for i in range(5)}
