"""The member table (etcd's ``membership.RaftCluster``, reduced): who is in the cluster,
with names and URLs, kept identical on every member because it only changes when a log
entry is applied.

Three kinds of log entries change it: a Raft conf change adding a member (its context
carries the peer URLs, see :func:`encode_add_context`), one removing a member, and an
*attributes* entry that a member proposes once it is running, publishing its name and
client URLs (etcd's ``publish``).  Attribute entries are told apart from key-value commands
by the two-byte prefix ``b"QM"``, which no msgpack array (what ``quorum.impl.kv`` writes) starts
with.  The table travels inside snapshots (:func:`pack_snapshot`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import msgpack

from quorum.impl.kv.snapshot import bin_header

__all__ = [
    "ATTR_PREFIX",
    "Member",
    "Membership",
    "decode_add_context",
    "decode_attributes",
    "encode_add_context",
    "encode_attributes",
    "pack_snapshot",
    "pack_snapshot_parts",
    "unpack_snapshot",
]

ATTR_PREFIX = b"QM"


@dataclass(frozen=True)
class Member:
    id: int
    name: str = ""
    peer_urls: tuple[str, ...] = ()
    client_urls: tuple[str, ...] = ()

    def row(self) -> list[Any]:
        return [self.id, self.name, list(self.peer_urls), list(self.client_urls)]

    @staticmethod
    def from_row(row: list[Any]) -> Member:
        return Member(int(row[0]), str(row[1]), tuple(row[2]), tuple(row[3]))


class Membership:
    """Members by id, plus ids removed for good (a removed id never comes back)."""

    def __init__(self) -> None:
        self.members: dict[int, Member] = {}
        self.removed: set[int] = set()

    def add(self, member_id: int, peer_urls: tuple[str, ...], name: str = "") -> None:
        old = self.members.get(member_id)
        self.members[member_id] = Member(member_id, name or (old.name if old else ""),
                                         peer_urls, old.client_urls if old else ())

    def remove(self, member_id: int) -> None:
        self.members.pop(member_id, None)
        self.removed.add(member_id)

    def set_attributes(self, member_id: int, name: str, client_urls: tuple[str, ...]) -> None:
        old = self.members.get(member_id)
        if old is not None:  # attributes of a member removed meanwhile are ignored
            self.members[member_id] = replace(old, name=name, client_urls=client_urls)

    def sorted(self) -> list[Member]:
        return [self.members[i] for i in sorted(self.members)]

    def with_peer_url(self, url: str) -> Member | None:
        return next((m for m in self.members.values() if url in m.peer_urls), None)

    def dump(self) -> list[Any]:
        return [[m.row() for m in self.sorted()], sorted(self.removed)]

    def load(self, raw: list[Any]) -> None:
        self.members = {m.id: m for m in (Member.from_row(r) for r in raw[0])}
        self.removed = set(raw[1])


def encode_add_context(peer_urls: tuple[str, ...], request_id: int) -> bytes:
    return msgpack.packb([list(peer_urls), request_id])


def decode_add_context(context: bytes) -> tuple[tuple[str, ...], int]:
    """(peer URLs, request id) of an add; empty URLs for a context we did not write."""
    try:
        urls, request_id = msgpack.unpackb(context)
        return tuple(str(u) for u in urls), int(request_id)
    except Exception:
        return (), 0


def encode_attributes(member_id: int, name: str, client_urls: tuple[str, ...]) -> bytes:
    return ATTR_PREFIX + msgpack.packb([member_id, name, list(client_urls)])


def decode_attributes(data: bytes) -> tuple[int, str, tuple[str, ...]] | None:
    """(member id, name, client URLs), or None if malformed."""
    try:
        member_id, name, urls = msgpack.unpackb(data[len(ATTR_PREFIX):])
        return int(member_id), str(name), tuple(str(u) for u in urls)
    except Exception:
        return None


def pack_snapshot(kv_state: bytes, members: Membership,
                  extra: dict[str, Any] | None = None) -> bytes:
    """The state machine snapshot the runtime hands to Raft: key space plus member table,
    plus ``extra`` named parts of the state machine (e.g. ``"alarms"``) when given."""
    body: list[Any] = [1, kv_state, members.dump()]
    if extra:
        body.append(extra)
    return msgpack.packb(body, use_bin_type=True)


def pack_snapshot_parts(kv_parts: list[bytes], member_rows: list[Any],
                        extra: dict[str, Any] | None = None) -> bytes:
    """:func:`pack_snapshot` of a key space given in pieces and a member table dumped
    earlier (``Membership.dump()``): the same bytes, with one copy of the key space."""
    p = msgpack.Packer(use_bin_type=True)
    size = sum(len(part) for part in kv_parts)
    head = p.pack_array_header(4 if extra else 3) + p.pack(1) + bin_header(size)
    tail = p.pack(member_rows) + (p.pack(extra) if extra else b"")
    return b"".join([head, *kv_parts, tail])


def unpack_snapshot(data: bytes) -> tuple[bytes, list[Any], dict[str, Any]]:
    """Invert :func:`pack_snapshot`: (key space, member table, extra parts; {} if none)."""
    version, kv_state, members, *rest = msgpack.unpackb(data, raw=False)
    if version != 1 or len(rest) > 1:
        raise ValueError(f"unknown snapshot format {version}")
    extra = rest[0] if rest else {}
    if not isinstance(extra, dict):
        raise ValueError("malformed snapshot: extra parts are not a map")
    return kv_state, members, extra
