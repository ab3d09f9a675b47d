"""The replicated state machine a member applies committed entries to: the key space
(:class:`quorum.impl.kv.KVStore`), the member table (:class:`Membership`) and the alarm table
(:class:`quorum.impl.server.alarms.Alarms`), snapshotted together.

Applying is deterministic and never raises on bad entry bytes (a malformed command is a
:class:`quorum.impl.kv.KVError` result, a malformed attributes entry is ignored), so every member
computes the same state from the same log.  The key space refuses writes while an alarm
is active (``KVStore.nospace`` / ``corrupt``, kept in step with the alarm table here).  Conf change entries are decoded here and
handed back to the caller, who must feed them to ``RawNode.apply_conf_change`` (the core
owns the Raft configuration; this module owns names and URLs).
"""

from __future__ import annotations

from dataclasses import dataclass

from quorum.impl import kv
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
    unpack_snapshot,
)

__all__ = ["Outcome", "StateMachine"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one entry produced: who waits for it and what they get."""

    index: int
    request_id: int = 0
    result: kv.Result | None = None
    conf_change: ConfChange | None = None


class StateMachine:
    """Key space plus member table; see the module docstring."""

    def __init__(self, names: dict[int, tuple[str, tuple[str, ...]]] | None = None) -> None:
        self.kv = kv.KVStore()
        self.members = Membership()
        self.alarms = Alarms()
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
        if entry.data.startswith(ALARM_PREFIX):
            self.kv.mark_applied(entry.index)
            req = decode_alarm(entry.data)
            if req is None:
                return Outcome(entry.index)
            self.alarms.apply(req)
            self._sync_alarms()
            return Outcome(entry.index, req.request_id)
        applied = self.kv.apply(entry.index, entry.data)
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
        alarms = self.alarms.dump()
        return pack_snapshot(self.kv.snapshot(), self.members,
                             {"alarms": alarms} if alarms else None)

    def restore(self, data: bytes) -> None:
        """Replace everything by a snapshot's data (raises on malformed bytes)."""
        kv_state, members, extra = unpack_snapshot(data)
        alarms = Alarms()
        alarms.load(extra.get("alarms", []))
        self.kv.restore(kv_state)
        self.members.load(members)
        self.alarms = alarms
        self._sync_alarms()
