"""etcd's auth on a member: the state machine's auth entries (replicated, snapshotted, stale
checks refused), the member's tokens and permission rules, and a one-member cluster in the
test process driven over gRPC (enable, anonymous and read-only callers refused, root
allowed, a write whose permission is revoked while in flight refused, restart)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.cli import QUORUM
from helpers.member import config, wait_leader
from quorum.impl import kv as kvm
from quorum.impl.api import auth_pb2, rpc_pb2, rpc_pb2_grpc
from quorum.impl.kv.auth import AUTH_PREFIX, AuthError, PermType, encode_op, hash_password
from quorum.impl.raft.types import Entry, EntryType
from quorum.impl.server.alarms import ALARM_PREFIX, AlarmAction, AlarmType, encode_alarm
from quorum.impl.server.auth import Tokens, needs
from quorum.impl.server.config import ServerConfig
from quorum.impl.server.machine import CHECKED_PREFIX, StateMachine, encode_checked
from quorum.impl.server.main import start_member, stop_member
from quorum.impl.server.members import ATTR_PREFIX, Membership, pack_snapshot
from quorum.impl.server.node import Node
from quorum.impl.server.requests import Requests

R, W = PermType.READ, PermType.WRITE


# --- the state machine ---------------------------------------------------------------------
def _entry(index: int, data: bytes) -> Entry:
    return Entry(index=index, term=1, type=EntryType.NORMAL, data=data)


def _enable(sm: StateMachine, start: int = 1) -> int:
    ops = [("user_add", "root", "h"), ("user_grant", "root", "root"), ("enable",)]
    for i, (op, *args) in enumerate(ops):
        out = sm.apply(_entry(start + i, encode_op(op, *args, request_id=100 + i)))
        assert out is not None and out.auth_error is None and out.request_id == 100 + i
    return start + len(ops)


def test_auth_entries_apply_in_log_order_and_refusals_are_outcomes() -> None:
    sm = StateMachine()
    nxt = _enable(sm)
    assert sm.auth.enabled and sm.auth.revision == 3 and sm.applied == 3
    out = sm.apply(_entry(nxt, encode_op("user_add", "root", "h", request_id=9)))
    assert out is not None and out.auth_error is AuthError.USER_EXISTS and out.request_id == 9
    out = sm.apply(_entry(nxt + 1, b"QU\xc1garbage"))
    assert out is not None and out.auth_error is AuthError.MALFORMED
    assert sm.applied == nxt + 1 and sm.auth.revision == 3


def test_a_command_checked_at_an_old_auth_revision_is_refused_unrun() -> None:
    sm = StateMachine()
    put = kvm.encode(kvm.Put(b"k", b"v"), 41)
    # checked while auth was never used: unwrapped; refused once auth is enabled
    nxt = _enable(sm)
    out = sm.apply(_entry(nxt, put))
    assert out is not None and (out.request_id, out.auth_error) == (41, AuthError.OLD_REVISION)
    stale = encode_checked(42, "root", 2, kvm.encode(kvm.Put(b"k", b"v"), 42))
    out = sm.apply(_entry(nxt + 1, stale))
    assert out is not None and (out.request_id, out.auth_error) == (42, AuthError.OLD_REVISION)
    assert sm.kv.revision == 1  # nothing ran
    fresh = encode_checked(43, "root", 3, kvm.encode(kvm.Put(b"k", b"v"), 43))
    out = sm.apply(_entry(nxt + 2, fresh))
    assert out is not None and out.auth_error is None and isinstance(out.result, kvm.PutResult)
    assert out.request_id == 43 and sm.kv.revision == 2
    out = sm.apply(_entry(nxt + 3, CHECKED_PREFIX + b"\xc1"))
    assert out is not None and out.auth_error is AuthError.MALFORMED
    # with auth off again, any revision runs (the check was made with auth on or off)
    sm.apply(_entry(nxt + 4, encode_op("disable")))
    out = sm.apply(_entry(nxt + 5, encode_checked(44, "", 1, kvm.encode(kvm.Put(b"k", b"w")))))
    assert out is not None and out.auth_error is None and sm.kv.revision == 3


def test_the_auth_state_is_in_the_snapshot_and_old_snapshots_still_load() -> None:
    sm = StateMachine()
    _enable(sm)
    sm.apply(_entry(4, encode_op("role_add", "reader")))
    copy = StateMachine()
    copy.restore(sm.snapshot_data())
    assert copy.auth.dump() == sm.auth.dump() and copy.auth.enabled and copy.applied == 4
    old = StateMachine()
    old.restore(pack_snapshot(StateMachine().kv.snapshot(), Membership()))  # no auth part
    assert not old.auth.enabled and old.auth.revision == 0
    with pytest.raises(ValueError):  # an auth part that is not an auth state
        copy.restore(pack_snapshot(StateMachine().kv.snapshot(), Membership(), {"auth": [1]}))


# --- tokens and what a request needs --------------------------------------------------------
def test_tokens_expire_after_the_ttl_unused_and_are_member_local_random() -> None:
    now = [0.0]
    tokens = Tokens(ttl=10, clock=lambda: now[0])
    a, b = tokens.issue("alice", "h1"), tokens.issue("alice", "h1")
    assert a != b and a.endswith(".1") and b.endswith(".2") and len(a.split(".")[0]) == 16
    now[0] = 9
    assert tokens.user_of(a) == ("alice", "h1")  # used: its TTL starts again
    now[0] = 15
    assert tokens.user_of(a) == ("alice", "h1") and tokens.user_of(b) is None
    assert tokens.user_of("forged.1") is None


def test_what_a_txn_needs_covers_compares_and_both_branches() -> None:
    txn = kvm.Txn(compare=(kvm.Compare(b"c", kvm.CompareTarget.VALUE,
                                       kvm.CompareResult.EQUAL, b"x", b"d"),),
                  success=(kvm.Put(b"p", b"1", prev_kv=True),),
                  failure=(kvm.Txn(success=(kvm.DeleteRange(b"a", b"b"),)),
                           kvm.Range(b"r")))
    assert needs(txn) == [(R, b"c", b"d"), (W, b"p", b""), (R, b"p", b""),
                          (W, b"a", b"b"), (R, b"r", b"")]
    assert needs(kvm.Compact(5)) == []


# --- one member over gRPC ------------------------------------------------------------------
class Solo:
    """A one-member cluster in the test process, its event loop in a thread of its own, and
    a (blocking) gRPC channel to it, as a client sees it; ``node`` and ``requests`` expose
    the member's state and the calls its services make."""

    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.target = cfg.listen_client_urls[0].split("://", 1)[1]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running = False
        self.start()

    def run(self, coro: Any) -> Any:
        """Run ``coro`` in the member's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def start(self) -> None:
        async def start() -> tuple[Node, Requests, Any]:
            node, requests, server = await start_member(self.cfg)
            try:
                await wait_leader(node)
            except BaseException:
                await stop_member(node, server)
                raise
            return node, requests, server
        self.node, self.requests, self.server = self.run(start())
        self.running = True
        self.channel = grpc.insecure_channel(self.target)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.auth = rpc_pb2_grpc.AuthStub(self.channel)
        self.cluster = rpc_pb2_grpc.ClusterStub(self.channel)

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.channel.close()
            self.run(stop_member(self.node, self.server))

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()

    def token(self, name: str, password: str) -> tuple[tuple[str, str]]:
        """The metadata that authenticates a call as ``name``."""
        resp = self.auth.Authenticate(rpc_pb2.AuthenticateRequest(name=name, password=password))
        return (("token", resp.token),)


@pytest.fixture
def solo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Solo]:
    """A fresh member, auth disabled; it snapshots every 8 entries, so the auth state goes
    through snapshots.  ``parametrize("solo", [0, 2], indirect=True)``: its --frontends."""
    member = Solo(config(tmp_path, snapshot_count=8, catchup_entries=2,
                         frontends=getattr(request, "param", 0)))
    try:
        yield member
    finally:
        member.close()


@pytest.fixture
def authed(solo: Solo) -> Solo:
    """``solo`` holding app/a=1, then with root (role root), the role reader (read the
    prefix app/), alice (reader), and auth enabled: 7 auth changes."""
    solo.kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"1"))
    a = solo.auth
    a.UserAdd(rpc_pb2.AuthUserAddRequest(name="root", password="rootpw"))
    a.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user="root", role="root"))
    a.RoleAdd(rpc_pb2.AuthRoleAddRequest(name="reader"))
    a.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(name="reader", perm=READ_APP))
    a.UserAdd(rpc_pb2.AuthUserAddRequest(name="alice", password="alicepw"))
    a.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user="alice", role="reader"))
    a.AuthEnable(rpc_pb2.AuthEnableRequest())
    assert solo.node.sm.auth.enabled
    return solo


READ_APP = auth_pb2.Permission(permType=auth_pb2.Permission.READ, key=b"app/",
                               range_end=b"app0")
READWRITE_APP = auth_pb2.Permission(permType=auth_pb2.Permission.READWRITE, key=b"app/",
                                    range_end=b"app0")
DENIED = (grpc.StatusCode.PERMISSION_DENIED, "etcdserver: permission denied")
NO_USER = (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: user name is empty")
BAD_TOKEN = (grpc.StatusCode.UNAUTHENTICATED, "etcdserver: invalid auth token")


def refused(call: Any, *args: Any, **kw: Any) -> tuple[grpc.StatusCode, str]:
    """The status and message of a call that must fail."""
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kw)
    return err.value.code(), err.value.details() or ""


def test_auth_cannot_start_without_root_and_authenticate_needs_it_on(solo: Solo) -> None:
    assert refused(solo.auth.Authenticate, rpc_pb2.AuthenticateRequest(
        name="root", password="x")) == (grpc.StatusCode.FAILED_PRECONDITION,
                                        "etcdserver: authentication is not enabled")
    assert refused(solo.auth.AuthEnable, rpc_pb2.AuthEnableRequest()) == (
        grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: root user does not exist")
    assert not solo.node.sm.auth.enabled


@pytest.mark.parametrize("solo", [0, 2], indirect=True)  # served by the member; by front-ends
def test_callers_without_a_valid_identity_are_refused(authed: Solo) -> None:
    # anonymous: etcd's "user name is empty"; a forged token: "invalid auth token"
    assert refused(authed.kv.Put, rpc_pb2.PutRequest(key=b"app/a", value=b"2")) == NO_USER
    assert refused(authed.kv.Range, rpc_pb2.RangeRequest(key=b"app/a"),
                   metadata=(("token", "forged.1"),)) == BAD_TOKEN
    assert refused(authed.auth.Authenticate, rpc_pb2.AuthenticateRequest(
        name="alice", password="wrong")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "etcdserver: authentication failed, invalid user ID or password")


@pytest.mark.parametrize("solo", [0, 2], indirect=True)  # served by the member; by front-ends
def test_a_reader_reads_its_prefix_and_may_do_nothing_else(authed: Solo) -> None:
    kv, alice = authed.kv, authed.token("alice", "alicepw")
    got = kv.Range(rpc_pb2.RangeRequest(key=b"app/", range_end=b"app0"), metadata=alice)
    assert [(x.key, x.value) for x in got.kvs] == [(b"app/a", b"1")]
    got = kv.Range(rpc_pb2.RangeRequest(key=b"app/a", serializable=True), metadata=alice)
    assert got.kvs[0].value == b"1"
    for call, request in (
            (kv.Put, rpc_pb2.PutRequest(key=b"app/a", value=b"2")),
            (kv.Range, rpc_pb2.RangeRequest(key=b"app/", range_end=b"\0")),
            (kv.DeleteRange, rpc_pb2.DeleteRangeRequest(key=b"app/a")),
            (kv.Txn, rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp(
                request_put=rpc_pb2.PutRequest(key=b"app/b"))])),
            (kv.Compact, rpc_pb2.CompactionRequest(revision=1)),
            (authed.auth.UserList, rpc_pb2.AuthUserListRequest()),
            (authed.auth.AuthDisable, rpc_pb2.AuthDisableRequest()),
            (authed.cluster.MemberRemove, rpc_pb2.MemberRemoveRequest(ID=authed.node.id))):
        assert refused(call, request, metadata=alice) == DENIED, request


@pytest.mark.parametrize("solo", [0, 2], indirect=True)  # served by the member; by front-ends
def test_root_may_do_everything_and_the_auth_state_is_served(authed: Solo) -> None:
    root = authed.token("root", "rootpw")
    authed.kv.Put(rpc_pb2.PutRequest(key=b"other", value=b"r"), metadata=root)
    users = authed.auth.UserList(rpc_pb2.AuthUserListRequest(), metadata=root)
    assert list(users.users) == ["alice", "root"]
    role = authed.auth.RoleGet(rpc_pb2.AuthRoleGetRequest(role="reader"), metadata=root)
    assert [(p.permType, p.key, p.range_end) for p in role.perm] == [
        (auth_pb2.Permission.READ, b"app/", b"app0")]
    status = authed.auth.AuthStatus(rpc_pb2.AuthStatusRequest())
    assert status.enabled and status.authRevision == authed.node.sm.auth.revision == 7


def test_a_write_whose_permission_is_revoked_in_flight_never_runs(authed: Solo) -> None:
    # the member proposes alice's write checked at revision 8; the revoke commits first
    # (revision 9), the state machine refuses the stale write, the member checks it again
    root, alice = authed.token("root", "rootpw"), authed.token("alice", "alicepw")
    authed.auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
        name="reader", perm=READWRITE_APP), metadata=root)
    authed.kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"by-alice"), metadata=alice)
    node, requests = authed.node, authed.requests
    real = node.submit
    revoked: list[Any] = []

    def revoke_first(data: bytes) -> None:  # runs in the member's loop
        if data.startswith(CHECKED_PREFIX) and not revoked:
            async def later() -> None:
                await requests.auth_change("role_revoke", "reader", b"app/", b"app0")
                real(data)
            revoked.append(asyncio.ensure_future(later()))
            return
        real(data)
    node.submit = revoke_first  # type: ignore[method-assign]
    rev = node.sm.kv.revision
    try:
        assert refused(authed.kv.Put, rpc_pb2.PutRequest(key=b"app/a", value=b"late"),
                       metadata=alice) == DENIED
    finally:
        node.submit = real  # type: ignore[method-assign]
    assert revoked and node.sm.kv.revision == rev  # the stale write never ran
    assert node.sm.auth.roles["reader"] == []
    got = authed.kv.Range(rpc_pb2.RangeRequest(key=b"app/a"), metadata=root)
    assert got.kvs[0].value == b"by-alice"


@pytest.mark.parametrize("solo", [0, 2], indirect=True)  # served by the member; by front-ends
def test_a_changed_password_or_a_deleted_user_voids_its_tokens(authed: Solo) -> None:
    # a password change (here through the state machine, as if served by another member)
    # invalidates the tokens issued for the old password
    root, old = authed.token("root", "rootpw"), authed.token("alice", "alicepw")
    authed.run(authed.requests.auth_change("user_passwd", "alice", hash_password("newpw")))
    assert refused(authed.kv.Range, rpc_pb2.RangeRequest(key=b"app/a"), metadata=old
                   ) == BAD_TOKEN
    authed.token("alice", "newpw")
    authed.auth.UserChangePassword(rpc_pb2.AuthUserChangePasswordRequest(
        name="alice", password="alicepw"), metadata=root)
    alice = authed.token("alice", "alicepw")
    assert authed.kv.Range(rpc_pb2.RangeRequest(key=b"app/a"), metadata=alice).kvs
    # a deleted user's token dies with the user
    authed.auth.UserAdd(rpc_pb2.AuthUserAddRequest(name="tmp", password="t"), metadata=root)
    tmp = authed.token("tmp", "t")
    authed.auth.UserDelete(rpc_pb2.AuthUserDeleteRequest(name="tmp"), metadata=root)
    assert refused(authed.kv.Range, rpc_pb2.RangeRequest(key=b"x"), metadata=tmp) == BAD_TOKEN


def test_the_auth_state_survives_a_restart_through_snapshots(authed: Solo) -> None:
    root, alice = authed.token("root", "rootpw"), authed.token("alice", "alicepw")
    authed.auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
        name="reader", perm=READWRITE_APP), metadata=root)
    authed.kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"by-alice"), metadata=alice)
    authed.auth.RoleRevokePermission(rpc_pb2.AuthRoleRevokePermissionRequest(
        role="reader", key=b"app/", range_end=b"app0"), metadata=root)
    authed.auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
        name="reader", perm=READ_APP), metadata=root)
    assert authed.node.snapshot_index > 0  # the auth state went through a snapshot
    authed.stop()
    # users, roles, permissions and "enabled" come back from snapshot + WAL
    authed.start()
    assert authed.node.snapshot_index > 0 and authed.node.sm.auth.enabled
    alice = authed.token("alice", "alicepw")
    got = authed.kv.Range(rpc_pb2.RangeRequest(key=b"app/a"), metadata=alice)
    assert got.kvs[0].value == b"by-alice"
    assert refused(authed.kv.Put, rpc_pb2.PutRequest(key=b"app/a", value=b"3"),
                   metadata=alice) == DENIED
    assert refused(authed.kv.Put, rpc_pb2.PutRequest(key=b"app/a", value=b"3")) == NO_USER


def test_quorum_kv_authenticates_with_user(authed: Solo) -> None:
    url = authed.cfg.listen_client_urls[0]
    for argv, expected in (
            (["--user", "alice:alicepw", "get", "app/a"], (0, "app/a\n1\n", "")),
            (["--user", "alice:alicepw", "put", "app/a", "4"],
             (1, "", "quorum kv: error: etcdserver: permission denied (PERMISSION_DENIED)\n")),
            (["--user", "alice:bad", "get", "app/a"],
             (1, "", "quorum kv: error: etcdserver: authentication failed, invalid user ID or "
                     "password (INVALID_ARGUMENT)\n"))):
        p = subprocess.run([*QUORUM, "kv", "--endpoints", url, *argv], capture_output=True,
                           text=True, timeout=60)
        assert (p.returncode, p.stdout, p.stderr) == expected, argv


def test_every_kind_of_state_machine_entry_has_its_own_prefix() -> None:
    """Alarm, auth, checked and attribute entries are told apart by their first two bytes
    (a KV command is a msgpack array, so it starts with none of them): two equal prefixes
    would make one kind's entries apply as the other's on every member."""
    prefixes = [ALARM_PREFIX, AUTH_PREFIX, CHECKED_PREFIX, ATTR_PREFIX]
    assert len(set(prefixes)) == len(prefixes)
    command = kvm.encode(kvm.Put(b"k", b"v"), 1, 1, 1)
    assert not any(command.startswith(p) for p in prefixes)
    # an alarm entry is applied as an alarm, not as an auth operation
    sm = StateMachine()
    out = sm.apply(_entry(1, encode_alarm(AlarmAction.ACTIVATE, 7, AlarmType.NOSPACE, 9)))
    assert out is not None and out.auth_error is None and sm.alarms.has(AlarmType.NOSPACE)
    assert sm.auth.revision == 0
