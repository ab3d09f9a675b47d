"""Membership change through etcdctl (Raft thesis chapter 4, single-server changes): a
fourth member is added to a running cluster, catches up and counts in quorums; another is
removed while down, and once restarted it learns of its removal from a peer and stops;
writes continue throughout."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from helpers.cluster import FLAGS, Cluster, Member, Writers, etcdctl

pytestmark = pytest.mark.slow


def test_member_add_start_fourth_then_remove_another(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 3, extra=FLAGS)
    cluster.start()
    n4 = Member("n4", cluster.spare_ports[0], cluster.spare_ports[1], tmp_path / "n4",
                tmp_path / "n4.log", extra=FLAGS, secret_file=cluster.secret_file)
    try:
        leader = cluster.wait_leader()
        with Writers(cluster) as writers:
            writers.wait_for(20)
            out = etcdctl(cluster.endpoints(), "member", "add", "n4",
                          f"--peer-urls={n4.peer_url}").stdout
            assert 'ETCD_INITIAL_CLUSTER_STATE="existing"' in out
            initial = re.search(r'ETCD_INITIAL_CLUSTER="([^"]+)"', out)
            assert initial is not None and f"n4={n4.peer_url}" in initial.group(1)
            n4.start(initial.group(1), state="existing")
            cluster.members.append(n4)
            cluster.wait_applied(n4, leader.status().raftAppliedIndex, timeout=60)
            deadline = time.monotonic() + 20  # n4 publishes its name and client URL
            while True:
                rows = etcdctl(cluster.endpoints(), "member", "list").stdout.splitlines()
                if any(f", n4, {n4.peer_url}, {n4.client_url}, " in r for r in rows):
                    break
                assert time.monotonic() < deadline, f"n4 never published itself: {rows}"
                time.sleep(0.2)
            assert len(rows) == 4
            # with 4 voters a quorum is 3: kill one of the first three; writes need n4 now
            victim = next(m for m in cluster.members[:3] if m is not leader)
            victim_id = victim.status().header.member_id
            victim.kill9()
            before = writers.count()
            writers.wait_for(before + 30)
            etcdctl(cluster.endpoints(cluster.live()), "member", "remove", f"{victim_id:x}")
            rows = etcdctl(cluster.endpoints(cluster.live()), "member", "list").stdout
            assert f"{victim_id:x}" not in rows and len(rows.splitlines()) == 3
            writers.wait_for(writers.count() + 30)
        final = cluster.wait_leader()
        target = final.status().raftAppliedIndex
        for m in cluster.live():
            cluster.wait_applied(m, target)
            stored = m.get_local(b"w/", prefix=True)
            missing = [k for k, v in writers.acked.items() if stored.get(k) != v]
            assert not missing, f"{m.name} lacks {len(missing)} acknowledged writes"
        # the removed member was down when it was removed: restarted, it learns of its
        # removal from a peer and stops, rather than campaign leaderless forever
        victim.start(cluster.initial_cluster())
        assert victim.proc is not None
        assert victim.proc.wait(timeout=60) == 0
        assert "says this member was removed from the cluster; stopping" in victim.log_text()
        assert f"member {victim_id:x} was removed from the cluster; told it so" in (
            "".join(m.log_text() for m in cluster.live()))
    finally:
        cluster.stop()
        n4.stop()
