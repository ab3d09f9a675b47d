"""Readable names for the int-encoded Raft state and labels: ``s1``, ``v1``, ``Leader``.

``message_name`` spells a message the way raft.tla's records read (field names
as in raft.tla); it is used both in printed labels (``Receive(m=...)``) and as the key
of a message in a rendered bag, so a trace reads the same in both places.  States and
labels hold raw ints and tuples; names exist only here, when something is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from quorum.spec.raft.tla.actions import Label
from quorum.spec.raft.tla.state import (
    ADDRESSES,
    NIL,
    AppendEntriesRequest,
    Log,
    Message,
    RequestVoteRequest,
    RequestVoteResponse,
)

__all__ = ["LABEL_PARAMS", "PROOF_FIELDS", "ROLE_NAMES", "LogEntry", "log_name", "message_name", "message_record",
           "render_itf", "render_label", "render_state", "server_name", "value_name"]

ROLE_NAMES = ("Follower", "Candidate", "Leader")


def server_name(i: int) -> str:
    return f"s{i + 1}"


#: where a configuration's learners begin (quorum.spec.raft.membership.LEARNERS)
_LEARNERS = 16


def value_name(v: int) -> str:
    """``v1``; a configuration entry's value (``~members``, quorum.spec.raft.membership)
    as ``{s1,s2}``, with learners as ``{s1,s2 +learners s3}``."""
    if v < 0:
        voters, learners = ~v & ((1 << _LEARNERS) - 1), ~v >> _LEARNERS
        names = ",".join(server_name(j) for j in range(voters.bit_length()) if voters >> j & 1)
        extra = ",".join(server_name(j) for j in range(learners.bit_length()) if learners >> j & 1)
        return "{" + names + (f" +learners {extra}" if extra else "") + "}"
    return f"v{v + 1}"


def log_name(log: Log) -> str:
    """``<<2:v1, 3:v1>>``: each entry as term:value."""
    return "<<" + ", ".join(f"{t}:{value_name(v)}" for t, v in log) + ">>"


#: raft.tla's fields "used only for proof" (its comments): the sender's whole log in a
#: RequestVoteResponse and an AppendEntriesRequest; no guard of the protocol reads them.
#: Printed traces leave them out unless asked (``quorum check --proof-fields``).
PROOF_FIELDS = ("mlog",)


def _fields(m: Message) -> list[tuple[str, str]]:
    if isinstance(m, RequestVoteRequest):
        return [("mlastLogTerm", str(m.mlast_log_term)), ("mlastLogIndex", str(m.mlast_log_index))]
    if isinstance(m, RequestVoteResponse):
        return [("mvoteGranted", str(bool(m.mvote_granted))), ("mlog", log_name(m.mlog))]
    if isinstance(m, AppendEntriesRequest):
        return [
            ("mprevLogIndex", str(m.mprev_log_index)),
            ("mprevLogTerm", str(m.mprev_log_term)),
            ("mentries", log_name(m.mentries)),
            ("mlog", log_name(m.mlog)),
            ("mcommitIndex", str(m.mcommit_index)),
        ]
    if hasattr(m, "mlast_index"):  # InstallSnapshot (quorum.spec.raft.snapshots)
        x: Any = m
        return [("mlastIndex", str(x.mlast_index)), ("mlastTerm", str(x.mlast_term)),
                ("mdata", log_name(x.mdata))]
    return [("msuccess", str(bool(m.msuccess))), ("mmatchIndex", str(m.mmatch_index))]


_TYPE_NAMES = (
    "RequestVoteRequest",
    "RequestVoteResponse",
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "InstallSnapshotRequest",
)


@lru_cache(maxsize=1 << 16)
def message_name(m: Message, proof: bool = True) -> str:
    """``RequestVoteRequest(s1->s2, mterm=2, mlastLogTerm=0, mlastLogIndex=0)``; without
    ``proof``, the :data:`PROOF_FIELDS` left out."""
    fields = [("mterm", str(m.mterm)), *_fields(m)]
    if not proof:
        fields = [(k, v) for k, v in fields if k not in PROOF_FIELDS]
    inner = ", ".join(f"{k}={v}" for k, v in fields)
    return f"{_TYPE_NAMES[m.mtype]}({server_name(m.msource)}->{server_name(m.mdest)}, {inner})"


def _per_server(values: tuple, f: Any = lambda x: x) -> dict[str, Any]:
    return {server_name(i): f(v) for i, v in enumerate(values)}


def _server_set(mask: int) -> frozenset[str]:
    return frozenset(server_name(j) for j in range(mask.bit_length()) if mask >> j & 1)


class LogEntry(NamedTuple):
    """A log entry as raft.tla's record ``[term |-> t, value |-> v]``."""

    term: int
    value: str


