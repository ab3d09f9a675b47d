"""The properties of :mod:`quorum.spec.raft.tla.properties` and the bounds, as the checker runs them.

Every function here returns what the reference function of the same name returns, for
every state (``tests/spec/raft/test_encodings.py`` checks it on every reachable state of
several configurations and mutants); it only gets there faster:

* a property that can only fail when some server leads, or has committed something,
  answers at once when none does (``role.count``, ``any`` run in C);
* otherwise the reference function is memoized on the part of the state it reads: Log
  Matching reads the logs only, State Machine Safety the logs and commit indexes,
  Leader Completeness those and the terms and roles.  Those projections take far fewer
  values than states do (the 3-server benchmark model has about 2 million states and a
  few hundred vectors of logs), so each is computed about once per projection;
* Leader Append-Only holds at once for a step that leaves the logs object untouched,
  which the successor function (:mod:`quorum.spec.raft.fast.actions`) shares by identity.

The memo tables are per model and bounded (cleared when full).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from operator import itemgetter
from typing import Any

from quorum.spec.raft.config import Config
from quorum.spec.raft.tla import properties as ref
from quorum.spec.raft.tla.state import LEADER, State

__all__ = ["action_properties", "invariants", "within_bounds"]

LIMIT = 1 << 17  # entries per memo table before it is cleared

_count = itemgetter(1)  # of a (message, count) pair of the bag


def _memoized(f: Callable[[State], bool], key: Callable[[State], Hashable]
              ) -> Callable[[State], bool]:
    """f, computed once per value of ``key(s)`` (f must read nothing else of s)."""
    table: dict[Hashable, bool] = {}

    def holds(s: State) -> bool:
        k = key(s)
        found = table.get(k)
        if found is None:
            if len(table) >= LIMIT:
                table.clear()
            found = table[k] = f(s)
        return found

    return holds


def _projection(*names: str) -> Callable[[State], Hashable]:
    """The state's fields of these names, as a memo key (an ``itemgetter``: no name is
    looked up per state)."""
    return itemgetter(*(State._fields.index(name) for name in names))


def invariants() -> dict[str, Callable[[State], bool]]:
    """The four state invariants of :data:`quorum.spec.raft.tla.properties.INVARIANTS`, fast."""
    log_matching = _memoized(ref.log_matching, _projection("log"))
    sms = _memoized(ref.state_machine_safety, _projection("log", "commit_index"))
    completeness = _memoized(ref.leader_completeness,
                             _projection("current_term", "role", "log", "commit_index"))

    def election_safety(s: State) -> bool:
        return s.role.count(LEADER) < 2 or ref.election_safety(s)

    def state_machine_safety(s: State) -> bool:
        return not any(s.commit_index) or sms(s)

    def leader_completeness(s: State) -> bool:
        return LEADER not in s.role or not any(s.commit_index) or completeness(s)

    table = {
        "ElectionSafety": election_safety,
        "LogMatching": log_matching,
        "LeaderCompleteness": leader_completeness,
        "StateMachineSafety": state_machine_safety,
    }
    assert list(table) == list(ref.INVARIANTS)
    return table


def action_properties() -> dict[str, Callable[[State, Any, State], bool]]:
    """:data:`quorum.spec.raft.tla.properties.ACTION_PROPERTIES`, fast."""

    def leader_append_only(s: State, label: Any, t: State) -> bool:
        return s.log is t.log or LEADER not in s.role or ref.leader_append_only(s, label, t)

    table: dict[str, Callable[[State, Any, State], bool]] = {
        "LeaderAppendOnly": leader_append_only}
    assert list(table) == list(ref.ACTION_PROPERTIES)
    return table


def within_bounds(config: Config) -> Callable[[State], bool]:
    """TLC's CONSTRAINT for these bounds (RaftModel.within_bounds of the reference)."""
    max_term, max_log, max_msgs = config.max_term, config.max_log, config.max_msgs

    def within(s: State) -> bool:
        bag = s.messages  # most successors that leave the bounds send one message too many
        if bag and (len(bag) > max_msgs or sum(map(_count, bag)) > max_msgs):
            return False
        if max(s.current_term) > max_term:
            return False
        for log in s.log:
            if len(log) > max_log:
                return False
        return True

    return within
