"""Commands of the key-value state machine, and their deterministic log encoding.

Each command mirrors one etcd v3 request message of ``api/etcdserverpb/rpc.proto`` field for
field (names, defaults and enum numbers are etcd's), so the gRPC layer maps requests onto
commands 1:1.  A log entry's data is ``encode(command, request_id)``: a msgpack array
``[FORMAT, request_id, tag, *fields]`` with the fields in declaration order; with a client
session, ``encode(command, request_id, client_id, seq)`` is
``[SESSION_FORMAT, request_id, client_id, seq, tag, *fields]`` (see :mod:`quorum.impl.kv.sessions`:
the store executes each ``(client_id, seq)`` at most once).  The encoding
is deterministic (same command, same bytes) and :func:`decode` accepts exactly what
:func:`encode` produces: anything else raises :class:`CommandDecodeError`, never another
exception.  ``request_id`` is opaque to the state machine; the server uses it to find the
client waiting for an entry's result.

Differences from etcd, all rejected cleanly rather than ignored: leases do not exist (a
non-zero ``lease`` gives ``LEASE_NOT_FOUND``, as etcd does for an unknown lease).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeAlias

import msgpack

__all__ = [
    "FORMAT",
    "SESSION_FORMAT",
    "MAX_TXN_DEPTH",
    "Command",
    "CommandDecodeError",
    "Compact",
    "Compare",
    "CompareResult",
    "CompareTarget",
    "DeleteRange",
    "Op",
    "Put",
    "Range",
    "Request",
    "SortOrder",
    "SortTarget",
    "Txn",
    "adds_data",
    "decode",
    "encode",
    "is_read_only",
]

FORMAT = 1  # version of the encoding; bump on any incompatible change
SESSION_FORMAT = 2  # the same, with a client session (client_id, seq) after the request id
MAX_TXN_DEPTH = 32  # nesting bound on Txn inside Txn (protects the decoder's recursion)


class SortOrder(IntEnum):
    NONE = 0
    ASCEND = 1
    DESCEND = 2


class SortTarget(IntEnum):
    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


class CompareResult(IntEnum):
    EQUAL = 0
    GREATER = 1
    LESS = 2
    NOT_EQUAL = 3


class CompareTarget(IntEnum):
    VERSION = 0
    CREATE = 1
    MOD = 2
    VALUE = 3
    LEASE = 4


class CommandDecodeError(ValueError):
    """Bytes that are not an encoded command (the proposer is at fault, not this node)."""


@dataclass(frozen=True, slots=True)
class Range:
    """``RangeRequest``. ``range_end``: empty = the single key ``key``; ``b"\\0"`` = every
    key >= ``key``; otherwise the half-open interval [key, range_end).  ``revision`` <= 0
    reads the newest revision."""

    key: bytes
    range_end: bytes = b""
    limit: int = 0
    revision: int = 0
    sort_order: SortOrder = SortOrder.NONE
    sort_target: SortTarget = SortTarget.KEY
    serializable: bool = False
    keys_only: bool = False
    count_only: bool = False
    min_mod_revision: int = 0
    max_mod_revision: int = 0
    min_create_revision: int = 0
    max_create_revision: int = 0


@dataclass(frozen=True, slots=True)
class Put:
    """``PutRequest``."""

    key: bytes
    value: bytes = b""
    lease: int = 0
    prev_kv: bool = False
    ignore_value: bool = False
    ignore_lease: bool = False


@dataclass(frozen=True, slots=True)
class DeleteRange:
    """``DeleteRangeRequest`` (``range_end`` as in :class:`Range`)."""

    key: bytes
    range_end: bytes = b""
    prev_kv: bool = False


@dataclass(frozen=True, slots=True)
class Compare:
    """``Compare``: ``value`` is bytes for ``CompareTarget.VALUE``, an int otherwise (etcd's
    ``target_union``).  With ``range_end`` every key in the range must satisfy it."""

    key: bytes
    target: CompareTarget
    result: CompareResult
    value: bytes | int
    range_end: bytes = b""


@dataclass(frozen=True, slots=True)
class Txn:
    """``TxnRequest``: if every compare holds, run ``success``, else ``failure``."""

    compare: tuple[Compare, ...] = ()
    success: tuple[Op, ...] = ()
    failure: tuple[Op, ...] = ()


@dataclass(frozen=True, slots=True)
class Compact:
    """``CompactionRequest``: forget history below ``revision``."""

    revision: int
    physical: bool = False


Op: TypeAlias = Range | Put | DeleteRange | Txn  # etcd's RequestOp
Command: TypeAlias = Range | Put | DeleteRange | Txn | Compact


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded log entry: the command, the proposer's opaque request id, and its client
    session (``client_id`` 0: none; otherwise ``seq`` >= 1)."""

    command: Command
    request_id: int = 0
    client_id: int = 0
    seq: int = 0


