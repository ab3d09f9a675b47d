"""The replicated state machine a member applies committed entries to: the key space
(:class:`quorum.impl.kv.KVStore`), the member table (:class:`Membership`), the alarm table
(:class:`quorum.impl.server.alarms.Alarms`) and the authentication state
(:class:`quorum.impl.kv.auth.AuthState`), snapshotted together.

Auth entries (``AUTH_PREFIX``) change users and roles.  While auth is enabled, a
key-value command must arrive as a *checked* entry (``CHECKED_PREFIX``: the user and
the auth revision its permissions were checked against, then the command's bytes);
one checked against an older auth revision, or not checked at all, is refused with
etcd's ``ErrAuthOldRevision`` without running, and the proposing member checks it again.

Applying is deterministic and never raises on bad entry bytes (a malformed command is a
:class:`quorum.impl.kv.KVError` result, a malformed attributes entry is ignored), so every member
computes the same state from the same log.  The key space refuses writes while an alarm
is active (``KVStore.nospace`` / ``corrupt``, kept in step with the alarm table here).
Conf change entries are decoded here and handed back to the caller, who must feed them to ``RawNode.apply_conf_change`` (the core
owns the Raft configuration; this module owns names and URLs).  A read barrier entry
(``BARRIER_PREFIX``) changes nothing; its outcome names the member and read it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from quorum.impl import kv
from quorum.impl.kv.auth import AUTH_PREFIX, AuthError, AuthState, decode_op
from quorum.impl.raft import codec
from quorum.impl.raft.errors import CodecError
from quorum.impl.raft.types import ConfChange, ConfChangeType, Entry, EntryType
from quorum.impl.server.alarms import ALARM_PREFIX, Alarms, AlarmType, decode_alarm
from quorum.impl.server.members import (
    ATTR_PREFIX,
    Membership,
    decode_add_context,
    decode_attributes,
    pack_snapshot,
    pack_snapshot_parts,
    unpack_snapshot,
)

__all__ = ["BARRIER_PREFIX", "CHECKED_PREFIX", "MachineView", "Outcome", "StateMachine",
           "encode_barrier", "encode_checked"]

#: a key-value command checked for permissions: prefix + msgpack [request id, user, auth
#: revision, command bytes]
CHECKED_PREFIX = b"QC"
#: a read barrier (a Multi-Paxos follower's linearizable read, quorum.impl.server.cores):
#: prefix + the proposing member's id (8 bytes) + its payload (which names the read);
#: changes nothing
BARRIER_PREFIX = b"QR"


def encode_barrier(member_id: int, payload: bytes) -> bytes:
    return BARRIER_PREFIX + member_id.to_bytes(8, "big") + payload


def _decode_barrier(data: bytes) -> tuple[int, bytes] | None:
    body = data[len(BARRIER_PREFIX):]
    return (int.from_bytes(body[:8], "big"), body[8:]) if len(body) > 8 else None


def encode_checked(request_id: int, user: str, auth_revision: int, data: bytes) -> bytes:
    return CHECKED_PREFIX + msgpack.packb([request_id, user, auth_revision, data],
                                          use_bin_type=True)


def _decode_checked(data: bytes) -> tuple[int, int, bytes] | None:
    """(request id, auth revision, command bytes), or None if malformed."""
    try:
        request_id, user, revision, inner = msgpack.unpackb(data[len(CHECKED_PREFIX):],
                                                            raw=False)
    except Exception:
        return None
    if type(request_id) is not int or type(revision) is not int or type(inner) is not bytes:
        return None
    return request_id, revision, inner


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one entry produced: who waits for it and what they get."""

    index: int
    request_id: int = 0
    result: kv.Result | None = None
    conf_change: ConfChange | None = None
    auth_error: AuthError | None = None  # an auth change refused, or a stale checked command
    barrier: tuple[int, bytes] | None = None  # a read barrier: (member id, payload)


@dataclass
class MachineView:
    """:meth:`StateMachine.snapshot_view`: the key space's view, and the small parts
    (member table, alarms, auth) copied at the same moment."""

    kv: kv.SnapshotView
    member_rows: list[Any]
    extra: dict[str, Any] | None

    @property
    def applied_index(self) -> int:
        return self.kv.applied_index

    def finish(self) -> bytes:
        return pack_snapshot_parts(self.kv.finish_parts(), self.member_rows, self.extra)


