"""The key-value state machine with etcd's revision model (commands, results, store).

Start with :mod:`quorum.impl.kv.commands` (the requests, mirroring etcd's ``rpc.proto``), then
:mod:`quorum.impl.kv.results` (the answers) and :mod:`quorum.impl.kv.store` (``KVStore``).
"""

from quorum.impl.kv.commands import (
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
    adds_data,
    decode,
    encode,
    is_read_only,
)
from quorum.impl.kv.results import (
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
from quorum.impl.kv.snapshot import SnapshotError
from quorum.impl.kv.snapview import SnapshotView
from quorum.impl.kv.store import Applied, KVStore
from quorum.impl.kv.validate import MAX_TXN_OPS, MAX_TXN_OPS_CEILING, validate

__all__ = [
    "MAX_TXN_OPS",
    "MAX_TXN_OPS_CEILING",
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
    "SnapshotView",
    "SortOrder",
    "SortTarget",
    "Txn",
    "TxnResult",
    "adds_data",
    "decode",
    "encode",
    "is_read_only",
    "validate",
]
