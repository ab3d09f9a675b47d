"""The store's sans-IO Multi-Paxos core (``docs/multipaxos.md``, "The store's Multi-Paxos core").

:class:`~quorum.impl.multipaxos.node.MultiPaxosNode` has the Raft core's driver API (tick,
step, propose, propose_batch, read_index, has_ready, ready, advance, status) and hands out
a :class:`~quorum.impl.multipaxos.types.Ready` with the Raft core's field names, built
from the same :class:`~quorum.impl.raft.types.HardState` and
:class:`~quorum.impl.raft.types.Entry` values, so that the WAL
(:class:`~quorum.impl.storage.DiskStorage`) stores it unchanged.
"""

from .codec import decode_message, encode_message
from .node import MultiPaxosNode, Status, next_ballot, owner
from .types import Message, MessageType, MultiPaxosConfig, Ready

__all__ = ["Message", "MessageType", "MultiPaxosConfig", "MultiPaxosNode", "Ready", "Status",
           "decode_message", "encode_message", "next_ballot", "owner"]
