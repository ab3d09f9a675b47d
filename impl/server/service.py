"""The gRPC services (etcd's KV, Cluster and Maintenance) over :class:`Requests`.

Each method converts the protobuf request (:mod:`quorum.impl.server.convert`), calls the node,
and converts the answer back.  Every failure becomes etcd's status code and message: a
:class:`ServerError` or :class:`quorum.impl.kv.KVError` is aborted with its own status, and
any other exception (a bug) is logged here with its traceback and answered with a generic
``INTERNAL`` "etcdserver: internal error" (:func:`_guarded`), so no Python exception text
ever reaches a client.  Writes and linearizable reads go through Raft; a Range with
``serializable=true`` (``etcdctl get --consistency=s``) is answered from local state.
Requests are validated before they are proposed (:meth:`Requests.write`), so a bad one costs
no log entry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from quorum.impl import kv
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server import convert, errors
from quorum.impl.server.alarms import AlarmAction, AlarmType
from quorum.impl.server.auth import AuthService, Guard
from quorum.impl.server.errors import ServerError
from quorum.impl.server.members import Member
from quorum.impl.server.requests import Requests

__all__ = ["ClusterService", "KVService", "MaintenanceService", "VERSION", "add_services",
           "servicers"]
# Auth: every KV call is checked by the member's Guard (quorum.impl.server.auth) when auth
# is enabled; member add/remove, alarm changes and defragment need the root role;
# MemberList, Status and listing alarms stay open.

VERSION = "3.4.0-quorum"  # etcdctl shows it; "3.4" because that is the API we serve

log = logging.getLogger("quorum.server")

S = TypeVar("S")
Handler = Callable[[S, Any, Any], Awaitable[Any]]


def _guarded(method: Handler[S]) -> Handler[S]:
    """Answer a ServerError with its status, and any unexpected exception with INTERNAL
    (logged server-side with its traceback); let gRPC's own abort and cancellation pass."""
    @functools.wraps(method)
    async def handler(self: S, request: Any, context: Any) -> Any:
        try:
            return await method(self, request, context)
        except ServerError as exc:
            await context.abort(exc.code, exc.message)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("internal error serving %s", method.__name__)
            await context.abort(*errors.INTERNAL)
    return handler


class _Base:
    def __init__(self, requests: Requests, guard: Guard | None = None) -> None:
        self.r = requests
        self.node = requests.node
        self.guard = guard or Guard(requests)  # auth: who calls, may they (auth.py)

    def header(self, revision: int | None = None) -> rpc_pb2.ResponseHeader:
        n = self.node
        return rpc_pb2.ResponseHeader(
            cluster_id=n.cluster_id, member_id=n.id, raft_term=n.term,
            revision=n.sm.kv.revision if revision is None else revision)

    def _answer(self, result: Any) -> Any:
        if isinstance(result, kv.KVError):
            raise ServerError(*convert.status_of(result))
        return convert.response_of(result, self.header)


class KVService(_Base, rpc_pb2_grpc.KVServicer):
    @_guarded
    async def Range(self, request: Any, context: Any) -> Any:
        command = convert.range_cmd(request)
        return self._answer(await self.guard.read(context, command, not request.serializable))

    @_guarded
    async def Put(self, request: Any, context: Any) -> Any:
        return self._answer(await self.guard.write(context, convert.put_cmd(request)))

    @_guarded
    async def DeleteRange(self, request: Any, context: Any) -> Any:
        return self._answer(await self.guard.write(context, convert.delete_cmd(request)))

    @_guarded
    async def Txn(self, request: Any, context: Any) -> Any:
        txn = convert.txn_cmd(request)
        if kv.is_read_only(txn):
            return self._answer(await self.guard.read(context, txn, True))
        return self._answer(await self.guard.write(context, txn))

    @_guarded
    async def Compact(self, request: Any, context: Any) -> Any:
        return self._answer(await self.guard.write(context, convert.compact_cmd(request)))


def _member_pb(m: Member) -> rpc_pb2.Member:
    return rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=list(m.peer_urls),
                          clientURLs=list(m.client_urls))


