"""The sans-IO Raft core: ``RawNode`` in, frozen ``Ready`` out (see ``rawnode.py``).

Start reading at :mod:`quorum.impl.raft.rawnode` (the API and the driver loop), then
:mod:`quorum.impl.raft.raft` (the state machine and its dispatch tables).
"""

from .config import RaftConfig
from .errors import CodecError, ConfigError, NotLeader, PanicError, ProposalDropped, RaftError
from .rawnode import RawNode, Status
from .storage import MemoryStorage

__all__ = ["CodecError", "ConfigError", "MemoryStorage", "NotLeader", "PanicError",
           "ProposalDropped", "RaftConfig", "RaftError", "RawNode", "Status"]