def is_read_only(command: Command) -> bool:
    """True for a Range, or a Txn whose branches hold only ranges (etcd's IsTxnReadonly,
    applied recursively): such requests can be served without a log entry."""
    if isinstance(command, Range):
        return True
    if isinstance(command, Txn):
        return all(is_read_only(op) for op in command.success + command.failure)
    return False


def adds_data(command: Command) -> bool:
    """True for a Put, or a Txn holding a Put in any branch at any depth: the requests etcd
    refuses while the NOSPACE alarm is active (deletes, reads and Compact free or cost
    nothing)."""
    if isinstance(command, Put):
        return True
    if isinstance(command, Txn):
        return any(adds_data(op) for op in command.success + command.failure)
    return False


# --- encoding -----------------------------------------------------------------------------

_TAGS: dict[type, int] = {Range: 0, Put: 1, DeleteRange: 2, Txn: 3, Compact: 4}


def _enc_compare(c: Compare) -> list[Any]:
    return [c.key, int(c.target), int(c.result), c.value, c.range_end]


def _enc(cmd: Command) -> list[Any]:
    tag = _TAGS[type(cmd)]
    if isinstance(cmd, Range):
        return [tag, cmd.key, cmd.range_end, cmd.limit, cmd.revision, int(cmd.sort_order),
                int(cmd.sort_target), cmd.serializable, cmd.keys_only, cmd.count_only,
                cmd.min_mod_revision, cmd.max_mod_revision, cmd.min_create_revision,
                cmd.max_create_revision]
    if isinstance(cmd, Put):
        return [tag, cmd.key, cmd.value, cmd.lease, cmd.prev_kv, cmd.ignore_value,
                cmd.ignore_lease]
    if isinstance(cmd, DeleteRange):
        return [tag, cmd.key, cmd.range_end, cmd.prev_kv]
    if isinstance(cmd, Txn):
        return [tag, [_enc_compare(c) for c in cmd.compare], [_enc(o) for o in cmd.success],
                [_enc(o) for o in cmd.failure]]
    return [tag, cmd.revision, cmd.physical]


def encode(command: Command, request_id: int = 0, client_id: int = 0, seq: int = 0) -> bytes:
    """The log bytes of ``command``; deterministic, and ``decode`` inverts it.  A non-zero
    ``client_id`` (with ``seq`` >= 1) makes the command exactly-once (module docstring)."""
    if client_id == 0:
        return msgpack.packb([FORMAT, request_id, *_enc(command)], use_bin_type=True)
    if not (0 < client_id < 2**64 and 0 < seq < 2**64):
        raise ValueError(f"bad client session: id {client_id}, seq {seq}")
    return msgpack.packb([SESSION_FORMAT, request_id, client_id, seq, *_enc(command)],
                         use_bin_type=True)


# --- decoding: strict, every field type-checked ---------------------------------------------

_INT64 = (-(2**63), 2**63 - 1)


def _int(x: Any) -> int:
    if type(x) is not int or not _INT64[0] <= x <= _INT64[1]:
        raise CommandDecodeError(f"expected a 64-bit integer, got {type(x).__name__}")
    return x


def _bytes(x: Any) -> bytes:
    if type(x) is not bytes:
        raise CommandDecodeError(f"expected bytes, got {type(x).__name__}")
    return x


def _bool(x: Any) -> bool:
    if type(x) is not bool:
        raise CommandDecodeError(f"expected a bool, got {type(x).__name__}")
    return x


