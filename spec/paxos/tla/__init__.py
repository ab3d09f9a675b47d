"""Single-decree Paxos, following Lamport's Paxos.tla action for action: the version to READ.

This package is the reference: one state variable per TLA+ variable (:mod:`.state`),
each action a guard and an update (:mod:`.actions`), each property a formula of
Paxos.tla or Voting.tla (:mod:`.properties`).  :mod:`quorum.spec.paxos.fast` is the same
state machine, module for module, in a bit-set encoding that the checker runs ten times
faster; ``tests/spec/paxos/test_encodings.py`` checks that the two have the same
reachable states, the same labelled steps and the same verdicts, so what you read here
is what is checked.

Roles: proposers run Phase1a and Phase2a (the ballot's leader), acceptors run Phase1b
and Phase2b, and learners are implicit: a value is *chosen* when a quorum of
acceptors has voted for it in one ballot (see :func:`.properties.chosen`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from quorum.spec.paxos.config import Config, acceptor_name, value_name
from quorum.spec.paxos.tla.actions import successors
from quorum.spec.paxos.tla.properties import invariants, reachability
from quorum.spec.paxos.tla.state import Label, PaxosState, initial_state

__all__ = ["ReferenceModel"]


class ReferenceModel:
    """The reference spec as a checker model (no symmetry; for reading and cross-checks)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.name = "paxos-reference"
        self.invariants = invariants(cfg)
        self.action_properties: dict[str, Callable[..., bool]] = {}
        self.reachability = reachability(cfg)
        self.canonicalize = None
        self.view = None

    def initial_states(self) -> Iterator[PaxosState]:
        yield initial_state(self.cfg)

    def successors(self, s: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
        return successors(self.cfg, s)

    def within_bounds(self, s: PaxosState) -> bool:
        return True

    def render(self, s: PaxosState) -> dict[str, object]:
        accs = [acceptor_name(a) for a in range(self.cfg.acceptors)]
        return {"maxBal": dict(zip(accs, s.maxBal, strict=True)),
                "maxVBal": dict(zip(accs, s.maxVBal, strict=True)),
                "maxVal": {a: value_name(v) for a, v in zip(accs, s.maxVal, strict=True)},
                "msgs": s.msgs}