def _log(log: Log) -> tuple[LogEntry, ...]:
    return tuple(LogEntry(t, value_name(v)) for t, v in log)


def render_state(s: Any, proof: bool = True) -> dict[str, Any]:
    """raft.tla's variables (without the history ones) with readable names; without
    ``proof``, messages without their :data:`PROOF_FIELDS` (copies that differ only there
    are counted under one name)."""
    messages: dict[str, int] = {}
    for m, c in s.messages:
        name = message_name(m, proof)
        messages[name] = messages.get(name, 0) + c
    return {
        "currentTerm": _per_server(s.current_term),
        "state": _per_server(s.role, ROLE_NAMES.__getitem__),
        "votedFor": _per_server(s.voted_for, lambda v: "Nil" if v == NIL else server_name(v)),
        "log": _per_server(s.log, _log),
        "commitIndex": _per_server(s.commit_index),
        "votesResponded": _per_server(s.votes_responded, _server_set),
        "votesGranted": _per_server(s.votes_granted, _server_set),
        "nextIndex": _per_server(s.next_index, _per_server),
        "matchIndex": _per_server(s.match_index, _per_server),
        **({"snapshotIndex": _per_server(s.snapshot_index)} if hasattr(s, "snapshot_index")
           else {}),
        "messages": messages,
    }


#: how each parameter of a label is named; the others (terms, indexes) print as they are
LABEL_PARAMS: dict[str, Callable[[Any], str]] = {
    "i": server_name, "j": server_name, "v": value_name, "m": message_name,
}


def render_label(label: Label, proof: bool = True) -> Label:
    """A label as people read it (the model's ``render_label``): ``("Timeout", (("i", 0),))``
    -> ``("Timeout", (("i", "s1"),))``, a message by its :func:`message_name` (without
    ``proof``, without its :data:`PROOF_FIELDS`)."""
    name, params = label
    return name, tuple((k, message_name(v, proof) if k == "m" else
                        LABEL_PARAMS[k](v) if k in LABEL_PARAMS else v) for k, v in params)


# -- raft.tla's values, for ITF (the Informal Trace Format of Apalache and Quint) -----------
class RequestVoteRequestRecord(NamedTuple):
    """raft.tla's ``[mtype |-> RequestVoteRequest, mterm |-> ..., ...]``, its field names."""

    mtype: str
    mterm: int
    mlastLogTerm: int
    mlastLogIndex: int
    msource: str
    mdest: str


class RequestVoteResponseRecord(NamedTuple):
    mtype: str
    mterm: int
    mvoteGranted: bool
    mlog: tuple[LogEntry, ...]
    msource: str
    mdest: str


class AppendEntriesRequestRecord(NamedTuple):
    mtype: str
    mterm: int
    mprevLogIndex: int
    mprevLogTerm: int
    mentries: tuple[LogEntry, ...]
    mlog: tuple[LogEntry, ...]
    mcommitIndex: int
    msource: str
    mdest: str


class AppendEntriesResponseRecord(NamedTuple):
    mtype: str
    mterm: int
    msuccess: bool
    mmatchIndex: int
    msource: str
    mdest: str


_RECORDS = (RequestVoteRequestRecord, RequestVoteResponseRecord, AppendEntriesRequestRecord,
            AppendEntriesResponseRecord)


def message_record(m: Message) -> NamedTuple:
    """A message as raft.tla's record: its field names, servers and the message type as
    raft.tla's model values (``s1``, ``RequestVoteRequest``), logs as sequences of
    ``[term |-> t, value |-> v]``."""
    fields: list[Any] = [_TYPE_NAMES[m.mtype]]
    for x in m[1:ADDRESSES]:
        fields.append(_log(x) if isinstance(x, tuple) else x)
    fields += [server_name(m.msource), server_name(m.mdest)]
    record: NamedTuple = _RECORDS[m.mtype](*fields)
    return record


def render_itf(s: Any) -> dict[str, Any]:
    """raft.tla's variables shaped as raft.tla has them, for ITF: like :func:`render_state`,
    but ``messages`` is the bag as raft.tla's function from message records to counts."""
    out = render_state(s)
    out["messages"] = {message_record(m): c for m, c in s.messages}
    return out