class ClusterService(_Base, rpc_pb2_grpc.ClusterServicer):
    def _members(self) -> list[rpc_pb2.Member]:
        return [_member_pb(m) for m in self.node.sm.members.sorted()]

    @_guarded
    async def MemberList(self, request: Any, context: Any) -> Any:
        if request.linearizable:
            await self.r.barrier()
        return rpc_pb2.MemberListResponse(header=self.header(), members=self._members())

    @_guarded
    async def MemberAdd(self, request: Any, context: Any) -> Any:
        if request.isLearner:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                                "quorum: learner members are not supported")
        self.guard.check_admin(context)
        member = await self.r.member_add(tuple(request.peerURLs))
        return rpc_pb2.MemberAddResponse(header=self.header(), member=_member_pb(member),
                                         members=self._members())

    @_guarded
    async def MemberRemove(self, request: Any, context: Any) -> Any:
        self.guard.check_admin(context)
        await self.r.member_remove(request.ID)
        return rpc_pb2.MemberRemoveResponse(header=self.header(), members=self._members())


def _alarm_member(member_id: int, alarm: AlarmType) -> rpc_pb2.AlarmMember:
    return rpc_pb2.AlarmMember(memberID=member_id, alarm=alarm.name)


class MaintenanceService(_Base, rpc_pb2_grpc.MaintenanceServicer):
    @_guarded
    async def Status(self, request: Any, context: Any) -> Any:
        st = self.r.status()
        # etcd lists the member's problems here; etcdctl shows them in its ERRORS column
        problems = [] if st["leader"] else [errors.NO_LEADER[1]]
        problems += [f"memberID:{m} alarm:{t.name}" for m, t in self.node.sm.alarms.active()]
        return rpc_pb2.StatusResponse(
            header=self.header(), version=VERSION, dbSize=self.node.db_size(),
            leader=st["leader"], raftIndex=st["raft_index"], raftTerm=st["raft_term"],
            raftAppliedIndex=st["applied"], isLearner=st["is_learner"],
            dbSizeInUse=self.node.db_size(), errors=problems)

    @_guarded
    async def Alarm(self, request: Any, context: Any) -> Any:
        try:
            action, alarm = AlarmAction(request.action), AlarmType(request.alarm)
        except ValueError:
            raise ServerError(*errors.BAD_ALARM) from None
        if action is not AlarmAction.GET:
            self.guard.check_admin(context)
        active = await self.r.alarm(action, request.memberID, alarm)
        return rpc_pb2.AlarmResponse(header=self.header(),
                                     alarms=[_alarm_member(m, t) for m, t in active])

    @_guarded
    async def Defragment(self, request: Any, context: Any) -> Any:
        # The store is in memory and Compact frees what it drops at once (docs/store.md):
        # there is no file to rewrite, so defragmenting has nothing left to do.
        self.guard.check_admin(context)
        return rpc_pb2.DefragmentResponse(header=self.header())


def servicers(requests: Requests) -> dict[str, Any]:
    """The member's servicers by full service name (``etcdserverpb.KV``, ...): what the gRPC
    server registers, and what the front-ends' local channel dispatches to
    (:mod:`quorum.impl.server.frontends`)."""
    guard = Guard(requests)  # one per member: it holds the member's auth tokens
    return {
        "etcdserverpb.KV": KVService(requests, guard),
        "etcdserverpb.Cluster": ClusterService(requests, guard),
        "etcdserverpb.Maintenance": MaintenanceService(requests, guard),
        "etcdserverpb.Auth": AuthService(guard, _Base(requests, guard).header),
    }


def add_services(server: grpc.aio.Server, requests: Requests) -> None:
    s = servicers(requests)
    rpc_pb2_grpc.add_KVServicer_to_server(s["etcdserverpb.KV"], server)
    rpc_pb2_grpc.add_ClusterServicer_to_server(s["etcdserverpb.Cluster"], server)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(s["etcdserverpb.Maintenance"], server)
    rpc_pb2_grpc.add_AuthServicer_to_server(s["etcdserverpb.Auth"], server)
