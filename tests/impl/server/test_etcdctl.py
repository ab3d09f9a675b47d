"""Debian's etcdctl (etcd 3.4's client) against a 3-process quorum cluster: put, get (both
consistencies), del, txn, member list and endpoint status behave as against etcd."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.cluster import Cluster, etcdctl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[0, 2], ids=["frontends0", "frontends2"])
def cluster(tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """Three members serving gRPC themselves, then three with two front-ends each."""
    assert shutil.which("etcdctl"), "etcdctl missing: apt-get install etcd-client (see .ci/run)"
    c = Cluster(Path(tmp_path_factory.mktemp("etcdctl")), 3,
                extra=["--frontends", str(request.param)])
    c.start()
    try:
        c.wait_leader()
        yield c
    finally:
        c.stop()


def test_put_get_del_through_any_member(cluster: Cluster) -> None:
    a, b, c = cluster.members
    assert etcdctl(a.client_url, "put", "foo", "bar").stdout == "OK\n"
    assert etcdctl(b.client_url, "get", "foo").stdout == "foo\nbar\n"
    # serializable read from the third member: local state, which has caught up by now
    cluster.wait_applied(c, a.status().raftAppliedIndex)
    assert etcdctl(c.client_url, "get", "foo", "--consistency=s").stdout == "foo\nbar\n"
    out = json.loads(etcdctl(c.client_url, "get", "foo", "-w", "json").stdout)
    kv = out["kvs"][0]
    assert (kv["version"], kv["create_revision"] == kv["mod_revision"]) == (1, True)
    assert etcdctl(c.client_url, "del", "foo").stdout == "1\n"
    assert etcdctl(a.client_url, "get", "foo").stdout == ""


def test_prefix_and_prev_kv(cluster: Cluster) -> None:
    ep = cluster.endpoints()
    for k in ("p/1", "p/2", "q/1"):
        etcdctl(ep, "put", k, "v-" + k)
    assert etcdctl(ep, "get", "p/", "--prefix", "--keys-only").stdout.split() == ["p/1", "p/2"]
    assert etcdctl(ep, "put", "p/1", "new", "--prev-kv").stdout == "OK\np/1\nv-p/1\n"


def test_txn_compare_value_and_mod_revision(cluster: Cluster) -> None:
    ep = cluster.endpoints()
    etcdctl(ep, "put", "t", "one")
    txn = 'value("t") = "one"\n\nput t two\n\nput t failed\n\n'
    assert etcdctl(ep, "txn", stdin=txn).stdout.startswith("SUCCESS")
    assert etcdctl(ep, "txn", stdin=txn).stdout.startswith("FAILURE")
    assert etcdctl(ep, "get", "t", "--print-value-only").stdout == "failed\n"
    rev = json.loads(etcdctl(ep, "get", "t", "-w", "json").stdout)["kvs"][0]["mod_revision"]
    txn2 = f'mod("t") = "{rev}"\n\nget t\n\n\n'
    assert etcdctl(ep, "txn", stdin=txn2).stdout == "SUCCESS\n\nt\nfailed\n"


def test_member_list_and_endpoint_status(cluster: Cluster) -> None:
    rows = etcdctl(cluster.endpoints(), "member", "list").stdout.splitlines()
    assert sorted(r.split(", ")[2] for r in rows) == ["n1", "n2", "n3"]
    for r in rows:
        _, state, name, peer, client, learner = r.split(", ")
        m = next(m for m in cluster.members if m.name == name)
        assert (state, peer, client, learner) == ("started", m.peer_url, m.client_url, "false")
    status = json.loads(etcdctl(cluster.endpoints(), "endpoint", "status", "-w", "json").stdout)
    leaders = {s["Status"]["leader"] for s in status}
    terms = {s["Status"]["raftTerm"] for s in status}
    assert len(status) == 3 and len(leaders) == 1 and len(terms) == 1 and 0 not in terms
    (leader,) = leaders
    assert leader in {s["Status"]["header"]["member_id"] for s in status}
    assert all(s["Status"]["raftIndex"] >= s["Status"]["raftAppliedIndex"] > 0 for s in status)


def test_errors_carry_etcds_codes(cluster: Cluster) -> None:
    r = etcdctl(cluster.members[0].client_url, "get", "foo", "--rev", "100000", check=False)
    assert r.returncode != 0 and "required revision is a future revision" in r.stderr