def _enum(kind: type[IntEnum], x: Any) -> Any:
    try:
        return kind(_int(x))
    except ValueError:
        raise CommandDecodeError(f"{x!r} is not a {kind.__name__}") from None


def _fields(raw: list[Any], n: int, what: str) -> list[Any]:
    if len(raw) != n:
        raise CommandDecodeError(f"{what}: expected {n} fields, got {len(raw)}")
    return raw


def _list(x: Any) -> list[Any]:
    if type(x) is not list:
        raise CommandDecodeError(f"expected an array, got {type(x).__name__}")
    return x


def _dec_range(f: list[Any]) -> Range:
    _fields(f, 13, "Range")
    return Range(_bytes(f[0]), _bytes(f[1]), _int(f[2]), _int(f[3]),
                 _enum(SortOrder, f[4]), _enum(SortTarget, f[5]), _bool(f[6]), _bool(f[7]),
                 _bool(f[8]), _int(f[9]), _int(f[10]), _int(f[11]), _int(f[12]))


def _dec_put(f: list[Any]) -> Put:
    _fields(f, 6, "Put")
    return Put(_bytes(f[0]), _bytes(f[1]), _int(f[2]), _bool(f[3]), _bool(f[4]), _bool(f[5]))


def _dec_delete(f: list[Any]) -> DeleteRange:
    _fields(f, 3, "DeleteRange")
    return DeleteRange(_bytes(f[0]), _bytes(f[1]), _bool(f[2]))


def _dec_compare(raw: Any) -> Compare:
    f = _fields(_list(raw), 5, "Compare")
    target = _enum(CompareTarget, f[1])
    value = _bytes(f[3]) if target is CompareTarget.VALUE else _int(f[3])
    return Compare(_bytes(f[0]), target, _enum(CompareResult, f[2]), value, _bytes(f[4]))


def _dec_txn(f: list[Any], depth: int) -> Txn:
    _fields(f, 3, "Txn")
    if depth >= MAX_TXN_DEPTH:
        raise CommandDecodeError(f"transactions nested deeper than {MAX_TXN_DEPTH}")
    return Txn(tuple(_dec_compare(c) for c in _list(f[0])),
               tuple(_dec_op(o, depth + 1) for o in _list(f[1])),
               tuple(_dec_op(o, depth + 1) for o in _list(f[2])))


def _dec_compact(f: list[Any]) -> Compact:
    _fields(f, 2, "Compact")
    return Compact(_int(f[0]), _bool(f[1]))


def _dec_command(raw: list[Any], depth: int) -> Command:
    if not raw:
        raise CommandDecodeError("empty command")
    tag, fields = raw[0], raw[1:]
    if type(tag) is not int:
        raise CommandDecodeError("command tag is not an integer")
    if tag == 0:
        return _dec_range(fields)
    if tag == 1:
        return _dec_put(fields)
    if tag == 2:
        return _dec_delete(fields)
    if tag == 3:
        return _dec_txn(fields, depth)
    if tag == 4 and depth == 0:
        return _dec_compact(fields)
    raise CommandDecodeError(f"unknown command tag {tag} at depth {depth}")


def _dec_op(raw: Any, depth: int) -> Op:
    cmd = _dec_command(_list(raw), depth)
    assert not isinstance(cmd, Compact)  # tag 4 is refused below depth 0
    return cmd


def decode(data: bytes) -> Request:
    """Invert :func:`encode`; raise :class:`CommandDecodeError` on anything else."""
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise CommandDecodeError(f"not msgpack: {exc}") from None
    raw = _list(raw)
    fmt = raw[0] if raw else None
    head = {FORMAT: 2, SESSION_FORMAT: 4}.get(fmt, 0) if type(fmt) is int else 0
    if not head or len(raw) < head + 1:
        raise CommandDecodeError(f"not a format-{FORMAT} or -{SESSION_FORMAT} command envelope")
    ids = raw[1:head]
    if any(type(x) is not int or not 0 <= x < 2**64 for x in ids):
        raise CommandDecodeError("request id or session is not an unsigned 64-bit integer")
    if head == 4 and (ids[1] == 0 or ids[2] == 0):
        raise CommandDecodeError("a client session needs a non-zero client id and seq")
    return Request(_dec_command(raw[head:], 0), *ids)
