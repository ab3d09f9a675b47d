"""The key-value state machine with etcd's revision model (commands, results, store).

Start with :mod:`impl.kv.commands` (the requests, mirroring etcd's ``rpc.proto``), then
:mod:`impl.kv.results` (the answers) and :mod:`impl.kv.store` (``KVStore``).
"""

from impl.kv.commands import (
    Command,
    CommandDecodeError,
    Compact,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRange,
    Op,
    Put,
    Range,
    Request,
    SortOrder,
    SortTarget,
    Txn,
    decode,
    encode,
    is_read_only,
)
from impl.kv.results import (
    CompactResult,
    DeleteRangeResult,
    ErrorCode,
    KeyValue,
    KVError,
    PutResult,
    RangeResult,
    Result,
    TxnResult,
)
from impl.kv.snapshot import SnapshotError
from impl.kv.store import Applied, KVStore
from impl.kv.validate import MAX_TXN_OPS, validate

__all__ = [
    "MAX_TXN_OPS",
    "Applied",
    "Command",
    "CommandDecodeError",
    "Compact",
    "CompactResult",
    "Compare",
    "CompareResult",
    "CompareTarget",
    "DeleteRange",
    "DeleteRangeResult",
    "ErrorCode",
    "KVError",
    "KVStore",
    "KeyValue",
    "Op",
    "Put",
    "PutResult",
    "Range",
    "RangeResult",
    "Request",
    "Result",
    "SnapshotError",
    "SortOrder",
    "SortTarget",
    "Txn",
    "TxnResult",
    "decode",
    "encode",
    "is_read_only",
    "validate",
]