class StateMachine:
    """Key space plus member table; see the module docstring."""

    def __init__(self, names: dict[int, tuple[str, tuple[str, ...]]] | None = None) -> None:
        self.kv = kv.KVStore()
        self.members = Membership()
        self.alarms = Alarms()
        self.auth = AuthState()
        self._bootstrap_names = names or {}  # initial members' (name, peer URLs)

    @property
    def applied(self) -> int:
        return self.kv.applied_index

    def apply(self, entry: Entry) -> Outcome | None:
        """Apply one committed entry; None if it was applied before."""
        if entry.index <= self.kv.applied_index:
            return None
        if entry.type is EntryType.CONF_CHANGE:
            self.kv.mark_applied(entry.index)
            return self._conf_change(entry)
        if entry.data.startswith(ATTR_PREFIX):
            self.kv.mark_applied(entry.index)
            attrs = decode_attributes(entry.data)
            if attrs is not None:
                self.members.set_attributes(*attrs)
            return Outcome(entry.index)
        if entry.data.startswith(BARRIER_PREFIX):
            self.kv.mark_applied(entry.index)
            return Outcome(entry.index, barrier=_decode_barrier(entry.data))
        if entry.data.startswith(ALARM_PREFIX):
            self.kv.mark_applied(entry.index)
            req = decode_alarm(entry.data)
            if req is None:
                return Outcome(entry.index)
            self.alarms.apply(req)
            self._sync_alarms()
            return Outcome(entry.index, req.request_id)
        if entry.data.startswith(AUTH_PREFIX):
            self.kv.mark_applied(entry.index)
            op = decode_op(entry.data)
            if op is None:
                return Outcome(entry.index, auth_error=AuthError.MALFORMED)
            request_id, name, args = op
            return Outcome(entry.index, request_id, auth_error=self.auth.apply(name, args))
        data = entry.data
        if data.startswith(CHECKED_PREFIX):
            checked = _decode_checked(data)
            if checked is None:
                self.kv.mark_applied(entry.index)
                return Outcome(entry.index, auth_error=AuthError.MALFORMED)
            request_id, revision, data = checked
            if self.auth.enabled and revision != self.auth.revision:
                self.kv.mark_applied(entry.index)
                return Outcome(entry.index, request_id, auth_error=AuthError.OLD_REVISION)
        elif self.auth.enabled:  # proposed unchecked while auth was off: check it again
            try:
                request_id = kv.decode(data).request_id
            except kv.CommandDecodeError:
                request_id = 0
            self.kv.mark_applied(entry.index)
            return Outcome(entry.index, request_id, auth_error=AuthError.OLD_REVISION)
        applied = self.kv.apply(entry.index, data)
        assert applied is not None  # the index is new
        return Outcome(entry.index, applied.request_id, applied.result)

    def _conf_change(self, entry: Entry) -> Outcome:
        try:
            cc = codec.conf_change_from_bytes(entry.data)
        except CodecError:
            return Outcome(entry.index)
        urls, request_id = decode_add_context(cc.context)
        if cc.type is ConfChangeType.REMOVE_NODE:
            self.members.remove(cc.node_id)
        elif cc.node_id not in self.members.removed:
            name, initial_urls = self._bootstrap_names.get(cc.node_id, ("", ()))
            self.members.add(cc.node_id, urls or initial_urls, name)
        return Outcome(entry.index, request_id, None, cc)

    def _sync_alarms(self) -> None:
        self.kv.nospace = self.alarms.has(AlarmType.NOSPACE)
        self.kv.corrupt = self.alarms.has(AlarmType.CORRUPT)

    def snapshot_data(self) -> bytes:
        return pack_snapshot(self.kv.snapshot(), self.members, self._extra())

    def snapshot_view(self) -> MachineView:
        """The state as it is now, to be packed in pieces while entries go on being
        applied (:mod:`quorum.impl.kv.snapview`); its ``finish()`` returns what
        :meth:`snapshot_data` returns now."""
        return MachineView(self.kv.snapshot_view(), self.members.dump(), self._extra())

    def _extra(self) -> dict[str, Any] | None:
        alarms = self.alarms.dump()
        extra: dict[str, Any] = {"alarms": alarms} if alarms else {}
        if self.auth.revision or self.auth.enabled:
            extra["auth"] = self.auth.dump()
        return extra or None

    def restore(self, data: bytes) -> None:
        """Replace everything by a snapshot's data (raises on malformed bytes)."""
        kv_state, members, extra = unpack_snapshot(data)
        alarms = Alarms()
        alarms.load(extra.get("alarms", []))
        auth = AuthState()
        if "auth" in extra:
            auth.load(extra["auth"])
        self.kv.restore(kv_state)
        self.members.load(members)
        self.alarms = alarms
        self.auth = auth
        self._sync_alarms()
