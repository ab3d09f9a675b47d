"""Client requests on a :class:`~quorum.impl.server.node.Node`: writes, reads, membership, status.

What callers may rely on:

* :meth:`Requests.write` returns only after the request's log entry is committed (durable
  on a majority) and applied here; it returns the state machine's result for *that*
  entry.  A request that fails raises :class:`ServerError` with etcd's status; a timed out
  write may still be applied later (as with etcd: the client cannot know).
* A write executes at most once.  Each carries a client session ``(client_id, seq)``
  (:mod:`quorum.impl.kv.sessions`, Raft thesis 6.3) from a pool of sessions owned by this member
  (one write outstanding per session); a proposal not applied within an election timeout
  (dropped by a deposed leader, lost on the way) is proposed again with the same session,
  so the store executes whichever copy commits first and answers the others from its
  session table.  A session whose write failed or timed out is never used again.
* :meth:`Requests.read` with ``linearizable=True`` reflects every write acknowledged
  before it started (ReadIndex, Raft thesis 6.4); with ``False`` it reads this member's
  applied state, which may be stale (etcd's serializable reads).
* Any member accepts any request: a follower's core forwards proposals and ReadIndex
  requests to the leader.
* A request the state machine would refuse whatever the log holds is refused before it is
  proposed, with etcd's status, and costs no log entry (:meth:`Requests.check`): etcd's
  request checks (:func:`quorum.impl.kv.validate`), ``--max-request-bytes``, a lease that
  cannot exist, a Compact to a compacted or future revision, and writes while an alarm
  forbids them (NOSPACE, raised here when a write would pass ``--quota-backend-bytes``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from quorum.impl import kv
from quorum.impl.kv.auth import encode_op as encode_auth_op
from quorum.impl.raft.errors import PanicError, ProposalDropped
from quorum.impl.raft.types import ConfChange, ConfChangeType, Role
from quorum.impl.server import convert, errors
from quorum.impl.server.alarms import AlarmAction, AlarmType, encode_alarm
from quorum.impl.server.compactor import Compactor
from quorum.impl.server.config import ServerConfigError, member_id_of, parse_url
from quorum.impl.server.errors import AuthRefused, ServerError
from quorum.impl.server.machine import Outcome, encode_checked
from quorum.impl.server.members import Member, encode_add_context, encode_attributes
from quorum.impl.server.node import Node

__all__ = ["Requests"]

log = logging.getLogger("quorum.server")

T = TypeVar("T")


class Requests:
    """The operations the gRPC services expose, on one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._next_id = random.getrandbits(62) | 1
        self.timeout = node.cfg.request_timeout
        self._retry_every = node.cfg.election_ticks * node.cfg.tick_ms / 1000
        self._leader_wait = 2 * self._retry_every
        self._sessions: list[list[int]] = []  # idle [client_id, last seq], reused LIFO
        self._raising: set[AlarmType] = set()  # alarms this member is proposing now
        self.compactor = Compactor(node.cfg.auto_compaction_mode, node.cfg.retention)

    # --- writes -----------------------------------------------------------------------------
    def _request_id(self) -> int:
        self._next_id = (self._next_id + 1) & ((1 << 63) - 1) or 1
        return self._next_id

    async def _await_leader(self) -> None:
        """Wait (briefly) until some leader is known, else fail with etcd's 'no leader'."""
        n = self.node
        deadline = asyncio.get_running_loop().time() + self._leader_wait
        while n.leader == 0:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or n.stopped.is_set():
                raise ServerError(*errors.NO_LEADER)
            try:
                async with asyncio.timeout(left):  # not wait_for: see impl/net/transport.py
                    await n.leader_changed.wait()
            except TimeoutError:
                pass

    def _session(self) -> list[int]:
        """An idle client session of this member, or a new one (random 63-bit id: a
        restarted member never reuses an old session's id, with overwhelming odds)."""
        return self._sessions.pop() if self._sessions else [random.getrandbits(63) | 1, 0]

    async def _submit(self, submit: Callable[[], None]) -> None:
        """Submit an entry, retrying while no leader is known."""
        n = self.node
        for _ in range(3):
            await self._await_leader()
            try:
                submit()
                break
            except ProposalDropped:
                await asyncio.sleep(n.cfg.tick_ms / 1000)
        else:
            raise ServerError(*errors.NO_LEADER)
        n.wake()

    async def _propose(self, request_id: int, submit: Callable[[], None],
                       resubmit: bool = False) -> Outcome:
        """Submit an entry and wait for its outcome.  With ``resubmit`` (only for
        exactly-once entries) submit it again every election timeout until it is applied
        or the request times out."""
        n = self.node
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        n.waiters[request_id] = fut
        n.expire_at(self.timeout, fut)
        try:
            await self._submit(submit)
            if resubmit and not fut.done():  # each election timeout, by the ticker
                n.resubmit_every(self._retry_every, fut, submit)
            return await self._outcome(fut)
        finally:
            n.waiters.pop(request_id, None)

    async def _wait(self, fut: asyncio.Future[T]) -> T:
        """Await ``fut`` for at most the request timeout (enforced by the node's ticker,
        which is cheaper per request than ``asyncio.wait_for``)."""
        self.node.expire_at(self.timeout, fut)
        return await self._outcome(fut)

    async def _outcome(self, fut: asyncio.Future[T]) -> T:
        """Await ``fut``, whose timeout is already registered with the node."""
        try:
            return await fut
        except TimeoutError:
            if self.node.stopped.is_set():
                raise ServerError(*errors.STOPPED) from None
            raise ServerError(*(errors.NO_LEADER if self.node.leader == 0
                                else errors.TIMEOUT)) from None
        except asyncio.CancelledError:
            if self.node.stopped.is_set():
                raise ServerError(*errors.STOPPED) from None
            raise

    async def check(self, command: kv.Command) -> None:
        """Raise :class:`ServerError` for a write the state machine would refuse anyway
        (module docstring); may wait for a ReadIndex to judge a Compact's revision."""
        sm = self.node.sm
        err = kv.validate(command, self.node.cfg.max_txn_ops)
        if err is None and sm.alarms.has(AlarmType.CORRUPT):
            err = kv.KVError(kv.ErrorCode.CORRUPT)
        if err is None and sm.alarms.has(AlarmType.NOSPACE) and kv.adds_data(command):
            err = kv.KVError(kv.ErrorCode.NO_SPACE)
        if err is None and isinstance(command, kv.Put) and command.lease:
            err = kv.KVError(kv.ErrorCode.LEASE_NOT_FOUND)  # quorum has no leases
        if err is None and isinstance(command, kv.Compact):
            if command.revision > sm.kv.revision:  # this member may lag: ask the leader
                await self.barrier()
            if command.revision <= sm.kv.compact_revision:
                err = kv.KVError(kv.ErrorCode.COMPACTED)
            elif command.revision > sm.kv.revision:
                err = kv.KVError(kv.ErrorCode.FUTURE_REV)
        if err is not None:
            raise ServerError(*convert.status_of(err))

    def _check_size(self, command: kv.Command, data: bytes) -> None:
        """--max-request-bytes, then --quota-backend-bytes for a write that adds data."""
        cfg, store = self.node.cfg, self.node.sm.kv
        if len(data) > cfg.max_request_bytes:
            raise ServerError(*errors.REQUEST_TOO_LARGE)
        if cfg.quota and kv.adds_data(command) and store.size_bytes + len(data) > cfg.quota:
            self.raise_alarm(AlarmType.NOSPACE)
            raise ServerError(*errors.NO_SPACE)

    def raise_alarm(self, alarm: AlarmType) -> None:
        """Propose ACTIVATE ``alarm`` for this member in the background (once at a time);
        the caller does not wait (etcd answers the request that found it at once)."""
        n = self.node
        if alarm in self._raising or (n.id, alarm) in n.sm.alarms.active():
            return
        self._raising.add(alarm)

        async def propose() -> None:
            try:
                await self.alarm(AlarmAction.ACTIVATE, n.id, alarm)
                log.warning("raised alarm %s for this member", alarm.name)
            except ServerError as exc:
                log.warning("could not raise alarm %s: %s", alarm.name, exc.message)
            finally:
                self._raising.discard(alarm)
        n.background(propose())

    async def write(self, command: kv.Command,
                    checked: tuple[str, int] | None = None) -> kv.Result:
        """Replicate ``command`` and return its result once applied (see module doc).
        ``checked``: (user, auth revision) its permissions were checked at (see
        :mod:`quorum.impl.server.auth`); refused with ``AuthRefused`` if that revision is old.
        While auth is enabled an unchecked write is always refused that way: clients' writes
        go through ``Guard.write``, which checks, stamps and retries."""
        await self.check(command)
        t0 = time.perf_counter()
        result = await self._write_once(command, self._session(), checked)
        if isinstance(result, kv.KVError) and result.code is kv.ErrorCode.SESSION_EXPIRED:
            # An idle pooled session was forgotten (LRU): nothing ran; use a fresh one.
            result = await self._write_once(command, [random.getrandbits(63) | 1, 0], checked)
        stats = self.node.stats
        stats["writes"] += 1
        stats["write_s"] += time.perf_counter() - t0
        return result

    async def _write_once(self, command: kv.Command, session: list[int],
                          checked: tuple[str, int] | None = None) -> kv.Result:
        request_id = self._request_id()
        session[1] += 1
        data = kv.encode(command, request_id, session[0], session[1])
        try:
            self._check_size(command, data)
        except ServerError:
            session[1] -= 1  # nothing was proposed: the session may serve the next write
            self._sessions.append(session)
            raise
        if checked is not None:
            data = encode_checked(request_id, *checked, data)
        outcome = await self._propose(request_id, lambda: self.node.submit(data), True)
        if outcome.auth_error is not None:  # not run: checked at an old auth revision
            raise AuthRefused(outcome.auth_error)
        result = outcome.result
        assert result is not None  # a command's entry always has one
        if not isinstance(result, kv.KVError) or result.code not in (
                kv.ErrorCode.SESSION_EXPIRED, kv.ErrorCode.STALE_REQUEST):
            self._sessions.append(session)  # answered: the session may serve the next write
        return result

    async def auth_change(self, op: str, *args: object) -> None:
        """Replicate one change of the auth state (:mod:`quorum.impl.kv.auth`); raise
        ``AuthRefused`` if the state machine refused it.  Not resubmitted: a timed out
        change may still be applied later."""
        request_id = self._request_id()
        data = encode_auth_op(op, *args, request_id=request_id)
        outcome = await self._propose(request_id, partial(self.node.submit, data))
        if outcome.auth_error is not None:
            raise AuthRefused(outcome.auth_error)

    # --- reads ------------------------------------------------------------------------------
    async def read(self, command: kv.Range | kv.Txn, linearizable: bool) -> kv.Result:
        err = kv.validate(command, self.node.cfg.max_txn_ops)  # before any ReadIndex
        if err is not None:
            raise ServerError(*convert.status_of(err))
        if linearizable:
            await self.barrier()
        return self.node.sm.kv.read(command)

    async def barrier(self) -> None:
        """Return once this member has applied everything committed before the call."""
        n = self.node
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        n.pending_reads.append(fut)
        n.wake()
        await self._wait(fut)

    # --- membership -------------------------------------------------------------------------
    def _check_membership(self) -> None:
        if not self.node.core.membership:
            raise ServerError(*errors.STATIC_MEMBERSHIP)

    async def member_add(self, peer_urls: tuple[str, ...]) -> Member:
        n = self.node
        self._check_membership()
        try:
            for url in peer_urls:
                parse_url(url)
        except ServerConfigError:
            raise ServerError(*errors.BAD_URLS) from None
        if not peer_urls:
            raise ServerError(*errors.BAD_URLS)
        for url in peer_urls:
            if n.sm.members.with_peer_url(url) is not None:
                raise ServerError(*errors.PEER_URL_EXISTS)
        member_id = member_id_of(peer_urls, n.cfg.token)
        if member_id in n.sm.members.members or member_id in n.sm.members.removed:
            raise ServerError(*errors.MEMBER_EXISTS)
        await self._conf_change(ConfChangeType.ADD_NODE, member_id, peer_urls)
        return n.sm.members.members.get(member_id, Member(member_id, "", peer_urls))

    async def member_remove(self, member_id: int) -> None:
        self._check_membership()
        if member_id not in self.node.sm.members.members:
            raise ServerError(*errors.MEMBER_NOT_FOUND)
        await self._conf_change(ConfChangeType.REMOVE_NODE, member_id, ())

    async def _conf_change(self, kind: ConfChangeType, member_id: int,
                           urls: tuple[str, ...]) -> None:
        await self.barrier()  # serve the change against an up-to-date member table
        request_id = self._request_id()
        cc = ConfChange(kind, member_id, encode_add_context(urls, request_id))

        def submit() -> None:
            try:
                self.node.raw.propose_conf_change(cc)
            except ProposalDropped:
                raise
            except PanicError as exc:
                self.node.stop_on_panic(exc)
                raise ServerError(*errors.STOPPED) from exc
            except Exception as exc:  # the core refused the change as invalid
                raise ServerError(*errors.RECONFIG_PENDING) from exc
        await self._propose(request_id, submit)

    async def publish(self) -> None:
        """Publish this member's name and client URLs (etcd's ``publish``), until applied."""
        n, cfg = self.node, self.node.cfg
        while not n.stopped.is_set():
            me = n.sm.members.members.get(n.id)
            if me is not None and (me.name, me.client_urls) == (
                    cfg.name, cfg.advertise_client_urls):
                return
            if me is not None:
                request_id = self._request_id()
                data = encode_attributes(n.id, cfg.name, cfg.advertise_client_urls)
                try:
                    await self._propose(request_id, partial(n.submit, data))
                except ServerError:
                    pass
            await asyncio.sleep(cfg.tick_ms / 1000 * 5)

    # --- alarms -----------------------------------------------------------------------------
    async def alarm(self, action: AlarmAction, member_id: int, alarm: AlarmType
                    ) -> list[tuple[int, AlarmType]]:
        """etcd's Alarm RPC.  GET lists the active alarms (member 0 / type NONE: all), as of
        a linearizable read; ACTIVATE and DEACTIVATE are proposals, answered once applied
        here, with the alarm they raised or cleared (nothing if it was not active).  Both
        are idempotent, so a lost proposal is simply proposed again."""
        table = self.node.sm.alarms
        if action is AlarmAction.GET or alarm is AlarmType.NONE:
            await self.barrier()
            return table.active(member_id, alarm)
        was = (member_id, alarm) in table.active()
        request_id = self._request_id()
        data = encode_alarm(action, member_id, alarm, request_id)
        await self._propose(request_id, lambda: self.node.submit(data), True)
        return [(member_id, alarm)] if action is AlarmAction.ACTIVATE or was else []

    # --- housekeeping -----------------------------------------------------------------------
    async def maintain(self) -> None:
        """Run with the node: raise NOSPACE when this member's store passes its quota
        (whoever's writes filled it), and run auto-compaction (only the leader proposes)."""
        n, cfg = self.node, self.node.cfg
        loop = asyncio.get_running_loop()
        every = cfg.tick_ms / 1000 * 5
        if self.compactor.enabled:
            every = min(every, self.compactor.interval)
        next_compaction = loop.time() + self.compactor.interval
        while not n.stopped.is_set():
            await asyncio.sleep(every)
            if cfg.quota and n.sm.kv.size_bytes > cfg.quota:
                self.raise_alarm(AlarmType.NOSPACE)
            if self.compactor.enabled and loop.time() >= next_compaction:
                next_compaction = loop.time() + self.compactor.interval
                target = self.compactor.observe(loop.time(), n.sm.kv.revision)
                if target is not None and n.role is Role.LEADER:
                    await self._auto_compact(target)

    async def _auto_compact(self, revision: int) -> None:
        try:
            result = await self.write(kv.Compact(revision))
        except ServerError as exc:
            log.warning("auto-compaction to revision %d failed: %s", revision, exc.message)
            return
        if isinstance(result, kv.KVError):
            log.info("auto-compaction to revision %d refused: %s", revision, result.message)
        else:
            log.info("auto-compacted to revision %d", revision)

    # --- status -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        n = self.node
        st = n.core.status()  # Multi-Paxos: the promised ballot as the term
        return {"leader": n.leader, "raft_index": st.last_index, "raft_term": st.term,
                "applied": n.sm.applied, "is_learner": st.learner,
                "is_leader": n.role is Role.LEADER}
