"""Translation between etcd's protobuf messages (``quorum.impl.api``) and the key-value state
machine's commands and results (``quorum.impl.kv``), and from errors to gRPC statuses.

Pure functions, one per message, so the gRPC servicers stay thin.  The field mapping is
1:1 because ``quorum.impl.kv`` mirrors etcd's ``rpc.proto`` field for field.  Protobuf enums
are open (any int32 arrives), so a value outside etcd's enum raises :class:`ServerError`
with etcd's status (``invalid sort option``) or, where etcd has none, a ``quorum:`` one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from quorum.impl import kv
from quorum.impl.api import kv_pb2, rpc_pb2
from quorum.impl.server import errors
from quorum.impl.server.errors import ServerError

__all__ = [
    "Header",
    "command_of",
    "compact_cmd",
    "delete_cmd",
    "put_cmd",
    "range_cmd",
    "response_of",
    "status_of",
    "txn_cmd",
]

Header = Callable[[int], rpc_pb2.ResponseHeader]  # revision -> header of this member


# --- requests -> commands ---------------------------------------------------------------

def _enum(kind: Any, value: int, error: tuple[grpc.StatusCode, str]) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise ServerError(*error) from None


def range_cmd(r: rpc_pb2.RangeRequest) -> kv.Range:
    order = _enum(kv.SortOrder, r.sort_order, errors.INVALID_SORT_OPTION)
    target = _enum(kv.SortTarget, r.sort_target, errors.INVALID_SORT_OPTION)
    return kv.Range(r.key, r.range_end, r.limit, r.revision, order, target, r.serializable, r.keys_only, r.count_only,
                    r.min_mod_revision, r.max_mod_revision, r.min_create_revision,
                    r.max_create_revision)


def put_cmd(p: rpc_pb2.PutRequest) -> kv.Put:
    return kv.Put(p.key, p.value, p.lease, p.prev_kv, p.ignore_value, p.ignore_lease)


def delete_cmd(d: rpc_pb2.DeleteRangeRequest) -> kv.DeleteRange:
    return kv.DeleteRange(d.key, d.range_end, d.prev_kv)


_COMPARE_VALUE: dict[int, str] = {
    rpc_pb2.Compare.VERSION: "version", rpc_pb2.Compare.CREATE: "create_revision",
    rpc_pb2.Compare.MOD: "mod_revision", rpc_pb2.Compare.VALUE: "value",
    rpc_pb2.Compare.LEASE: "lease",
}


def compare(c: rpc_pb2.Compare) -> kv.Compare:
    target = _enum(kv.CompareTarget, c.target, errors.BAD_COMPARE)
    result = _enum(kv.CompareResult, c.result, errors.BAD_COMPARE)
    # etcd reads the union member named by the target (unset members read as 0 or b"")
    value = getattr(c, _COMPARE_VALUE[c.target])
    return kv.Compare(c.key, target, result, value, c.range_end)


def op(o: rpc_pb2.RequestOp) -> kv.Op:
    which = o.WhichOneof("request")
    if which == "request_range":
        return range_cmd(o.request_range)
    if which == "request_put":
        return put_cmd(o.request_put)
    if which == "request_delete_range":
        return delete_cmd(o.request_delete_range)
    if which == "request_txn":
        return txn_cmd(o.request_txn)
    raise ServerError(*errors.EMPTY_OP)


def txn_cmd(t: rpc_pb2.TxnRequest) -> kv.Txn:
    return kv.Txn(tuple(compare(c) for c in t.compare), tuple(op(o) for o in t.success),
                  tuple(op(o) for o in t.failure))


def compact_cmd(c: rpc_pb2.CompactionRequest) -> kv.Compact:
    return kv.Compact(c.revision, c.physical)


def command_of(request: Any) -> kv.Command:
    """The command for any of the five KV request messages."""
    return _COMMANDS[type(request)](request)


_COMMANDS: dict[type, Callable[[Any], kv.Command]] = {
    rpc_pb2.RangeRequest: range_cmd, rpc_pb2.PutRequest: put_cmd,
    rpc_pb2.DeleteRangeRequest: delete_cmd, rpc_pb2.TxnRequest: txn_cmd,
    rpc_pb2.CompactionRequest: compact_cmd,
}


# --- results -> responses ---------------------------------------------------------------

def key_value(k: kv.KeyValue) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(key=k.key, create_revision=k.create_revision,
                           mod_revision=k.mod_revision, version=k.version, value=k.value,
                           lease=k.lease)


def _range(res: kv.RangeResult, header: Header) -> rpc_pb2.RangeResponse:
    return rpc_pb2.RangeResponse(header=header(res.revision),
                                 kvs=[key_value(k) for k in res.kvs], more=res.more,
                                 count=res.count)


def _put(res: kv.PutResult, header: Header) -> rpc_pb2.PutResponse:
    out = rpc_pb2.PutResponse(header=header(res.revision))
    if res.prev_kv is not None:
        out.prev_kv.CopyFrom(key_value(res.prev_kv))
    return out


def _delete(res: kv.DeleteRangeResult, header: Header) -> rpc_pb2.DeleteRangeResponse:
    return rpc_pb2.DeleteRangeResponse(header=header(res.revision), deleted=res.deleted,
                                       prev_kvs=[key_value(k) for k in res.prev_kvs])


def _response_op(res: Any, header: Header) -> rpc_pb2.ResponseOp:
    field = _OP_FIELDS[type(res)]
    return rpc_pb2.ResponseOp(**{field: response_of(res, header)})


def _txn(res: kv.TxnResult, header: Header) -> rpc_pb2.TxnResponse:
    return rpc_pb2.TxnResponse(header=header(res.revision), succeeded=res.succeeded,
                               responses=[_response_op(r, header) for r in res.responses])


def _compact(res: kv.CompactResult, header: Header) -> rpc_pb2.CompactionResponse:
    return rpc_pb2.CompactionResponse(header=header(res.revision))


_RESPONSES: dict[type, Callable[[Any, Header], Any]] = {
    kv.RangeResult: _range, kv.PutResult: _put, kv.DeleteRangeResult: _delete,
    kv.TxnResult: _txn, kv.CompactResult: _compact,
}
_OP_FIELDS: dict[type, str] = {
    kv.RangeResult: "response_range", kv.PutResult: "response_put",
    kv.DeleteRangeResult: "response_delete_range", kv.TxnResult: "response_txn",
}


def response_of(result: Any, header: Header) -> Any:
    """The protobuf response for a successful result (not a :class:`kv.KVError`)."""
    return _RESPONSES[type(result)](result, header)


def status_of(error: kv.KVError) -> tuple[grpc.StatusCode, str]:
    """The gRPC status etcd answers for ``error`` (code and etcd's exact message)."""
    return grpc.StatusCode[error.code.grpc_code], error.code.message
