"""A real 3-process cluster on loopback survives kill -9 of its leader (Raft paper section
5.2 elections, 5.4 safety; section 7 snapshots): a new leader is elected within a few
election timeouts, writes continue, the old leader restarts and catches up through a
snapshot (it is behind the compaction point), and every acknowledged write is on every
member."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.server.harness import Cluster

pytestmark = pytest.mark.slow

ELECTION_S = 0.5
FLAGS = ["--heartbeat-interval", "50", "--election-timeout", str(int(ELECTION_S * 1000)),
         "--snapshot-count", "100", "--snapshot-catchup-entries", "20"]


class Writers:
    """Threads writing unique keys through the live members, recording every outcome."""

    def __init__(self, cluster: Cluster, threads: int = 3) -> None:
        self.cluster = cluster
        self.acked: dict[bytes, bytes] = {}
        self.failed: dict[bytes, bytes] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, w: int) -> None:
        seq = 0
        while not self.stop.is_set():
            live = self.cluster.live()
            member = live[seq % len(live)]
            key, value = b"w/%d/%06d" % (w, seq), b"value-%d-%d" % (w, seq)
            seq += 1
            try:
                member.put(key, value, timeout=3)
                with self.lock:
                    self.acked[key] = value
            except grpc.RpcError:
                with self.lock:
                    self.failed[key] = value
                time.sleep(0.05)

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < deadline, f"only {self.count()} of {n} writes acked"
            time.sleep(0.05)


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
        assert elected_after < 6 * ELECTION_S, f"new leader after {elected_after:.2f}s"
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
