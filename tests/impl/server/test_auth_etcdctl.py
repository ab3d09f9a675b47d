"""etcd's auth with the real etcdctl (3.4) against a 3-process quorum cluster: users, roles,
prefix permissions, `auth enable`, anonymous and read-only callers refused, root allowed;
the auth state replicated to every member, carried to a lagging member by a snapshot,
and kept across a restart; passwd, revoke-permission, revoke-role, deletes; `auth disable`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from helpers.cluster import FLAGS, Cluster, Member, etcdctl
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc

pytestmark = pytest.mark.slow

ROOT = ["--user", "root:rootpw"]
ALICE = ["--user", "alice:alicepw"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert shutil.which("etcdctl"), "etcdctl missing: apt-get install etcd-client (see .ci/run)"
    c = Cluster(Path(tmp_path_factory.mktemp("auth")), 3, extra=FLAGS)
    c.start()
    try:
        c.wait_leader()
        yield c
    finally:
        c.stop()


def _fails(endpoint: str, *args: str) -> str:
    r = etcdctl(endpoint, *args, check=False)
    assert r.returncode != 0, f"etcdctl {args} succeeded: {r.stdout}"
    return r.stderr


def _root_puts(member: Member, n: int) -> None:
    """``n`` writes as root through the gRPC API (many writes: the leader snapshots)."""
    with grpc.insecure_channel(member.target) as ch:
        token = rpc_pb2_grpc.AuthStub(ch).Authenticate(
            rpc_pb2.AuthenticateRequest(name="root", password="rootpw"), timeout=5).token
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(n):
            kv.Put(rpc_pb2.PutRequest(key=b"bulk/%04d" % i, value=b"x"), timeout=5,
                   metadata=(("token", token),))


def test_auth_with_etcdctl_across_members_snapshot_and_restart(cluster: Cluster) -> None:
    a, b, c = cluster.members
    ea, eb, ec = a.client_url, b.client_url, c.client_url
    setup = [("user", "add", "root:rootpw"), ("user", "grant-role", "root", "root"),
             ("role", "add", "reader"),
             ("role", "grant-permission", "reader", "read", "--prefix", "app/"),
             ("user", "add", "alice:alicepw"), ("user", "grant-role", "alice", "reader"),
             ("put", "app/a", "1"), ("put", "secret", "s")]
    for args in setup:
        etcdctl(ea, *args)
    assert etcdctl(ea, "auth", "enable").stdout == "Authentication Enabled\n"

    # anonymous callers are refused everywhere; so is a wrong password
    assert "etcdserver: user name is empty" in _fails(eb, "put", "app/a", "2")
    assert "etcdserver: user name is empty" in _fails(ec, "get", "secret")
    assert "etcdserver: authentication failed, invalid user ID or password" in _fails(
        eb, "--user", "alice:nope", "get", "app/a")

    # alice reads the app/ prefix through any member, writes nothing, reads nothing else
    for ep in (ea, eb, ec):
        assert etcdctl(ep, *ALICE, "get", "app/", "--prefix").stdout == "app/a\n1\n"
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "put", "app/a", "2")
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "get", "secret")
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "del", "app/a")
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "user", "list")
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "get", "", "--from-key")

    # root does everything
    assert etcdctl(ec, *ROOT, "put", "secret", "t").stdout == "OK\n"
    assert etcdctl(eb, *ROOT, "get", "secret").stdout == "secret\nt\n"
    assert etcdctl(eb, *ROOT, "user", "list").stdout.split() == ["alice", "root"]
    assert etcdctl(ec, *ROOT, "role", "list").stdout.split() == ["reader"]
    assert etcdctl(ec, *ROOT, "user", "get", "alice").stdout == "User: alice\nRoles: reader\n"
    assert etcdctl(eb, *ROOT, "role", "get", "reader").stdout == (
        "Role reader\nKV Read:\n\t[app/, app0) (prefix app/)\nKV Write:\n")
    assert "etcdserver: user name already exists" in _fails(ea, *ROOT, "user", "add", "alice:x")
    assert "etcdserver: role name not found" in _fails(
        ea, *ROOT, "user", "grant-role", "alice", "nosuch")

    # c misses a permission change and many writes; the leader compacts its log, so c
    # catches up from a snapshot that carries the auth state
    c.stop()
    etcdctl(ea, *ROOT, "role", "grant-permission", "reader", "readwrite", "app/w")
    leader = cluster.wait_leader([a, b])
    _root_puts(leader, 320)
    assert "snapshot at index" in leader.log_text()
    c.start(cluster.initial_cluster())
    cluster.wait_leader()
    cluster.wait_applied(c, leader.status().raftAppliedIndex)
    assert "installed the leader's snapshot" in c.log_text()
    assert etcdctl(ec, *ALICE, "put", "app/w", "by-alice").stdout == "OK\n"
    assert "etcdserver: permission denied" in _fails(ec, *ALICE, "put", "app/x", "no")

    # a restart of every member keeps users, roles and "enabled" (snapshot + WAL)
    cluster.stop()
    cluster.start()
    cluster.wait_leader()
    assert "etcdserver: user name is empty" in _fails(ea, "put", "app/a", "2")
    assert etcdctl(ea, *ALICE, "get", "app/w", "--print-value-only").stdout == "by-alice\n"
    assert "etcdserver: permission denied" in _fails(eb, *ALICE, "put", "app/a", "3")

    # the rest of etcdctl's user and role commands
    etcdctl(ea, *ROOT, "user", "add", "bob:bobpw")
    etcdctl(ea, *ROOT, "user", "grant-role", "bob", "reader")
    assert etcdctl(eb, "--user", "bob:bobpw", "get", "app/a", "--print-value-only").stdout == (
        "1\n")
    etcdctl(eb, *ROOT, "user", "passwd", "bob", "--interactive=false", stdin="bobpw2\n")
    assert "authentication failed" in _fails(ec, "--user", "bob:bobpw", "get", "app/a")
    assert etcdctl(ec, "--user", "bob:bobpw2", "get", "app/a").stdout == "app/a\n1\n"
    etcdctl(ec, *ROOT, "role", "revoke-permission", "reader", "--prefix", "app/")
    assert "etcdserver: permission denied" in _fails(ea, "--user", "bob:bobpw2", "get", "app/a")
    assert etcdctl(ea, *ROOT, "role", "get", "reader").stdout.split() == [
        "Role", "reader", "KV", "Read:", "app/w", "KV", "Write:", "app/w"]
    etcdctl(ea, *ROOT, "user", "revoke-role", "bob", "reader")
    assert etcdctl(eb, *ROOT, "user", "get", "bob").stdout.split() == ["User:", "bob", "Roles:"]
    assert "etcdserver: role is not granted to the user" in _fails(
        eb, *ROOT, "user", "revoke-role", "bob", "reader")
    etcdctl(eb, *ROOT, "role", "delete", "reader")
    assert etcdctl(ec, *ROOT, "user", "get", "alice").stdout.split() == [
        "User:", "alice", "Roles:"]
    etcdctl(ec, *ROOT, "user", "delete", "bob")
    assert etcdctl(ea, *ROOT, "user", "list").stdout.split() == ["alice", "root"]
    assert "etcdserver: invalid auth management" in _fails(ea, *ROOT, "user", "delete", "root")

    # disable: anonymous callers are served again
    assert etcdctl(eb, *ROOT, "auth", "disable").stdout == "Authentication Disabled\n"
    assert etcdctl(ec, "put", "app/a", "open").stdout == "OK\n"
    assert etcdctl(ea, "get", "app/a", "--print-value-only").stdout == "open\n"
