"""Client authentication on a member: tokens, permission checks, and etcd's Auth service.

The replicated part (users, roles, permissions, enabled or not) is
:class:`quorum.impl.kv.auth.AuthState`, changed only through the log.  This module is the
member-local part:

* :class:`Tokens`: etcd's "simple" tokens.  ``Authenticate`` checks the password on this
  member and returns a random token (16 random characters, a dot, a counter) that only
  this member knows; it expires after ``TOKEN_TTL`` seconds unused (etcd's
  ``--auth-token-ttl`` default, 300 s), on restart, and when its user's password changes
  or the user is deleted.  Clients send it as the ``token``
  gRPC metadata; etcd's clients authenticate again when told the token is invalid.
* :class:`Guard`: who is calling (the token's user, else the client certificate's common
  name under ``--client-cert-auth``, as etcd does) and whether they may run a request.
  Reads are checked after the ReadIndex barrier against the applied state; writes are
  checked before proposing and carry ``(user, auth revision)``, so a write whose
  permissions changed meanwhile is refused at apply time and checked again here (etcd's
  ``ErrAuthOldRevision`` loop).
* :class:`AuthService`: the gRPC ``Auth`` service.  Every call but ``Authenticate`` and
  ``AuthStatus`` needs the ``root`` role once auth is enabled.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import time
from typing import TYPE_CHECKING, Any

import grpc

from quorum.impl import kv
from quorum.impl.api import auth_pb2, rpc_pb2, rpc_pb2_grpc
from quorum.impl.kv.auth import AuthError, AuthState, PermType, check_password, hash_password
from quorum.impl.server import errors
from quorum.impl.server.errors import AuthRefused, ServerError

if TYPE_CHECKING:
    from quorum.impl.server.requests import Requests

__all__ = ["TOKEN_TTL", "AuthService", "Guard", "Tokens", "needs"]

TOKEN_TTL = 300.0  # seconds; etcd's --auth-token-ttl default
OLD_REVISION_RETRIES = 5  # a write refused for an old auth revision is re-checked this often
_ALPHABET = string.ascii_letters


class Tokens:
    """Simple tokens: token -> (user, password hash when issued, expiry), member-local, in
    memory.  The hash binds a token to the password it was issued for: once the user's
    password changes, or the user is deleted (and perhaps added again), through any member,
    the token no longer matches the replicated state and is refused."""

    def __init__(self, ttl: float = TOKEN_TTL, clock: Any = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._tokens: dict[str, tuple[str, str, float]] = {}
        self._counter = 0

    def issue(self, user: str, password_hash: str = "") -> str:
        self._counter += 1
        token = "".join(secrets.choice(_ALPHABET) for _ in range(16)) + f".{self._counter}"
        self._tokens[token] = (user, password_hash, self.clock() + self.ttl)
        self._expire()
        return token

    def user_of(self, token: str) -> tuple[str, str] | None:
        """(user, password hash at issue) of the token (its TTL starts again), or None if
        unknown or expired."""
        entry = self._tokens.get(token)
        now = self.clock()
        if entry is None or entry[2] <= now:
            self._tokens.pop(token, None)
            return None
        self._tokens[token] = (entry[0], entry[1], now + self.ttl)
        return entry[0], entry[1]

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, (_, _, exp) in self._tokens.items() if exp <= now]:
            del self._tokens[token]


def needs(command: kv.Command) -> list[tuple[PermType, bytes, bytes]]:
    """The (permission, key, range_end) a user needs to run ``command`` (etcd's rules: a
    range reads, put and delete write (and read with ``prev_kv``), a txn needs what its
    compares read and what both of its branches do).  Compact is not a key permission."""
    if isinstance(command, kv.Range):
        return [(PermType.READ, command.key, command.range_end)]
    if isinstance(command, kv.Put):
        out = [(PermType.WRITE, command.key, b"")]
        return out + [(PermType.READ, command.key, b"")] if command.prev_kv else out
    if isinstance(command, kv.DeleteRange):
        out = [(PermType.WRITE, command.key, command.range_end)]
        return out + [(PermType.READ, command.key, command.range_end)] if command.prev_kv else out
    if isinstance(command, kv.Txn):
        out = [(PermType.READ, c.key, c.range_end) for c in command.compare]
        for op in (*command.success, *command.failure):
            out += needs(op)
        return out
    return []


class Guard:
    """Who calls, and may they; see the module docstring."""

    def __init__(self, requests: Requests) -> None:
        self.r = requests
        self.node = requests.node
        self.tokens = Tokens()

    @property
    def state(self) -> AuthState:
        return self.node.sm.auth

    def user(self, context: Any) -> str | None:
        """The caller's user name while auth is enabled (None while it is off); raises
        :class:`AuthRefused` for a bad token or an anonymous caller."""
        st = self.state
        if not st.enabled:
            return None
        token = next((v for k, v in (context.invocation_metadata() or ()) if k == "token"), None)
        if token:
            issued = self.tokens.user_of(token)
            if issued is None or st.password_of(issued[0]) != issued[1]:
                raise AuthRefused(AuthError.INVALID_TOKEN)  # unknown, expired, or stale
            return issued[0]
        cn = common_name(context)
        if cn:
            return cn
        raise AuthRefused(AuthError.USER_EMPTY)

    def check(self, context: Any, command: kv.Command) -> tuple[str, int] | None:
        """Raise :class:`AuthRefused` unless the caller may run ``command``; return the
        ``(user, auth revision)`` a write must carry (None while auth was never used)."""
        st = self.state
        user = self.user(context)
        if user is not None:
            if isinstance(command, kv.Compact):
                allowed = st.has_root(user)  # all keys' history: cluster-wide, root only
            else:
                allowed = all(st.permitted(user, want, k, e) for want, k, e in needs(command))
            if not allowed:
                raise AuthRefused(AuthError.PERMISSION_DENIED)
        return (user or "", st.revision) if st.revision else None

    def check_admin(self, context: Any) -> None:
        """Raise unless auth is off or the caller holds the root role."""
        user = self.user(context)
        if user is not None and not self.state.has_root(user):
            raise AuthRefused(AuthError.PERMISSION_DENIED)

    async def read(self, context: Any, command: kv.Range | kv.Txn,
                   linearizable: bool) -> kv.Result:
        """Barrier (if linearizable), then check, then read the applied state."""
        if linearizable:
            await self.r.barrier()
        self.check(context, command)
        return await self.r.read(command, False)  # the barrier is done: read applied state

    async def write(self, context: Any, command: kv.Command) -> kv.Result:
        """Check, propose with the auth revision, and check again if that went stale."""
        for _ in range(OLD_REVISION_RETRIES):
            checked = self.check(context, command)
            try:
                return await self.r.write(command, checked)
            except AuthRefused as exc:
                if exc.error is not AuthError.OLD_REVISION:
                    raise
        raise AuthRefused(AuthError.OLD_REVISION)


def common_name(context: Any) -> str | None:
    """The verified client certificate's common name, if the connection has one."""
    try:
        names = context.auth_context().get("x509_common_name") or []
    except Exception:
        return None
    return names[0].decode(errors="replace") if names else None


