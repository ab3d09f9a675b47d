"""What the key-value state machine answers: etcd v3's responses as frozen values.

Each result carries ``revision``, the value etcd puts in ``ResponseHeader.revision`` for that
response (the server adds cluster id, member id and raft term).  Errors are values too
(:class:`KVError`), because applying a log entry must be deterministic and must never raise:
every replica computes the same error for the same entry.  :class:`ErrorCode` carries the
gRPC status code name and the exact message etcd uses (``api/v3rpc/rpctypes/error.go``), so
the gRPC layer maps them 1:1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

__all__ = [
    "CompactResult",
    "DeleteRangeResult",
    "ErrorCode",
    "KVError",
    "KeyValue",
    "PutResult",
    "RangeResult",
    "Result",
    "TxnResult",
]


class ErrorCode(Enum):
    """etcd's client-visible errors: value = (gRPC status code name, etcd's message)."""

    EMPTY_KEY = ("INVALID_ARGUMENT", "etcdserver: key is not provided")
    KEY_NOT_FOUND = ("INVALID_ARGUMENT", "etcdserver: key not found")
    VALUE_PROVIDED = ("INVALID_ARGUMENT", "etcdserver: value is provided")
    LEASE_PROVIDED = ("INVALID_ARGUMENT", "etcdserver: lease is provided")
    TOO_MANY_OPS = ("INVALID_ARGUMENT", "etcdserver: too many operations in txn request")
    DUPLICATE_KEY = ("INVALID_ARGUMENT", "etcdserver: duplicate key given in txn request")
    INVALID_SORT_OPTION = ("INVALID_ARGUMENT", "etcdserver: invalid sort option")
    COMPACTED = ("OUT_OF_RANGE", "etcdserver: mvcc: required revision has been compacted")
    FUTURE_REV = ("OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision")
    LEASE_NOT_FOUND = ("NOT_FOUND", "etcdserver: requested lease not found")
    NO_SPACE = ("RESOURCE_EXHAUSTED", "etcdserver: mvcc: database space exceeded")
    CORRUPT = ("DATA_LOSS", "etcdserver: corrupt cluster")
    # Ours: a log entry whose bytes are not a valid command (a buggy or hostile proposer).
    MALFORMED_REQUEST = ("INVALID_ARGUMENT", "quorum: malformed request in the log")
    # Ours: client sessions (quorum.impl.kv.sessions); neither command was executed.
    SESSION_EXPIRED = ("FAILED_PRECONDITION", "quorum: client session expired")
    STALE_REQUEST = ("FAILED_PRECONDITION", "quorum: request superseded by a newer one")

    @property
    def grpc_code(self) -> str:
        """Name of the ``grpc.StatusCode`` member etcd answers with."""
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


@dataclass(frozen=True, slots=True)
class KVError:
    """A request etcd would refuse; applying it changed nothing."""

    code: ErrorCode
    detail: str = ""

    @property
    def message(self) -> str:
        return self.code.message


@dataclass(frozen=True, slots=True)
class KeyValue:
    """etcd's ``mvccpb.KeyValue``: one version of one key."""

    key: bytes
    create_revision: int
    mod_revision: int
    version: int
    value: bytes = b""
    lease: int = 0


@dataclass(frozen=True, slots=True)
class RangeResult:
    """``RangeResponse``: ``count`` is the number of keys in the range (ignoring limit)."""

    revision: int
    kvs: tuple[KeyValue, ...] = ()
    more: bool = False
    count: int = 0


@dataclass(frozen=True, slots=True)
class PutResult:
    revision: int
    prev_kv: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class DeleteRangeResult:
    revision: int
    deleted: int = 0
    prev_kvs: tuple[KeyValue, ...] = ()


@dataclass(frozen=True, slots=True)
class TxnResult:
    """``TxnResponse``: ``responses`` answer the branch taken, one per op, in order."""

    revision: int
    succeeded: bool
    responses: tuple[RangeResult | PutResult | DeleteRangeResult | TxnResult, ...] = ()


@dataclass(frozen=True, slots=True)
class CompactResult:
    revision: int


Result: TypeAlias = (
    RangeResult | PutResult | DeleteRangeResult | TxnResult | CompactResult | KVError
)
