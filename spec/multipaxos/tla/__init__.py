"""Multi-Paxos, following Guanzhou Hu's MultiPaxos.tla (tlaplus/Examples,
``specifications/MultiPaxos-SMR``) action for action.

One state variable per TLA+ variable (:mod:`.state`), one function per PlusCal macro
(:mod:`.actions`), the properties of MultiPaxos_MC.tla and per-slot agreement
(:mod:`.properties`).  Roles: every replica is a proposer (``BecomeLeader``,
``HandlePrepareReplies``, ``TakeNewRequest``, ``HandleAcceptReplies``), an acceptor
(``HandlePrepare``, ``HandleAccept``) and a learner (``HandleAcceptReplies`` for the
leader, ``HandleCommitNotice`` for the followers).
"""

from quorum.spec.multipaxos.tla.actions import successors, terminated
from quorum.spec.multipaxos.tla.properties import PROPERTIES, chosen, invariants
from quorum.spec.multipaxos.tla.state import MultiPaxosState, initial_state

__all__ = ["PROPERTIES", "MultiPaxosState", "chosen", "initial_state", "invariants",
           "successors", "terminated"]