def _perm_pb(p: Any) -> auth_pb2.Permission:
    return auth_pb2.Permission(permType=int(p.type), key=p.key,  # type: ignore[arg-type]
                               range_end=p.range_end)


class AuthService(rpc_pb2_grpc.AuthServicer):
    """etcd's Auth service over a :class:`Guard`."""

    def __init__(self, guard: Guard, header: Any) -> None:
        self.g = guard
        self.r = guard.r
        self.header = header

    async def _call(self, context: Any, body: Any) -> Any:
        """Run ``body`` as the KV services' handlers run (service.py's ``_guarded``): a
        ServerError becomes its status, any other exception INTERNAL, logged here."""
        try:
            return await body()
        except ServerError as exc:
            await context.abort(exc.code, exc.message)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception:
            logging.getLogger("quorum.server").exception("internal error serving auth")
            await context.abort(*errors.INTERNAL)

    async def _change(self, context: Any, response: Any, op: str, *args: Any,
                      admin: bool = True) -> Any:
        async def body() -> Any:
            if admin:
                self.g.check_admin(context)
            await self.r.auth_change(op, *args)
            return response(header=self.header())
        return await self._call(context, body)

    async def _query(self, context: Any, answer: Any) -> Any:
        async def body() -> Any:
            self.g.check_admin(context)
            await self.r.barrier()
            return answer(self.g.state)
        return await self._call(context, body)

    async def AuthEnable(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthEnableResponse, "enable")

    async def AuthDisable(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthDisableResponse, "disable")

    async def AuthStatus(self, request: Any, context: Any) -> Any:
        async def body() -> Any:
            await self.r.barrier()
            st = self.g.state
            return rpc_pb2.AuthStatusResponse(header=self.header(), enabled=st.enabled,
                                              authRevision=st.revision)
        return await self._call(context, body)

    async def Authenticate(self, request: Any, context: Any) -> Any:
        async def body() -> Any:
            await self.r.barrier()
            st = self.g.state
            if not st.enabled:
                raise AuthRefused(AuthError.NOT_ENABLED)
            if not request.name:
                raise AuthRefused(AuthError.USER_EMPTY)
            stored = st.password_of(request.name)
            ok = bool(stored) and await asyncio.to_thread(
                check_password, stored or "", request.password)
            if not ok:
                raise AuthRefused(AuthError.AUTH_FAILED)
            return rpc_pb2.AuthenticateResponse(
                header=self.header(), token=self.g.tokens.issue(request.name, stored or ""))
        return await self._call(context, body)

    async def UserAdd(self, request: Any, context: Any) -> Any:
        async def body() -> Any:
            self.g.check_admin(context)
            if not request.name:
                raise AuthRefused(AuthError.USER_EMPTY)
            no_password = request.HasField("options") and request.options.no_password
            hashed = "" if no_password else await asyncio.to_thread(
                hash_password, request.password)
            await self.r.auth_change("user_add", request.name, hashed)
            return rpc_pb2.AuthUserAddResponse(header=self.header())
        return await self._call(context, body)

    async def UserChangePassword(self, request: Any, context: Any) -> Any:
        async def body() -> Any:
            self.g.check_admin(context)
            hashed = await asyncio.to_thread(hash_password, request.password)
            await self.r.auth_change("user_passwd", request.name, hashed)
            return rpc_pb2.AuthUserChangePasswordResponse(header=self.header())
        return await self._call(context, body)

    async def UserDelete(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthUserDeleteResponse, "user_delete",
                                  request.name)

    async def UserGrantRole(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthUserGrantRoleResponse, "user_grant",
                                  request.user, request.role)

    async def UserRevokeRole(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthUserRevokeRoleResponse, "user_revoke",
                                  request.name, request.role)

    async def UserGet(self, request: Any, context: Any) -> Any:
        def answer(st: AuthState) -> Any:
            u = st.users.get(request.name)
            if u is None:
                raise AuthRefused(AuthError.USER_NOT_FOUND)
            return rpc_pb2.AuthUserGetResponse(header=self.header(), roles=list(u.roles))
        return await self._query(context, answer)

    async def UserList(self, request: Any, context: Any) -> Any:
        return await self._query(context, lambda st: rpc_pb2.AuthUserListResponse(
            header=self.header(), users=sorted(st.users)))

    async def RoleAdd(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthRoleAddResponse, "role_add",
                                  request.name)

    async def RoleDelete(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthRoleDeleteResponse, "role_delete",
                                  request.role)

    async def RoleGet(self, request: Any, context: Any) -> Any:
        def answer(st: AuthState) -> Any:
            perms = st.roles.get(request.role)
            if perms is None:
                if request.role == "root":  # granted without being added: all keys
                    return rpc_pb2.AuthRoleGetResponse(header=self.header())
                raise AuthRefused(AuthError.ROLE_NOT_FOUND)
            return rpc_pb2.AuthRoleGetResponse(header=self.header(),
                                               perm=[_perm_pb(p) for p in perms])
        return await self._query(context, answer)

    async def RoleList(self, request: Any, context: Any) -> Any:
        return await self._query(context, lambda st: rpc_pb2.AuthRoleListResponse(
            header=self.header(), roles=sorted(st.roles)))

    async def RoleGrantPermission(self, request: Any, context: Any) -> Any:
        if not request.HasField("perm"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "etcdserver: permission not given")
        p = request.perm
        return await self._change(context, rpc_pb2.AuthRoleGrantPermissionResponse,
                                  "role_grant", request.name, int(p.permType), p.key,
                                  p.range_end)

    async def RoleRevokePermission(self, request: Any, context: Any) -> Any:
        return await self._change(context, rpc_pb2.AuthRoleRevokePermissionResponse,
                                  "role_revoke", request.role, request.key, request.range_end)
