"""Multi-Paxos for state machine replication, after MultiPaxos.tla (tlaplus/Examples).

``SPEC.build(values, mutant, symmetry)`` returns a :class:`MultiPaxosModel`.  Start
reading at :mod:`quorum.spec.multipaxos.tla` (the transcription: state, actions,
properties), then :mod:`quorum.spec.multipaxos.rules` and
:mod:`quorum.spec.multipaxos.mutants` (the known bugs), :mod:`.symmetry` and
:mod:`.config` (the bounds).  ``docs/multipaxos.md`` teaches the protocol from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from quorum.spec.common import ConfigError, Param, SpecInfo
from quorum.spec.multipaxos import fast
from quorum.spec.multipaxos.config import Config, replica_name
from quorum.spec.multipaxos.fast.properties import invariants
from quorum.spec.multipaxos.mutants import MUTANTS
from quorum.spec.multipaxos.rules import MULTIPAXOS
from quorum.spec.multipaxos.tla.properties import PROPERTIES, fairness
from quorum.spec.multipaxos.tla.state import (
    ACCEPT,
    ACCEPT_REPLY,
    PREPARE,
    PREPARE_REPLY,
    REQ,
    STATUS_NAMES,
    Label,
    Message,
)

__all__ = ["SPEC", "Config", "MultiPaxosModel"]


class Vote(NamedTuple):
    bal: int
    cmd: str


class Inst(NamedTuple):
    status: str
    cmd: str
    voted: Vote


class PrepareMsg(NamedTuple):
    type: str
    src: str
    bal: int


class PrepareReplyMsg(NamedTuple):
    type: str
    src: str
    bal: int
    votes: tuple[Vote, ...]


class AcceptMsg(NamedTuple):
    type: str
    src: str
    bal: int
    slot: int
    cmd: str


class AcceptReplyMsg(NamedTuple):
    type: str
    src: str
    bal: int
    slot: int


class CommitNoticeMsg(NamedTuple):
    type: str
    upto: int


class BallotNoticeMsg(NamedTuple):
    type: str
    upto: int
    bal: int


class ReqEvent(NamedTuple):
    type: str
    cmd: str


class AckEvent(NamedTuple):
    type: str
    cmd: str
    val: str


class MultiPaxosModel:
    """A Multi-Paxos configuration, as the checker sees it (quorum.model_checker.model.Model).

    It runs the packed encoding (:mod:`quorum.spec.multipaxos.fast`); ``render`` shows a
    state as the readable one (:func:`~quorum.spec.multipaxos.fast.decode`) with the
    reference's names.
    """

    def __init__(self, cfg: Config, use_symmetry: bool = False) -> None:
        self.cfg = cfg
        self.rules = cfg.rules
        self.name = "multipaxos" + (f"[{cfg.mutant}]" if cfg.mutant else "")
        self.invariants = invariants(cfg)
        self.action_properties: dict[str, Any] = {}
        self.reachability: dict[str, Any] = {}
        # checked by `quorum check --liveness`: the reference's Termination
        self.liveness = {"Termination": ("eventually", lambda s: all(s[4]))}
        self.fairness = fairness(cfg)
        self.canonicalize = fast.canonicalizer(cfg) if use_symmetry else None
        self.view = None
        self._next = fast.successor_function(cfg)

    def initial_states(self) -> Iterator[fast.FastState]:
        yield fast.initial_state(self.cfg)

    def successors(self, state: fast.FastState) -> Iterator[tuple[Label, fast.FastState]]:
        return self._next(state)

    def within_bounds(self, state: fast.FastState) -> bool:
        return True  # ballots and slots are bounded by the actions themselves

    # printing: the reference's names (s1, w1, r1, nil, "Accepting", ...)
    def _cmd(self, c: int) -> str:
        return self.cfg.command_name(c)

    def _message(self, m: Message) -> NamedTuple:
        if m.type == PREPARE:
            return PrepareMsg("Prepare", replica_name(m.src), m.bal)  # type: ignore[union-attr]
        if m.type == PREPARE_REPLY:
            return PrepareReplyMsg("PrepareReply", replica_name(m.src), m.bal,  # type: ignore[union-attr]
                                   tuple(Vote(b, self._cmd(c)) for b, c in m.votes))  # type: ignore[union-attr]
        if m.type == ACCEPT:
            return AcceptMsg("Accept", replica_name(m.src), m.bal, m.slot,  # type: ignore[union-attr]
                             self._cmd(m.cmd))  # type: ignore[union-attr]
        if m.type == ACCEPT_REPLY:
            return AcceptReplyMsg("AcceptReply", replica_name(m.src), m.bal, m.slot)  # type: ignore[union-attr]
        if self.cfg.notice_ballot:
            return BallotNoticeMsg("CommitNotice", m.upto, m.bal)  # type: ignore[union-attr]
        return CommitNoticeMsg("CommitNotice", m.upto)  # type: ignore[union-attr]

    def render(self, packed: fast.FastState) -> dict[str, Any]:
        state = fast.decode(self.cfg, packed)
        names = [replica_name(r) for r in range(self.cfg.replicas)]
        node = {}
        for name, n in zip(names, state.node, strict=True):
            node[name] = {
                "leader": replica_name(n.leader), "kvalue": self._cmd(n.kvalue),
                "commitUpTo": n.commitUpTo, "balPrepared": n.balPrepared,
                "balMaxKnown": n.balMaxKnown,
                "insts": tuple(Inst(STATUS_NAMES[i.status], self._cmd(i.cmd),
                                    Vote(i.vbal, self._cmd(i.vcmd))) for i in n.insts)}
        observed = tuple(ReqEvent("Req", self._cmd(e[1])) if e[0] == REQ
                         else AckEvent("Ack", self._cmd(e[1]), self._cmd(e[2]))
                         for e in state.observed)
        return {"msgs": frozenset(self._message(m) for m in state.msgs), "node": node,
                "pending": tuple(self._cmd(c) for c in state.pending), "observed": observed,
                "pc": {name: "Done" if d else "rloop"
                       for name, d in zip(names, state.done, strict=True)}}

    def render_label(self, label: Label) -> Label:
        name, params = label
        shown: list[tuple[str, object]] = []
        for key, value in params:
            if key == "r":
                shown.append((key, replica_name(value)))  # type: ignore[arg-type]
            elif key == "c":
                shown.append((key, self._cmd(value)))  # type: ignore[arg-type]
            elif key == "recovered":
                shown.append((key, tuple(self._cmd(c) for c in value)))  # type: ignore[attr-defined]
            elif key == "m":
                shown.append((key, self._message(value)))  # type: ignore[arg-type]
            else:
                shown.append((key, value))
        return name, tuple(shown)


PARAMS = (
    Param("replicas", int, 3, "number of replicas (s1..sN), 1..5"),
    Param("writes", int, 1, "number of write commands (w1..wW), 1..3; one slot per command"),
    Param("reads", int, 1, "number of read commands (r1..rR), 0..3"),
    Param("max_ballot", int, 1, "ballots range over 1..MAX_BALLOT, 1..4 (TLC's small model: 2, "
          "0.34 M states under --symmetry)"),
    Param("any_request", bool, False, "a leader may take any pending request, not only the "
          "first (the reference takes the first)"),
    Param("notice_ballot", bool, False, "CommitNotice names the leader's ballot and a follower "
          "executes only a vote of that ballot (the reference's followers execute any vote, "
          "which breaks ExecutedChosen from --max-ballot 2)"),
)


def build(values: Mapping[str, Any], mutant: str | None, use_symmetry: bool) -> MultiPaxosModel:
    try:
        cfg = Config(replicas=int(values["replicas"]), writes=int(values["writes"]),
                     reads=int(values["reads"]), max_ballot=int(values["max_ballot"]),
                     any_request=bool(values.get("any_request", False)),
                     notice_ballot=bool(values.get("notice_ballot", False)), mutant=mutant)
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(str(e)) from None
    return MultiPaxosModel(cfg, use_symmetry)


SPEC = SpecInfo(
    name="multipaxos",
    doc="Multi-Paxos for state machine replication (MultiPaxos.tla, tlaplus/Examples)",
    params=PARAMS,
    mutants=MUTANTS,
    build=build,
    rules=MULTIPAXOS,
    properties=PROPERTIES,
)
