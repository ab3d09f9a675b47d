"""Raft Election Safety for every number of servers and terms (spec/raft/symbolic.py).

Raft paper (Ongaro and Ousterhout, 2014), Figure 3: at most one leader can be elected
in a given term; section 5.2: each server votes for at most one candidate in a term.
"""

from __future__ import annotations

import pytest

from quorum.model_checker.symbolic.induction import prove
from quorum.model_checker.symbolic.system import TransitionSystem
from quorum.spec.raft import symbolic

TS = TransitionSystem.from_data(symbolic.election_safety())
ACTIONS = ("Restart", "Timeout", "RequestVote", "UpdateTerm", "HandleRequestVoteRequest",
           "HandleRequestVoteResponse", "BecomeLeader")

#: (dropped conjunct, the check that then fails first): every conjunct is needed
NEEDED = {
    "one_term": ("consecution", "vote_not_in_future", "HandleRequestVoteRequest"),
    "vote_not_in_future": ("consecution", "vote_remembered", "Timeout"),
    "vote_remembered": ("consecution", "one_vote_per_term", "HandleRequestVoteRequest"),
    "one_vote_per_term": ("safety", "ElectionSafety", None),
    "grant_is_vote": ("consecution", "granted_is_vote", "HandleRequestVoteResponse"),
    "granted_is_vote": ("consecution", "elected_by_quorum", "BecomeLeader"),
    "elected_by_quorum": ("safety", "ElectionSafety", None),
}


def test_election_safety_is_proved_for_all_sizes():
    proof = prove(TS)
    assert proof.ok, [c for c in proof.checks if c.result != "proved"]
    assert proof.conjuncts == tuple(NEEDED)
    assert tuple(TS.actions) == ACTIONS
    assert len(proof.checks) == 2 + 7 + 1 + 7 + 7 * 7


@pytest.mark.parametrize("conjunct", NEEDED)
def test_every_conjunct_is_needed(conjunct):
    proof = prove(TS, drop=[conjunct], stop_at_first=True, timeout=30)
    assert proof.result == "refuted"
    assert not proof.cti.pre.holds(TS.invariant[conjunct])
    first = next(c for c in proof.checks if c.result == "refuted")
    assert (first.kind, first.conjunct, first.action) == NEEDED[conjunct]
    assert proof.cti is not None and proof.cti.conjunct == first.conjunct


def test_two_leaders_cti_when_votes_are_not_unique():
    proof = prove(TS, drop=["one_vote_per_term"], stop_at_first=True)
    elected = proof.cti.pre.interp["elected"]
    assert any(s1 != s2 and t1 == t2 for s1, t1, _ in elected for s2, t2, _ in elected)
    assert not proof.cti.pre.holds(TS.invariant["one_vote_per_term"])


LOG_TS = TransitionSystem.from_data(symbolic.log_matching())

#: dropping each Log Matching conjunct: the check that then fails first
LOG_NEEDED = {
    "leader_elected": ("consecution", "leader_has_term_entries", "ClientRequest"),
    "elected_not_candidate": ("consecution", "leader_has_term_entries", "BecomeLeader"),
    "elected_not_in_future": ("consecution", "elected_not_candidate", "Timeout"),
    "log_functional": ("consecution", "ae_prev_unique", "AppendEntries"),
    "no_entry_at_zero": ("consecution", "ae_follows", "AppendEntries"),
    "log_matching": ("safety", "LogMatching", None),
    "ae_follows": ("consecution", "ae_prev_unique", "AppendEntries"),
    "ae_prev_in_logs": ("consecution", "ae_prev_unique", "AppendEntries"),
    "ae_prev_unique": ("consecution", "ae_prev_in_logs", "HandleAppendEntriesRequest"),
    "leader_has_term_entries": ("consecution", "log_matching", "ClientRequest"),
    "ae_entry_with_leader": ("consecution", "ae_prev_in_logs", "ClientRequest"),
    "entries_marked": ("consecution", "leader_has_term_entries", "BecomeLeader"),
    "entries_have_leader": ("consecution", "leader_has_term_entries", "BecomeLeader"),
}


def test_log_matching_is_proved_for_all_sizes():
    """Raft paper, Figure 3 and section 5.3: Log Matching, with Election Safety."""
    proof = prove(LOG_TS)
    assert proof.ok, [c for c in proof.checks if c.result != "proved"]
    assert proof.safety == ("ElectionSafety", "LogMatching")
    assert proof.conjuncts == (*NEEDED, *LOG_NEEDED)
    assert len(LOG_TS.actions) == 11 and len(proof.checks) == 2 + 20 + 2 + 11 + 20 * 11


@pytest.mark.slow
@pytest.mark.parametrize("conjunct", LOG_NEEDED)
def test_every_log_matching_conjunct_is_needed(conjunct):
    """The election conjuncts are needed too (``test_every_conjunct_is_needed``)."""
    proof = prove(LOG_TS, drop=[conjunct], stop_at_first=True, timeout=30)
    assert proof.cti is not None and not proof.cti.pre.holds(LOG_TS.invariant[conjunct])
    assert proof.result == "refuted"
    first = next(c for c in proof.checks if c.result == "refuted")
    assert (first.kind, first.conjunct, first.action) == LOG_NEEDED[conjunct]
