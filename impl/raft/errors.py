"""Errors of the Raft core, split by who is at fault (h11's style).

* :class:`ConfigError`: the driver built a :class:`~quorum.impl.raft.rawnode.RaftConfig` that
  cannot work (the caller's fault, reported in one line at construction).
* :class:`ProposalDropped` and :class:`NotLeader`: the request cannot be served by this
  node right now (no known leader, a leadership transfer in progress, a conf change
  already pending); the client should retry, maybe elsewhere.
* :class:`CompactedError`, :class:`UnavailableError`, :class:`SnapshotOutOfDateError`:
  log storage answers (etcd-raft's ``ErrCompacted``, ``ErrUnavailable``,
  ``ErrSnapOutOfDate``).
* :class:`CodecError`: a peer sent bytes that are not a valid message (the peer's
  fault: the transport closes that connection, the node keeps running).
* :class:`PanicError`: an invariant the core relies on is broken, where etcd-raft
  panics (a commit beyond the log, an overwrite of committed entries, an impossible
  role change): the node's own state can no longer be trusted, and its driver stops it.
"""

from __future__ import annotations

__all__ = [
    "CodecError",
    "CompactedError",
    "ConfigError",
    "NotLeader",
    "PanicError",
    "ProposalDropped",
    "RaftError",
    "SnapshotOutOfDateError",
    "StorageError",
    "UnavailableError",
]


class RaftError(Exception):
    """Base class of every error the Raft core raises on purpose."""


class ConfigError(RaftError, ValueError):
    """An invalid core configuration: the driver's fault."""


class ProposalDropped(RaftError):
    """A proposal or read request was not accepted; nothing was appended or queued."""


class NotLeader(ProposalDropped):
    """The operation needs the leader; ``leader`` is the known leader's id, or 0."""

    def __init__(self, leader: int, what: str = "operation") -> None:
        super().__init__(f"{what} needs the leader; known leader: {leader or 'none'}")
        self.leader = leader


class StorageError(RaftError):
    """Base class of log storage answers."""


class CompactedError(StorageError):
    """The requested index lies at or below the storage's snapshot (compacted away)."""


class UnavailableError(StorageError):
    """The requested index or snapshot is not (yet) available."""


class SnapshotOutOfDateError(StorageError):
    """A snapshot older than the one the storage already holds."""


class CodecError(RaftError, ValueError):
    """Malformed wire data from a peer: close that connection, never crash the node."""


class PanicError(RaftError):
    """A broken invariant of the core (etcd-raft panics there): a bug in the core or its
    driver, or a log that storage lost.  Raised by explicit checks, so also under
    ``python -O``.  Never catch it to carry on: the driver must stop the node (the
    simulator reports it as a failed safety check, the server stops the member)."""
