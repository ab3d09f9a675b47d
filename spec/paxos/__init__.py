"""Single-decree Paxos after Lamport's Paxos.tla, with its known-bug mutants.

``SPEC.build(values, mutant, symmetry)`` returns a :class:`PaxosModel`, which runs the
bit-set encoding (:mod:`quorum.spec.paxos.fast`).  Start reading at
:mod:`quorum.spec.paxos.tla` (Paxos.tla transcribed: state, actions, properties), then
:mod:`quorum.spec.paxos.rules` and :mod:`quorum.spec.paxos.mutants` (the known bugs) and
:mod:`quorum.spec.paxos.config` (the bounds).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from quorum.spec.common import ConfigError, Param, SpecInfo
from quorum.spec.paxos import explain
from quorum.spec.paxos.config import Config, acceptor_name, parse_quorums, value_name
from quorum.spec.paxos.fast import properties, symmetry
from quorum.spec.paxos.fast.actions import successor_function
from quorum.spec.paxos.fast.state import (
    Label,
    Layout,
    PaxosState,
    acceptors,
    initial_state,
    layout,
    max_bal,
    max_v_bal,
    max_val,
    sent1a,
)
from quorum.spec.paxos.mutants import MUTANTS
from quorum.spec.paxos.rules import PAXOS

__all__ = ["SPEC", "Config", "PaxosModel"]


class PaxosModel:
    """A Paxos configuration, as the checker sees it (quorum.model_checker.model.Model)."""

    def __init__(self, cfg: Config, use_symmetry: bool = False) -> None:
        if use_symmetry and not cfg.symmetric():
            raise ConfigError(
                "--symmetry refused: the explicit quorums are not preserved by permuting "
                "acceptors, so states that differ by a permutation may behave differently"
            )
        self.cfg = cfg
        self.rules = cfg.rules  # Paxos.tla's decisions, or the mutant's
        self.name = "paxos" + (f"[{cfg.mutant}]" if cfg.mutant else "")
        self.invariants, self.violated_invariant = properties.checks(cfg)
        self.action_properties: dict[str, Any] = {}
        self.reachability = properties.reachability(cfg)
        self.liveness = properties.liveness(cfg)  # checked by `quorum check --liveness`
        self.fairness = properties.fairness(cfg)
        self.canonicalize = symmetry.canonicalizer(cfg) if use_symmetry else None
        self.view = None
        self.bounded_by_actions = True  # within_bounds below: the checker need not ask
        self._layout = layout(cfg)
        self._next = successor_function(cfg)

    def initial_states(self) -> Iterator[PaxosState]:
        yield initial_state(self.cfg)

    def successors(self, state: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
        return self._next(state)

    def within_bounds(self, state: PaxosState) -> bool:
        return True  # ballots are bounded by the actions themselves (0..max_ballot)

    def render(self, state: PaxosState) -> dict[str, Any]:
        names, accs = [acceptor_name(a) for a in range(self.cfg.acceptors)], acceptors(state)
        return {
            "maxBal": dict(zip(names, map(max_bal, accs), strict=True)),
            "maxVBal": dict(zip(names, map(max_v_bal, accs), strict=True)),
            "maxVal": dict(zip(names, map(value_name, map(max_val, accs)), strict=True)),
            "msgs": frozenset(_messages(self._layout, state)),
        }

    # the checker's optional hooks for charts and explained traces (quorum.spec.paxos.explain)
    def chart_lanes(self) -> list[str]:
        return explain.chart_lanes(self)

    def chart_events(self, state: PaxosState, label: Label, nxt: PaxosState) -> Any:
        return explain.chart_events(self, state, label, nxt)

    def explain_step(self, state: PaxosState, label: Label, nxt: PaxosState) -> list[str]:
        return explain.explain_step(self, state, label, nxt)

    def explain_violation(self, state: PaxosState, prop: str) -> list[str]:
        return explain.explain_violation(self, state, prop)

    def milestones(self, steps: Any) -> list[tuple[int, str]]:
        return explain.milestones(self, steps)


class Msg1a(NamedTuple):
    type: str
    bal: int


class Msg1b(NamedTuple):
    type: str
    acc: str
    bal: int
    mbal: int
    mval: str


class Msg2a(NamedTuple):
    type: str
    bal: int
    val: str


class Msg2b(NamedTuple):
    type: str
    acc: str
    bal: int
    val: str


def _messages(lay: Layout, s: PaxosState) -> Iterator[NamedTuple]:
    """Messages as records with Paxos.tla's field names."""
    for b in lay.bits(sent1a(s)):
        yield Msg1a("1a", b)
    for a, b, mbal, mval in lay.messages_1b(s):
        yield Msg1b("1b", acceptor_name(a), b, mbal, value_name(mval))
    for b, v in lay.proposals(s):
        yield Msg2a("2a", b, value_name(v))
    for a, b, v in lay.votes(s):
        yield Msg2b("2b", acceptor_name(a), b, value_name(v))


PARAMS = (
    Param("acceptors", int, 3, "number of acceptors (a1..aN), 1..7 (states grow ~35x per "
          "acceptor: 5 give 0.7 M)"),
    Param("values", int, 2, "number of values that may be proposed (v1..vM), 1..5"),
    Param("max_ballot", int, 1, "ballots range over 0..MAX_BALLOT, 0..5 (states grow ~50x "
          "per ballot)"),
    Param("quorums", str, "", "explicit quorums, e.g. 'a1,a2;a2,a3;a1,a3' (default: majorities)"),
)


def build(values: Mapping[str, Any], mutant: str | None, use_symmetry: bool) -> PaxosModel:
    n = int(values["acceptors"])
    text = str(values.get("quorums") or "")
    quorums = parse_quorums(text, n) if text else None
    cfg = Config(acceptors=n, values=int(values["values"]),
                 max_ballot=int(values["max_ballot"]), quorums=quorums, mutant=mutant)
    return PaxosModel(cfg, use_symmetry)


SPEC = SpecInfo(
    name="paxos",
    doc="single-decree Paxos (Lamport's Paxos.tla)",
    params=PARAMS,
    mutants=MUTANTS,
    build=build,
    rules=PAXOS,
    properties=("Agreement", "TypeOK", "AccInv", "MsgInv", "VotesSafe", "OneValuePerBallot",
                "ValueChosen"),
)
