"""etcd's auth on a member: the state machine's auth entries (replicated, snapshotted, stale
checks refused), the member's tokens and permission rules, and a one-member cluster in the
test process driven over gRPC (enable, anonymous and read-only callers refused, root
allowed, a write whose permission is revoked while in flight refused, restart)."""

from __future__ import annotations

import asyncio
import subprocess
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
from quorum.impl.server.machine import CHECKED_PREFIX, StateMachine, encode_checked
from quorum.impl.server.main import start_member, stop_member
from quorum.impl.server.members import ATTR_PREFIX, Membership, pack_snapshot

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
async def _call(coro: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await coro
    return err.value.code(), err.value.details() or ""


DENIED = (grpc.StatusCode.PERMISSION_DENIED, "etcdserver: permission denied")


async def _setup(ch: Any) -> None:
    """root (root role), role reader = read app/ prefix, alice = reader, enable."""
    a = rpc_pb2_grpc.AuthStub(ch)
    await a.UserAdd(rpc_pb2.AuthUserAddRequest(name="root", password="rootpw"))
    await a.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user="root", role="root"))
    await a.RoleAdd(rpc_pb2.AuthRoleAddRequest(name="reader"))
    await a.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
        name="reader", perm=auth_pb2.Permission(permType=auth_pb2.Permission.READ,
                                                key=b"app/", range_end=b"app0")))
    await a.UserAdd(rpc_pb2.AuthUserAddRequest(name="alice", password="alicepw"))
    await a.UserGrantRole(rpc_pb2.AuthUserGrantRoleRequest(user="alice", role="reader"))
    await a.AuthEnable(rpc_pb2.AuthEnableRequest())


async def _token(ch: Any, name: str, password: str) -> tuple[tuple[str, str]]:
    resp = await rpc_pb2_grpc.AuthStub(ch).Authenticate(
        rpc_pb2.AuthenticateRequest(name=name, password=password))
    return (("token", resp.token),)


