"""Errors the runtime answers clients with: etcd's gRPC status codes and messages
(``api/v3rpc/rpctypes/error.go`` in etcd), so etcd clients react as they do to etcd."""

from __future__ import annotations

from typing import Any

import grpc

__all__ = [
    "AuthRefused",
    "BAD_ALARM",
    "BAD_COMPARE",
    "BAD_URLS",
    "CORRUPT",
    "EMPTY_OP",
    "INTERNAL",
    "INVALID_SORT_OPTION",
    "LEADER_CHANGED",
    "LEARNER_UNSUPPORTED",
    "MEMBER_EXISTS",
    "MEMBER_NOT_FOUND",
    "NO_LEADER",
    "NO_SPACE",
    "PEER_URL_EXISTS",
    "RECONFIG_PENDING",
    "REQUEST_TOO_LARGE",
    "STATIC_MEMBERSHIP",
    "STOPPED",
    "TIMEOUT",
    "ServerError",
]


class ServerError(Exception):
    """A request failed for a reason the client should see as this gRPC status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


NO_LEADER = (grpc.StatusCode.UNAVAILABLE, "etcdserver: no leader")
TIMEOUT = (grpc.StatusCode.UNAVAILABLE, "etcdserver: request timed out")
STOPPED = (grpc.StatusCode.UNAVAILABLE, "etcdserver: server stopped")
LEADER_CHANGED = (grpc.StatusCode.UNAVAILABLE, "etcdserver: leader changed")
MEMBER_NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "etcdserver: member not found")
MEMBER_EXISTS = (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: member ID already exist")
PEER_URL_EXISTS = (grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists")
STATIC_MEMBERSHIP = (grpc.StatusCode.FAILED_PRECONDITION,
                     "quorum: membership changes are not supported with --protocol multipaxos "
                     "(the membership is the static --initial-cluster)")
BAD_URLS = (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid")
RECONFIG_PENDING = (grpc.StatusCode.FAILED_PRECONDITION,
                    "etcdserver: re-configuration failed due to not enough started members")
LEARNER_UNSUPPORTED = (grpc.StatusCode.FAILED_PRECONDITION,
                       "etcdserver: rpc not supported for learner")
NO_SPACE = (grpc.StatusCode.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded")
CORRUPT = (grpc.StatusCode.DATA_LOSS, "etcdserver: corrupt cluster")
REQUEST_TOO_LARGE = (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large")
INVALID_SORT_OPTION = (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: invalid sort option")
# Ours (etcd has no message for these): an alarm request with an unknown action or type,
# a compare with an unknown target or result, a txn operation that holds no request,
# and any unexpected failure while serving a request (logged with its traceback
# server-side; the client never sees Python's text).
BAD_ALARM = (grpc.StatusCode.INVALID_ARGUMENT, "quorum: unknown alarm action or type")
BAD_COMPARE = (grpc.StatusCode.INVALID_ARGUMENT, "quorum: unknown compare target or result")
EMPTY_OP = (grpc.StatusCode.INVALID_ARGUMENT, "quorum: txn operation holds no request")
INTERNAL = (grpc.StatusCode.INTERNAL, "etcdserver: internal error")


class AuthRefused(ServerError):
    """A request refused by the authentication layer (:mod:`quorum.impl.kv.auth`'s
    ``AuthError``: etcd's code and message)."""

    def __init__(self, error: Any) -> None:
        super().__init__(getattr(grpc.StatusCode, error.grpc_code), error.message)
        self.error = error
