"""The five safety properties of the Raft paper (Figure 3), as functions of the state.

raft.tla states some of them over its history variables (``elections``,
``allLogs``); here each is a function of one state (or, for Leader
Append-Only, of one step), so a verdict never depends on the order in which
states were explored.  Each is implied by the paper's property of the same
name, so a violation here is a violation of the paper's property.

"Committed" is read from the state: the entries ``log[i][1..commitIndex[i]]``
are known committed by server i.  Server i learned that from a leader of a term
at most ``currentTerm[i]`` (a follower takes ``mcommitIndex`` only from a leader
of its own term, and terms only grow), so those entries were committed in a
term at most ``currentTerm[i]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quorum.spec.raft.tla.state import LEADER, State

__all__ = [
    "ACTION_PROPERTIES",
    "FAIRNESS",
    "INVARIANTS",
    "LIVENESS",
    "REACHABILITY",
    "election_safety",
    "entry_committed",
    "leader_append_only",
    "leader_completeness",
    "leader_elected",
    "log_matching",
    "state_machine_safety",
]


def _leaders(s: State) -> list[int]:
    return [i for i, r in enumerate(s.role) if r == LEADER]


def election_safety(s: State) -> bool:
    """At most one leader per term (Figure 3, Election Safety; §5.2)."""
    terms = [s.current_term[i] for i in _leaders(s)]
    return len(terms) == len(set(terms))


def log_matching(s: State) -> bool:
    """Two logs with an entry of the same index and term agree on every entry up
    to that index (Figure 3, Log Matching; §5.3)."""
    logs = s.log
    for a in range(len(logs)):
        for b in range(a + 1, len(logs)):
            x, y = logs[a], logs[b]
            # The last index where both logs hold an entry of the same term.
            k = min(len(x), len(y))
            while k and x[k - 1][0] != y[k - 1][0]:
                k -= 1
            if x[:k] != y[:k]:
                return False
    return True


def leader_completeness(s: State) -> bool:
    """A leader's log holds every entry committed in an earlier term (Figure 3,
    Leader Completeness; §5.4): every server i with a lower term than leader l
    has its committed prefix in l's log."""
    for leader in _leaders(s):
        log, term = s.log[leader], s.current_term[leader]
        for i, committed in enumerate(s.commit_index):
            if committed and s.current_term[i] < term and log[:committed] != s.log[i][:committed]:
                return False
    return True


def state_machine_safety(s: State) -> bool:
    """No two servers have committed different entries at the same index
    (Figure 3, State Machine Safety; §5.4.3)."""
    prefixes = [log[:c] for log, c in zip(s.log, s.commit_index, strict=True)]
    for a in range(len(prefixes)):
        for b in range(a + 1, len(prefixes)):
            k = min(len(prefixes[a]), len(prefixes[b]))
            if prefixes[a][:k] != prefixes[b][:k]:
                return False
    return True


def leader_append_only(s: State, label: Any, t: State) -> bool:
    """A leader never overwrites or deletes entries of its log during its term
    (Figure 3, Leader Append-Only; §5.3): a server that is leader of the same
    term before and after a step only appends."""
    for i in _leaders(s):
        if t.role[i] == LEADER and t.current_term[i] == s.current_term[i]:
            before = s.log[i]
            if t.log[i][: len(before)] != before:
                return False
    return True


def leader_elected(s: State) -> bool:
    """Reachability: some server becomes leader (else the spec can do nothing)."""
    return LEADER in s.role


def entry_committed(s: State) -> bool:
    """Reachability: some server knows an entry is committed."""
    return any(s.commit_index)


INVARIANTS: dict[str, Callable[[State], bool]] = {
    "ElectionSafety": election_safety,
    "LogMatching": log_matching,
    "LeaderCompleteness": leader_completeness,
    "StateMachineSafety": state_machine_safety,
}
ACTION_PROPERTIES: dict[str, Callable[[State, Any, State], bool]] = {
    "LeaderAppendOnly": leader_append_only,
}
REACHABILITY: dict[str, Callable[[State], bool]] = {
    "LeaderElected": leader_elected,
    "EntryCommitted": entry_committed,
}


# -- liveness (checked by `quorum check raft --liveness`; see docs/checker.md) ----------
def _some_leader(s: State) -> bool:
    return LEADER in s.role


#: ``<>(\E i : state[i] = Leader)``: some server eventually leads.  In a bounded model
#: this fails even under fairness: a split vote at the last term is never resolved.
LIVENESS: dict[str, tuple[str, Callable[[State], bool]]] = {
    "EventuallyLeader": ("eventually", _some_leader),
}

_FAIR_ACTIONS = frozenset({"Timeout", "RequestVote", "BecomeLeader", "Receive"})


def _fair_instance(label: Any) -> Any:
    """Each instance (label) of Timeout(i), RequestVote(i, j), BecomeLeader(i) and
    Receive(m) is its own weak-fairness condition; other steps belong to none."""
    return label if label[0] in _FAIR_ACTIONS else None


#: weak fairness of every instance of the election's actions and of message receipt;
#: not of Restart, DuplicateMessage, DropMessage or client requests
FAIRNESS: list[tuple[str, Callable[[Any], Any]]] = [
    ("WF(Timeout(i)), WF(RequestVote(i, j)), WF(BecomeLeader(i)), WF(Receive(m)) for all "
     "i, j, m", _fair_instance),
]
