"""The gRPC services (etcd's KV, Cluster and Maintenance) over :class:`Requests`.

Each method converts the protobuf request (:mod:`quorum.impl.server.convert`), calls the node,
and converts the answer back; every failure becomes etcd's status code and message via
``context.abort``.  Writes and linearizable reads go through Raft; a Range with
``serializable=true`` (``etcdctl get --consistency=s``) is answered from local state.
"""

from __future__ import annotations

from typing import Any

import grpc

from quorum.impl import kv
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server import convert, errors
from quorum.impl.server.alarms import AlarmAction, AlarmType
from quorum.impl.server.errors import ServerError
from quorum.impl.server.members import Member
from quorum.impl.server.requests import Requests

__all__ = ["ClusterService", "KVService", "MaintenanceService", "VERSION", "add_services"]

VERSION = "3.4.0-quorum"  # etcdctl shows it; "3.4" because that is the API we serve


class _Base:
    def __init__(self, requests: Requests) -> None:
        self.r = requests
        self.node = requests.node

    def header(self, revision: int | None = None) -> rpc_pb2.ResponseHeader:
        n = self.node
        return rpc_pb2.ResponseHeader(
            cluster_id=n.cluster_id, member_id=n.id, raft_term=n.term,
            revision=n.sm.kv.revision if revision is None else revision)

    async def _answer(self, context: grpc.aio.ServicerContext, result: Any) -> Any:
        if isinstance(result, kv.KVError):
            code, message = convert.status_of(result)
            await context.abort(code, message)
        return convert.response_of(result, self.header)


async def _abort(context: grpc.aio.ServicerContext, exc: ServerError) -> Any:
    await context.abort(exc.code, exc.message)


class KVService(_Base, rpc_pb2_grpc.KVServicer):
    async def Range(self, request: Any, context: Any) -> Any:
        try:
            result = await self.r.read(convert.range_cmd(request), not request.serializable)
        except ServerError as exc:
            return await _abort(context, exc)
        return await self._answer(context, result)

    async def _write(self, command: kv.Command, context: Any) -> Any:
        try:
            result = await self.r.write(command)
        except ServerError as exc:
            return await _abort(context, exc)
        return await self._answer(context, result)

    async def Put(self, request: Any, context: Any) -> Any:
        return await self._write(convert.put_cmd(request), context)

    async def DeleteRange(self, request: Any, context: Any) -> Any:
        return await self._write(convert.delete_cmd(request), context)

    async def Txn(self, request: Any, context: Any) -> Any:
        try:
            txn = convert.txn_cmd(request)
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if kv.is_read_only(txn):
            try:
                return await self._answer(context, await self.r.read(txn, True))
            except ServerError as exc:
                return await _abort(context, exc)
        return await self._write(txn, context)

    async def Compact(self, request: Any, context: Any) -> Any:
        return await self._write(convert.compact_cmd(request), context)


def _member_pb(m: Member) -> rpc_pb2.Member:
    return rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=list(m.peer_urls),
                          clientURLs=list(m.client_urls))


class ClusterService(_Base, rpc_pb2_grpc.ClusterServicer):
    def _members(self) -> list[rpc_pb2.Member]:
        return [_member_pb(m) for m in self.node.sm.members.sorted()]

    async def MemberList(self, request: Any, context: Any) -> Any:
        if request.linearizable:
            try:
                await self.r.barrier()
            except ServerError as exc:
                return await _abort(context, exc)
        return rpc_pb2.MemberListResponse(header=self.header(), members=self._members())

    async def MemberAdd(self, request: Any, context: Any) -> Any:
        if request.isLearner:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                                "quorum: learner members are not supported")
        try:
            member = await self.r.member_add(tuple(request.peerURLs))
        except ServerError as exc:
            return await _abort(context, exc)
        return rpc_pb2.MemberAddResponse(header=self.header(), member=_member_pb(member),
                                         members=self._members())

    async def MemberRemove(self, request: Any, context: Any) -> Any:
        try:
            await self.r.member_remove(request.ID)
        except ServerError as exc:
            return await _abort(context, exc)
        return rpc_pb2.MemberRemoveResponse(header=self.header(), members=self._members())


def _alarm_member(member_id: int, alarm: AlarmType) -> rpc_pb2.AlarmMember:
    return rpc_pb2.AlarmMember(memberID=member_id, alarm=alarm.name)


class MaintenanceService(_Base, rpc_pb2_grpc.MaintenanceServicer):
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

    async def Alarm(self, request: Any, context: Any) -> Any:
        try:
            action, alarm = AlarmAction(request.action), AlarmType(request.alarm)
        except ValueError:
            return await _abort(context, ServerError(*errors.BAD_ALARM))
        try:
            active = await self.r.alarm(action, request.memberID, alarm)
        except ServerError as exc:
            return await _abort(context, exc)
        return rpc_pb2.AlarmResponse(header=self.header(),
                                     alarms=[_alarm_member(m, t) for m, t in active])

    async def Defragment(self, request: Any, context: Any) -> Any:
        # The store is in memory and Compact frees what it drops at once (docs/store.md):
        # there is no file to rewrite, so defragmenting has nothing left to do.
        return rpc_pb2.DefragmentResponse(header=self.header())


def add_services(server: grpc.aio.Server, requests: Requests) -> None:
    rpc_pb2_grpc.add_KVServicer_to_server(KVService(requests), server)
    rpc_pb2_grpc.add_ClusterServicer_to_server(ClusterService(requests), server)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceService(requests), server)
