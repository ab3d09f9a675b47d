"""Multi-Paxos, following Guanzhou Hu's MultiPaxos.tla (tlaplus/Examples,
``specifications/MultiPaxos-SMR``) action for action.

One state variable per TLA+ variable (:mod:`.state`), one function per PlusCal macro
(:mod:`.actions`), the properties of MultiPaxos_MC.tla and per-slot agreement
(:mod:`.properties`).  :mod:`quorum.spec.multipaxos.fast` is the same machine packed
into ints, which the checker runs; ``tests/spec/multipaxos/test_encodings.py`` checks
that the two agree state for state and step for step.  Roles: every replica is a proposer (``BecomeLeader``,
``HandlePrepareReplies``, ``TakeNewRequest``, ``HandleAcceptReplies``), an acceptor
(``HandlePrepare``, ``HandleAccept``) and a learner (``HandleAcceptReplies`` for the
leader, ``HandleCommitNotice`` for the followers).
"""

from collections.abc import Iterator
from typing import Any

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.tla.actions import successors, terminated
from quorum.spec.multipaxos.tla.properties import PROPERTIES, chosen, invariants
from quorum.spec.multipaxos.tla.state import Label, MultiPaxosState, initial_state

__all__ = ["PROPERTIES", "MultiPaxosState", "ReferenceModel", "chosen", "initial_state",
           "invariants", "successors", "terminated"]


class ReferenceModel:
    """The readable spec as a checker model (for reading and for the encodings' test);
    ``quorum check`` runs :class:`quorum.spec.multipaxos.MultiPaxosModel`, the packed twin."""

    def __init__(self, cfg: Config, use_symmetry: bool = False) -> None:
        from quorum.spec.multipaxos.symmetry import canonicalizer

        self.cfg = cfg
        self.name = "multipaxos-reference"
        self.invariants = invariants(cfg)
        self.action_properties: dict[str, Any] = {}
        self.reachability: dict[str, Any] = {}
        self.canonicalize = canonicalizer(cfg) if use_symmetry else None
        self.view = None

    def initial_states(self) -> Iterator[MultiPaxosState]:
        yield initial_state(self.cfg)

    def successors(self, s: MultiPaxosState) -> Iterator[tuple[Label, MultiPaxosState]]:
        return successors(self.cfg, s)

    def within_bounds(self, s: MultiPaxosState) -> bool:
        return True

    def render(self, s: MultiPaxosState) -> dict[str, Any]:
        return s._asdict()
