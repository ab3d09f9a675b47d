"""etcd v3's authentication state: users, roles, key-range permissions, on or off.

This is replicated state, like the key space: every change is a log entry
(:func:`encode_op`) that every member applies with :meth:`AuthState.apply`, in log order,
so all members agree on who may do what at each index.  Applying is deterministic and
never raises: a refused change is an :class:`AuthError` value (etcd's message), a
malformed entry is ``AuthError.MALFORMED``.  Each applied change bumps ``revision``;
requests checked against an older revision are refused at apply time (etcd's
``ErrAuthOldRevision``) and checked again by the member that proposed them.

Passwords are never in the log: the member that receives ``UserAdd`` or
``UserChangePassword`` hashes the password (:func:`hash_password`, scrypt with a random
salt, from the standard library) and proposes the hash, as etcd 3.5 does with bcrypt.

Key ranges follow etcd's conventions (:func:`interval`): an empty ``range_end`` means the
single key, ``b"\\0"`` means every key from ``key`` on, anything else is ``[key, range_end)``.
A user holding the role ``root`` may do everything; otherwise a request is permitted when
the union of the user's roles' intervals of the right type covers the requested interval.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

import msgpack

__all__ = [
    "AUTH_PREFIX",
    "ROOT",
    "AuthError",
    "AuthState",
    "PermType",
    "Permission",
    "User",
    "check_password",
    "covers",
    "decode_op",
    "encode_op",
    "hash_password",
    "interval",
]

#: the first bytes of an auth log entry (a key-value command is a msgpack array, never these)
AUTH_PREFIX = b"QU"
ROOT = "root"  # the user that must exist to enable auth, and the all-powerful role

Interval = tuple[bytes, bytes | None]  # [start, end); end None: unbounded


class PermType(IntEnum):
    """etcd's ``authpb.Permission.Type``."""

    READ = 0
    WRITE = 1
    READWRITE = 2


class AuthError(Enum):
    """Refusals: value = (gRPC status code name, etcd's message, ``rpctypes/error.go``)."""

    USER_EMPTY = ("INVALID_ARGUMENT", "etcdserver: user name is empty")
    ROLE_EMPTY = ("INVALID_ARGUMENT", "etcdserver: role name is empty")
    USER_EXISTS = ("FAILED_PRECONDITION", "etcdserver: user name already exists")
    USER_NOT_FOUND = ("FAILED_PRECONDITION", "etcdserver: user name not found")
    ROLE_EXISTS = ("FAILED_PRECONDITION", "etcdserver: role name already exists")
    ROLE_NOT_FOUND = ("FAILED_PRECONDITION", "etcdserver: role name not found")
    ROLE_NOT_GRANTED = ("FAILED_PRECONDITION", "etcdserver: role is not granted to the user")
    PERMISSION_NOT_GRANTED = ("FAILED_PRECONDITION",
                              "etcdserver: permission is not granted to the role")
    ROOT_USER_MISSING = ("FAILED_PRECONDITION", "etcdserver: root user does not exist")
    ROOT_ROLE_MISSING = ("FAILED_PRECONDITION", "etcdserver: root user does not have root role")
    INVALID_MGMT = ("INVALID_ARGUMENT", "etcdserver: invalid auth management")
    AUTH_FAILED = ("INVALID_ARGUMENT",
                   "etcdserver: authentication failed, invalid user ID or password")
    PERMISSION_DENIED = ("PERMISSION_DENIED", "etcdserver: permission denied")
    NOT_ENABLED = ("FAILED_PRECONDITION", "etcdserver: authentication is not enabled")
    INVALID_TOKEN = ("UNAUTHENTICATED", "etcdserver: invalid auth token")
    OLD_REVISION = ("INVALID_ARGUMENT", "etcdserver: revision of auth store is old")
    MALFORMED = ("INVALID_ARGUMENT", "quorum: malformed auth request in the log")

    @property
    def grpc_code(self) -> str:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


