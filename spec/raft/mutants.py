"""Known Raft bugs, each a one-line change of raft.tla's :class:`~quorum.spec.raft.tla.rules.Rules`.

Every mutant names the rule it breaks, the property the checker reports, and
the smallest bounds known to expose it (used when ``--mutant`` is given without
explicit flags).  Bugs whose shortest trace is too deep for breadth-first
search within a minute default to seeded simulation.  ``docs/raft.md`` tells
each bug's story with its trace.
"""

from __future__ import annotations

from dataclasses import replace

from quorum.spec.common import Mutant
from quorum.spec.raft.tla.rules import ACCEPT, RAFT, REJECT, STEP_DOWN, Rules, is_config_entry
from quorum.spec.raft.tla.state import CANDIDATE, NIL, AppendEntriesRequest, Log, RequestVoteRequest

__all__ = ["MUTANTS", "RULES"]


def _any_log(log: Log, m: RequestVoteRequest) -> bool:
    return True


def _commit_any_term(entry_term: int, current_term: int) -> bool:
    return True


def _forget_vote(voted_for: int) -> int:
    return NIL


def _ceil_half(n: int) -> int:
    return (n + 1) // 2


def _any_entry_present(log: Log, index: int, entry: tuple[int, int]) -> bool:
    return len(log) >= index


def _stale_append_branch(role: int, term: int, m: AppendEntriesRequest, log_ok: bool) -> str:
    if m.mterm == term and role == CANDIDATE:
        return STEP_DOWN
    return ACCEPT if log_ok else REJECT


def _any_role(role: int) -> bool:
    return True


def _change_without_fix(log: Log, commit_index: int, current_term: int) -> bool:
    return not any(is_config_entry(e) for e in log[commit_index:])  # one at a time only


#: mutant name -> the rules it runs with
RULES: dict[str, Rules] = {
    "commit-old-term": replace(RAFT, commit_term_ok=_commit_any_term),
    "ceil-quorum": replace(RAFT, quorum_size=_ceil_half),
    "forget-vote": replace(RAFT, vote_after_restart=_forget_vote),
    "no-up-to-date-check": replace(RAFT, vote_log_ok=_any_log),
    "no-truncate": replace(RAFT, entry_present=_any_entry_present),
    "stale-append": replace(RAFT, append_branch=_stale_append_branch),
    "follower-writes": replace(RAFT, may_take_requests=_any_role),
    "membership-without-fix": replace(RAFT, may_change_config=_change_without_fix),
}

MUTANTS: dict[str, Mutant] = {
    "commit-old-term": Mutant(
        "commit-old-term",
        "a leader commits an entry of an earlier term once a quorum holds it (the paper's "
        "Figure 8): a later leader that lacks the entry is elected (LeaderCompleteness) "
        "and overwrites it (StateMachineSafety, which a simulation may meet first)",
        defaults={"servers": 3, "values": 1, "max_term": 5, "max_log": 1, "max_msgs": 1},
        expect="LeaderCompleteness",
        mode="simulation",
        simulation={"depth": 150, "runs": 100_000, "seed": 0, "strategy": "explore"},
    ),
    "ceil-quorum": Mutant(
        "ceil-quorum",
        "quorum = ceil(n/2) (the tutorial's formula): with 2 servers one vote elects a "
        "leader, so both servers lead the same term",
        defaults={"servers": 2, "values": 1, "max_term": 2, "max_log": 0, "max_msgs": 1},
        expect="ElectionSafety",
    ),
    "forget-vote": Mutant(
        "forget-vote",
        "votedFor is not kept across a restart: a server votes twice in one term and two "
        "candidates win it",
        defaults={"servers": 3, "values": 1, "max_term": 2, "max_log": 0, "max_msgs": 1},
        expect="ElectionSafety",
    ),
    "no-up-to-date-check": Mutant(
        "no-up-to-date-check",
        "votes are granted without the up-to-date check on the candidate's log (§5.4.1): "
        "a leader is elected without a committed entry (26 states; breadth-first search "
        "with symmetry, on by default for this mutant, explores about 1.0 million orbits "
        "and gives the shortest trace; --simulate --strategy explore finds a longer one "
        "in under a second)",
        defaults={"servers": 3, "values": 1, "max_term": 3, "max_log": 1, "max_msgs": 1},
        expect="LeaderCompleteness",
        symmetry=True,
    ),
    "no-truncate": Mutant(
        "no-truncate",
        "a follower that holds a conflicting entry keeps it and acknowledges the leader's "
        "entry as if it held it: the leader commits, the follower applies its own entry",
        defaults={"servers": 3, "values": 1, "max_term": 3, "max_log": 1, "max_msgs": 1},
        expect="StateMachineSafety",
    ),
    "stale-append": Mutant(
        "stale-append",
        "a server, whatever its role, accepts AppendEntries from an older term: a deposed "
        "leader overwrites the current leader's log",
        defaults={"servers": 3, "values": 1, "max_term": 3, "max_log": 1, "max_msgs": 1},
        expect="LeaderAppendOnly",
    ),
    "follower-writes": Mutant(
        "follower-writes",
        "a server that is not the leader appends client requests to its log: two entries "
        "with the same index and term hold different values",
        defaults={"servers": 2, "values": 2, "max_term": 2, "max_log": 1, "max_msgs": 1},
        expect="LogMatching",
    ),
    "membership-without-fix": Mutant(
        "membership-without-fix",
        "single-server membership change without Ongaro's fix of July 2015 (raft-dev): a "
        "leader appends a configuration entry before it has committed an entry of its "
        "term, so two changes of one configuration, made by leaders of different terms, "
        "have disjoint majorities (4 servers: remove s4, then remove s3)",
        defaults={"servers": 4, "values": 1, "max_term": 4, "max_log": 1, "max_msgs": 1,
                  "membership": True},
        expect="LeaderCompleteness",
        mode="simulation",
        simulation={"depth": 120, "runs": 200_000, "seed": 0, "strategy": "explore"},
    ),
}

assert set(RULES) == set(MUTANTS)