def test_auth_end_to_end_on_one_member(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, snapshot_count=8, catchup_entries=2)
        node, requests, server = await start_member(cfg)
        target = cfg.listen_client_urls[0][7:]
        try:
            await wait_leader(node)
            async with grpc.aio.insecure_channel(target) as ch:
                kv, auth = rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.AuthStub(ch)
                assert await _call(auth.Authenticate(rpc_pb2.AuthenticateRequest(
                    name="root", password="x"))) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                     "etcdserver: authentication is not enabled")
                assert await _call(auth.AuthEnable(rpc_pb2.AuthEnableRequest())) == (
                    grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: root user does not exist")
                await kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"1"))
                await _setup(ch)
                assert node.sm.auth.enabled
                # anonymous: etcd's "user name is empty"; a forged token: "invalid auth token"
                assert await _call(kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"2"))) == (
                    grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: user name is empty")
                assert await _call(kv.Range(rpc_pb2.RangeRequest(key=b"app/a"),
                                            metadata=(("token", "forged.1"),))) == (
                    grpc.StatusCode.UNAUTHENTICATED, "etcdserver: invalid auth token")
                assert await _call(auth.Authenticate(rpc_pb2.AuthenticateRequest(
                    name="alice", password="wrong"))) == (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "etcdserver: authentication failed, invalid user ID or password")
                alice = await _token(ch, "alice", "alicepw")
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"app/", range_end=b"app0"),
                                     metadata=alice)
                assert [(x.key, x.value) for x in got.kvs] == [(b"app/a", b"1")]
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"app/a", serializable=True),
                                     metadata=alice)
                assert got.kvs[0].value == b"1"
                for denied in (
                        kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"2"), metadata=alice),
                        kv.Range(rpc_pb2.RangeRequest(key=b"app/", range_end=b"\0"),
                                 metadata=alice),
                        kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=b"app/a"),
                                       metadata=alice),
                        kv.Txn(rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp(
                            request_put=rpc_pb2.PutRequest(key=b"app/b"))]), metadata=alice),
                        kv.Compact(rpc_pb2.CompactionRequest(revision=1), metadata=alice),
                        auth.UserList(rpc_pb2.AuthUserListRequest(), metadata=alice),
                        auth.AuthDisable(rpc_pb2.AuthDisableRequest(), metadata=alice),
                        rpc_pb2_grpc.ClusterStub(ch).MemberRemove(
                            rpc_pb2.MemberRemoveRequest(ID=node.id), metadata=alice)):
                    assert await _call(denied) == DENIED
                root = await _token(ch, "root", "rootpw")
                await kv.Put(rpc_pb2.PutRequest(key=b"other", value=b"r"), metadata=root)
                users = await auth.UserList(rpc_pb2.AuthUserListRequest(), metadata=root)
                assert list(users.users) == ["alice", "root"]
                role = await auth.RoleGet(rpc_pb2.AuthRoleGetRequest(role="reader"),
                                          metadata=root)
                assert [(p.permType, p.key, p.range_end) for p in role.perm] == [
                    (auth_pb2.Permission.READ, b"app/", b"app0")]
                status = await auth.AuthStatus(rpc_pb2.AuthStatusRequest())
                assert status.enabled and status.authRevision == node.sm.auth.revision == 7

                # a write whose permission is revoked while it is in flight: the member
                # proposes it checked at revision 8, the revoke commits first (revision 9),
                # the state machine refuses the stale write, the member checks it again
                await auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
                    name="reader", perm=auth_pb2.Permission(
                        permType=auth_pb2.Permission.READWRITE, key=b"app/",
                        range_end=b"app0")), metadata=root)
                await kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"by-alice"),
                             metadata=alice)
                real = node.submit
                revoked: list[Any] = []

                def revoke_first(data: bytes) -> None:
                    if data.startswith(CHECKED_PREFIX) and not revoked:
                        async def later() -> None:
                            await requests.auth_change("role_revoke", "reader", b"app/",
                                                       b"app0")
                            real(data)
                        revoked.append(asyncio.ensure_future(later()))
                        return
                    real(data)
                node.submit = revoke_first
                rev = node.sm.kv.revision
                assert await _call(kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"late"),
                                          metadata=alice)) == DENIED
                node.submit = real
                assert revoked and node.sm.kv.revision == rev  # the stale write never ran
                assert node.sm.auth.roles["reader"] == []

                # a password change (here through the state machine, as if served by another
                # member) invalidates the tokens issued for the old password
                old = await _token(ch, "alice", "alicepw")
                await requests.auth_change("user_passwd", "alice", hash_password("newpw"))
                assert await _call(kv.Range(rpc_pb2.RangeRequest(key=b"app/a"), metadata=old)
                                   ) == (grpc.StatusCode.UNAUTHENTICATED,
                                         "etcdserver: invalid auth token")
                await auth.UserChangePassword(rpc_pb2.AuthUserChangePasswordRequest(
                    name="alice", password="alicepw"), metadata=root)
                alice = await _token(ch, "alice", "alicepw")

                # back to a read-only reader; a deleted user's token dies with the user
                await auth.RoleGrantPermission(rpc_pb2.AuthRoleGrantPermissionRequest(
                    name="reader", perm=auth_pb2.Permission(
                        permType=auth_pb2.Permission.READ, key=b"app/", range_end=b"app0")),
                    metadata=root)
                await auth.UserAdd(rpc_pb2.AuthUserAddRequest(name="tmp", password="t"),
                                   metadata=root)
                tmp = await _token(ch, "tmp", "t")
                await auth.UserDelete(rpc_pb2.AuthUserDeleteRequest(name="tmp"), metadata=root)
                assert (await _call(kv.Range(rpc_pb2.RangeRequest(key=b"x"), metadata=tmp))
                        )[0] == grpc.StatusCode.UNAUTHENTICATED
                assert node.snapshot_index > 0  # the auth state went through snapshots
        finally:
            await stop_member(node, server)

        # restart: users, roles, permissions and "enabled" come back from snapshot + WAL
        node, _, server = await start_member(cfg)
        try:
            await wait_leader(node)
            assert node.snapshot_index > 0 and node.sm.auth.enabled
            async with grpc.aio.insecure_channel(target) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                alice = await _token(ch, "alice", "alicepw")
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"app/a"), metadata=alice)
                assert got.kvs[0].value == b"by-alice"
                assert await _call(kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"3"),
                                          metadata=alice)) == DENIED
                assert await _call(kv.Put(rpc_pb2.PutRequest(key=b"app/a", value=b"3"))) == (
                    grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: user name is empty")
            # quorum kv --user, as a user runs it (a child process: the loop keeps serving)
            url = cfg.listen_client_urls[0]
            for argv, expected in (
                    (["--user", "alice:alicepw", "get", "app/a"], (0, b"app/a\nby-alice\n", b"")),
                    (["--user", "alice:alicepw", "put", "app/a", "4"],
                     (1, b"", b"quorum kv: error: etcdserver: permission denied "
                              b"(PERMISSION_DENIED)\n")),
                    (["--user", "alice:bad", "get", "app/a"],
                     (1, b"", b"quorum kv: error: etcdserver: authentication failed, invalid "
                              b"user ID or password (INVALID_ARGUMENT)\n"))):
                proc = await asyncio.create_subprocess_exec(
                    *QUORUM, "kv", "--endpoints", url, *argv, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
                out, err = await proc.communicate()
                assert (proc.returncode, out, err) == expected, argv
        finally:
            await stop_member(node, server)
    asyncio.run(scenario())


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
