"""The Raft model handed to the checker: bounds, actions, properties, symmetry.

:class:`RaftModel` satisfies ``quorum.model_checker.model.Model`` structurally (this
package imports nothing of ours besides ``quorum.spec.common``).  By default it runs the
compiled encoding, :mod:`quorum.spec.raft.fast` (successors, memoized properties and
bounds, the cheap canonical form); ``reference=True`` runs the readable transcription,
:mod:`quorum.spec.raft.tla`, module for module the same (``actions``, ``properties``,
``symmetry``).  Both give the same states, steps in the same order, verdicts and orbits
(``tests/spec/raft/test_encodings.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from quorum.spec.common import ConfigError
from quorum.spec.raft import etcd, explain, membership, snapshots
from quorum.spec.raft.config import Config
from quorum.spec.raft.fast import actions as fast
from quorum.spec.raft.fast import properties as fast_properties
from quorum.spec.raft.fast import symmetry as fast_symmetry
from quorum.spec.raft.tla import actions
from quorum.spec.raft.tla.properties import (
    ACTION_PROPERTIES,
    FAIRNESS,
    INVARIANTS,
    LIVENESS,
    REACHABILITY,
)
from quorum.spec.raft.tla.render import render_itf, render_label, render_state
from quorum.spec.raft.tla.rules import RAFT, Rules
from quorum.spec.raft.tla.state import State, initial_state
from quorum.spec.raft.tla.symmetry import canonicalize

__all__ = ["RaftModel"]

Steps = Iterable[tuple[actions.Label, State]]


class RaftModel:
    """raft.tla under a :class:`Config`, with the given :class:`Rules` (a mutant's, or Raft's).

    ``successors`` and ``within_bounds`` are plain functions set per model (the checker
    calls them millions of times; a bound method would add a call each time)."""

    successors: Callable[[State], Steps]
    within_bounds: Callable[[State], bool]

    #: Guided simulation (``--strategy explore``) picks an action name with probability
    #: proportional to its weight, as time would in a deployment: an election timeout
    #: (hundreds of milliseconds) and a heartbeat are long next to a message delay, and
    #: crashes and network faults are rarer still; a candidate asks for votes, and a
    #: server answers, at once.  (Uniform walks and exhaustive search ignore this.)
    action_weights: Mapping[str, float] = MappingProxyType({
        "Timeout": 0.03, "Restart": 0.03, "DropMessage": 0.03, "DuplicateMessage": 0.03,
        "AppendEntries": 0.1, "ClientRequest": 0.3,
    })

    def __init__(self, config: Config, rules: Rules = RAFT, symmetry: bool = False,
                 name: str = "raft", reference: bool = False) -> None:
        self.name = name
        self.config = config
        self.rules = rules
        self.context = actions.Context(
            n=config.servers,
            values=config.values,
            quorum=rules.quorum_size(config.servers),
            rules=rules,
            members=config.member_mask,
        )
        # the compiled encoding runs raft.tla and its mutants; etcd's extensions
        # (quorum.spec.raft.etcd) exist in the readable encoding only
        # and so do snapshots and membership changes (quorum.spec.raft.snapshots, .membership)
        self.reference = reference = reference or config.extended or not fast.supports(rules)
        self._next: Callable[[Any, actions.Context], Iterator[tuple[actions.Label, Any]]] = (
            etcd.successors if etcd.extends(rules) else actions.successors)
        if config.snapshots:
            self._next = snapshots.layer(self._next)
        if config.membership:  # outermost: it filters the sends of InstallSnapshot too
            self._next = membership.layer(self._next)
        if symmetry and config.extended:
            raise ConfigError("--symmetry is not supported with --snapshots or --membership "
                              "(the initial configuration names servers; the canonical form "
                              "knows raft.tla's variables only)")
        if reference:
            self.successors = self.reference_successors
            self.within_bounds = self._reference_within_bounds
            self.invariants = dict(INVARIANTS)
            self.action_properties = dict(ACTION_PROPERTIES)
        else:
            self.successors = fast.successor_function(config, rules)
            # the checker's shortcut past steps that leave the bounds and violate nothing
            self.successors_within = fast.successor_function(config, rules, vouch=True)
            # and past the bounds check of its steps that cannot leave them
            self.may_leave_bounds = fast.MAY_LEAVE_BOUNDS
            self.within_bounds = fast_properties.within_bounds(config)
            self.invariants = fast_properties.invariants()
            self.action_properties = fast_properties.action_properties()
        # A property that the bounds make unreachable is not claimed.
        self.reachability = {
            k: f
            for k, f in REACHABILITY.items()
            if config.max_term >= 2 and (k != "EntryCommitted" or config.max_log >= 1)
        }
        self.liveness = dict(LIVENESS)  # `quorum check raft --liveness`
        self.fairness = list(FAIRNESS)
        self.canonicalize: Callable[[Any], Hashable] | None = None
        if symmetry:
            self.canonicalize = canonicalize if reference else fast_symmetry.canonicalizer(config.servers)
        self.view: Callable[[Any], Hashable] | None = None

    def batch_encoding(self) -> Any:
        """raft.tla over arrays of rows, for the vector engine
        (:mod:`quorum.spec.raft.fast.batch`), or None where it does not apply: the
        stale-append and membership-without-fix mutants, etcd's extensions, snapshots or
        membership changes, symmetry beyond
        :data:`~quorum.spec.raft.fast.batch.MAX_SYMMETRY_SERVERS` servers."""
        from quorum.spec.raft.fast import batch

        symmetric = self.canonicalize is not None
        if self.reference or not batch.supports(self.rules, self.config, symmetric):
            return None
        return batch.RaftBatch(self.config, self.rules, symmetry=symmetric)

    def initial_states(self) -> Iterable[Any]:
        if self.config.snapshots:
            return (snapshots.initial_snap_state(self.config.servers),)
        return (initial_state(self.config.servers),)

    def reference_successors(self, state: State) -> Iterator[tuple[actions.Label, State]]:
        """raft.tla's Next computed by the readable transcription (quorum.spec.raft.tla.actions),
        with etcd's extensions (quorum.spec.raft.etcd) when the rules switch any on."""
        return self._next(state, self.context)

    def _reference_within_bounds(self, state: State) -> bool:
        """TLC's CONSTRAINT: terms, log lengths and messages in flight within the bounds."""
        cfg = self.config
        bag = state.messages
        return (
            max(state.current_term) <= cfg.max_term
            and max(map(len, state.log)) <= cfg.max_log
            and sum([c for _, c in bag]) <= cfg.max_msgs
        )

    def render(self, state: State) -> dict[str, Any]:
        return render_state(state)

    def render_brief(self, state: State) -> dict[str, Any]:
        """For printed traces: messages without raft.tla's proof-only ``mlog``."""
        return render_state(state, proof=False)

    @staticmethod
    def render_label_brief(label: actions.Label) -> actions.Label:
        return render_label(label, proof=False)

    def render_itf(self, state: State) -> dict[str, Any]:
        """raft.tla's shapes for ITF: messages as records (quorum.model_checker.trace)."""
        return render_itf(state)

    # the checker's optional hooks for charts and explained traces (quorum.spec.raft.explain)
    def chart_lanes(self) -> list[str]:
        return explain.chart_lanes(self)

    def chart_events(self, state: State, label: actions.Label, nxt: State) -> Any:
        return explain.chart_events(self, state, label, nxt)

    def describe_step(self, state: State, label: actions.Label, nxt: State) -> str | None:
        return explain.describe_step(self, state, label, nxt)

    def step_note(self, state: State, label: actions.Label, nxt: State) -> str | None:
        return explain.step_note(self, state, label, nxt)

    def explain_step(self, state: State, label: actions.Label, nxt: State) -> list[str]:
        return explain.explain_step(self, state, label, nxt)

    def explain_violation(self, state: State, prop: str) -> list[str]:
        return explain.explain_violation(self, state, prop)

    def milestones(self, steps: Any) -> list[tuple[int, str]]:
        return explain.milestones(self, steps)

    @staticmethod
    def render_label(label: actions.Label) -> actions.Label:
        """A label as printed: servers, values and messages named (``Timeout(i='s1')``);
        the labels themselves carry ints and the message."""
        return render_label(label)

    @staticmethod
    def explore_cell(state: State) -> Hashable:
        """Guided simulation's abstraction: each server's role, the terms of its log
        entries, its commit index and its vote count, as a multiset over servers (so
        renamings share a cell); terms and messages left out."""
        return tuple(sorted(
            (role, tuple(term for term, _ in log), commit, votes.bit_count())
            for role, log, commit, votes in zip(
                state.role, state.log, state.commit_index, state.votes_granted, strict=True)))

    @staticmethod
    def explore_cost(state: State) -> tuple[int, int]:
        """How much of the term bound a state has used: of two states in one cell, the
        one with the lower terms leaves more elections to come."""
        return max(state.current_term), sum(state.current_term)