# --- passwords -------------------------------------------------------------------------------
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 1 << 14, 8, 1  # about 16 MiB and tens of ms per hash


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex), with a fresh 16-byte salt unless one is given."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R,
                            p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` string (False if malformed)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(digest) // 2)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


# --- key ranges ------------------------------------------------------------------------------
def interval(key: bytes, range_end: bytes) -> Interval:
    """etcd's ``(key, range_end)`` as a half-open interval: the single key is
    ``[key, key + b"\\0")``, ``range_end == b"\\0"`` is unbounded, and an end at or before
    the key (an empty range) is treated as the single key (the stricter reading)."""
    if range_end == b"\0":
        return key, None
    if not range_end or range_end <= key:
        return key, key + b"\0"
    return key, range_end


def covers(granted: list[Interval], wanted: Interval) -> bool:
    """Whether the union of ``granted`` contains all of ``wanted``."""
    start, end = wanted
    reach = start  # everything in [start, reach) is covered so far
    for lo, hi in sorted(granted, key=lambda iv: iv[0]):
        if lo > reach:
            break  # a gap at reach: nothing later starts before it
        if hi is None:
            return True
        reach = max(reach, hi)
        if end is not None and reach >= end:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Permission:
    type: PermType
    key: bytes
    range_end: bytes = b""

    def allows(self, want: PermType) -> bool:
        return self.type is PermType.READWRITE or self.type is want

    def row(self) -> list[Any]:
        return [int(self.type), self.key, self.range_end]


@dataclass(slots=True)
class User:
    name: str
    password: str  # a hash_password() string; "" for a user without password (CN only)
    roles: list[str] = field(default_factory=list)  # sorted, unique

    def row(self) -> list[Any]:
        return [self.name, self.password, list(self.roles)]


def encode_op(op: str, *args: Any, request_id: int = 0) -> bytes:
    """The log entry of one auth change (see :meth:`AuthState.apply` for the ops)."""
    return AUTH_PREFIX + msgpack.packb([request_id, op, *args], use_bin_type=True)


def decode_op(data: bytes) -> tuple[int, str, list[Any]] | None:
    """``(request_id, op, args)`` of an auth entry, or None if malformed."""
    try:
        raw = msgpack.unpackb(data[len(AUTH_PREFIX):], raw=False)
        if not (isinstance(raw, list) and len(raw) >= 2 and type(raw[0]) is int
                and isinstance(raw[1], str)):
            return None
        return raw[0], raw[1], raw[2:]
    except Exception:
        return None


class AuthState:
    """Users, roles and the enabled flag; changed only by :meth:`apply`."""

    def __init__(self) -> None:
        self.enabled = False
        self.revision = 0  # bumped by every applied change (etcd's auth revision)
        self.users: dict[str, User] = {}
        self.roles: dict[str, list[Permission]] = {}  # sorted by (key, range_end, type)

    # --- queries -----------------------------------------------------------------------------
    def has_root(self, user: str) -> bool:
        u = self.users.get(user)
        return u is not None and ROOT in u.roles

    def permitted(self, user: str, want: PermType, key: bytes, range_end: bytes) -> bool:
        """Whether ``user`` may ``want`` (READ or WRITE) every key of the range."""
        u = self.users.get(user)
        if u is None:
            return False
        if ROOT in u.roles:
            return True
        granted = [interval(p.key, p.range_end) for r in u.roles
                   for p in self.roles.get(r, ()) if p.allows(want)]
        return covers(granted, interval(key, range_end))

    def password_of(self, user: str) -> str | None:
        u = self.users.get(user)
        return None if u is None else u.password

    # --- changes -----------------------------------------------------------------------------
    def apply(self, op: str, args: list[Any]) -> AuthError | None:
        """Apply one change; None when done, else why it was refused (state unchanged)."""
        handler = _OPS.get(op)
        if handler is None:
            return AuthError.MALFORMED
        try:
            outcome: AuthError | None = handler(self, *args)
        except (TypeError, ValueError):
            return AuthError.MALFORMED
        if outcome is None:
            self.revision += 1
        return outcome

    def _enable(self) -> AuthError | None:
        if self.enabled:
            return None
        if ROOT not in self.users:
            return AuthError.ROOT_USER_MISSING
        if ROOT not in self.users[ROOT].roles:
            return AuthError.ROOT_ROLE_MISSING
        self.enabled = True
        return None

    def _disable(self) -> AuthError | None:
        self.enabled = False
        return None

    def _user_add(self, name: str, password: str) -> AuthError | None:
        _str(name, password)
        if not name:
            return AuthError.USER_EMPTY
        if name in self.users:
            return AuthError.USER_EXISTS
        self.users[name] = User(name, password)
        return None

    def _user_delete(self, name: str) -> AuthError | None:
        _str(name)
        if self.enabled and name == ROOT:
            return AuthError.INVALID_MGMT
        if self.users.pop(name, None) is None:
            return AuthError.USER_NOT_FOUND
        return None

    def _user_passwd(self, name: str, password: str) -> AuthError | None:
        _str(name, password)
        u = self.users.get(name)
        if u is None:
            return AuthError.USER_NOT_FOUND
        u.password = password
        return None

    def _user_grant(self, name: str, role: str) -> AuthError | None:
        _str(name, role)
        u = self.users.get(name)
        if u is None:
            return AuthError.USER_NOT_FOUND
        if role != ROOT and role not in self.roles:
            return AuthError.ROLE_NOT_FOUND
        if role not in u.roles:
            u.roles = sorted([*u.roles, role])
        return None

    def _user_revoke(self, name: str, role: str) -> AuthError | None:
        _str(name, role)
        u = self.users.get(name)
        if u is None:
            return AuthError.USER_NOT_FOUND
        if self.enabled and name == ROOT and role == ROOT:
            return AuthError.INVALID_MGMT
        if role not in u.roles:
            return AuthError.ROLE_NOT_GRANTED
        u.roles = [r for r in u.roles if r != role]
        return None

    def _role_add(self, role: str) -> AuthError | None:
        _str(role)
        if not role:
            return AuthError.ROLE_EMPTY
        if role in self.roles:
            return AuthError.ROLE_EXISTS
        self.roles[role] = []
        return None

    def _role_delete(self, role: str) -> AuthError | None:
        _str(role)
        if self.enabled and role == ROOT:
            return AuthError.INVALID_MGMT
        if self.roles.pop(role, None) is None:
            return AuthError.ROLE_NOT_FOUND
        for u in self.users.values():  # as etcd: the role is revoked from every user
            if role in u.roles:
                u.roles = [r for r in u.roles if r != role]
        return None

    def _role_grant(self, role: str, kind: int, key: bytes, range_end: bytes) -> AuthError | None:
        _str(role)
        if type(key) is not bytes or type(range_end) is not bytes:
            raise TypeError("key and range end must be bytes")
        perms = self.roles.get(role)
        if perms is None:
            return AuthError.ROLE_NOT_FOUND
        perm = Permission(PermType(kind), key, range_end)
        # as etcd: one permission per (key, range_end); granting again replaces its type
        kept = [p for p in perms if (p.key, p.range_end) != (key, range_end)]
        self.roles[role] = sorted([*kept, perm], key=lambda p: (p.key, p.range_end))
        return None

    def _role_revoke(self, role: str, key: bytes, range_end: bytes) -> AuthError | None:
        _str(role)
        perms = self.roles.get(role)
        if perms is None:
            return AuthError.ROLE_NOT_FOUND
        kept = [p for p in perms if (p.key, p.range_end) != (key, range_end)]
        if len(kept) == len(perms):
            return AuthError.PERMISSION_NOT_GRANTED
        self.roles[role] = kept
        return None

    # --- snapshot ----------------------------------------------------------------------------
    def dump(self) -> list[Any]:
        """Deterministic plain data (msgpack-able) of the whole state."""
        return [self.enabled, self.revision,
                [self.users[n].row() for n in sorted(self.users)],
                [[r, [p.row() for p in self.roles[r]]] for r in sorted(self.roles)]]

    def load(self, raw: Any) -> None:
        """Replace the state by a :meth:`dump`; raises ValueError on malformed data."""
        try:
            enabled, revision, users, roles = raw
            state_users = {n: User(n, pw, sorted(rs)) for n, pw, rs in users}
            state_roles = {r: [Permission(PermType(t), k, e) for t, k, e in perms]
                           for r, perms in roles}
            strings = [*state_users, *state_roles,
                       *(x for u in state_users.values() for x in (u.password, *u.roles))]
            _str(*strings)
            if any(type(p.key) is not bytes or type(p.range_end) is not bytes
                   for perms in state_roles.values() for p in perms):
                raise TypeError("permission keys must be bytes")
            if type(enabled) is not bool or type(revision) is not int:
                raise TypeError("enabled and revision must be a bool and an int")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed auth state in snapshot: {exc}") from None
        self.enabled, self.revision = enabled, revision
        self.users, self.roles = state_users, state_roles


def _str(*values: Any) -> None:
    if not all(isinstance(v, str) for v in values):
        raise TypeError("names must be strings")


_OPS: dict[str, Any] = {
    "enable": AuthState._enable,
    "disable": AuthState._disable,
    "user_add": AuthState._user_add,
    "user_delete": AuthState._user_delete,
    "user_passwd": AuthState._user_passwd,
    "user_grant": AuthState._user_grant,
    "user_revoke": AuthState._user_revoke,
    "role_add": AuthState._role_add,
    "role_delete": AuthState._role_delete,
    "role_grant": AuthState._role_grant,
    "role_revoke": AuthState._role_revoke,
}
