"""Leader election: timeouts, pre-vote, votes (Raft paper, section 5.2; thesis 9.6).

A follower (or candidate) whose randomized election timeout passes without hearing from
a leader campaigns.  With pre-vote it first asks, without changing its term, whether a
majority *would* vote for it (its log is up to date and they have not heard from a
leader recently); only then does it increment its term and ask for real votes.  A node
partitioned away therefore cannot inflate its term and disrupt the cluster when it
returns.  With check-quorum, a node that heard from its leader within the last election
timeout ignores vote requests of higher terms (the leader's "lease"), unless the request
comes from a leadership transfer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quorum.impl.mutants import Mutant

from .quorum import VoteResult
from .types import NONE, Message, MessageType, Role

if TYPE_CHECKING:
    from .raft import Raft

__all__ = ["CAMPAIGN_TRANSFER", "campaign", "handle_vote_request", "handle_vote_resp",
           "hup", "on_higher_term", "tick_election"]

MT = MessageType
#: Context of vote requests sent on a leader's TIMEOUT_NOW: bypasses the lease.
CAMPAIGN_TRANSFER = b"transfer"


def tick_election(r: Raft) -> None:
    """Follower/candidate tick: campaign once the randomized timeout has passed."""
    r.election_elapsed += 1
    if r.promotable() and r.election_elapsed >= r.randomized_election_timeout:
        r.election_elapsed = 0
        hup(r)


def hup(r: Raft, transfer: bool = False) -> None:
    """Start an election if we may (pre-vote first unless this is a transfer)."""
    if r.role is Role.LEADER or not r.promotable() or r.has_unapplied_conf_change():
        return
    campaign(r, pre=r.cfg.pre_vote and not transfer, transfer=transfer)


def campaign(r: Raft, pre: bool, transfer: bool = False) -> None:
    """Become (pre-)candidate, vote for ourselves, ask every other voter."""
    if pre:
        r.become_pre_candidate()
        kind, term = MT.PRE_VOTE, r.term + 1
    else:
        r.become_candidate()
        kind, term = MT.VOTE, r.term
    if _poll(r, r.id, True) is VoteResult.WON:
        _won(r, pre)  # a single-voter cluster
        return
    ctx = CAMPAIGN_TRANSFER if transfer else b""
    last_index, last_term = r.log.last_index(), r.log.last_term()
    for to in sorted(set(r.tracker.voters) | set(r.tracker.voters_outgoing)):
        if to != r.id:
            r.send(kind, to, term=term, index=last_index, log_term=last_term, context=ctx)


def _poll(r: Raft, frm: int, granted: bool) -> VoteResult:
    r.tracker.record_vote(frm, granted)
    return r.tracker.tally()[2]


def _won(r: Raft, pre: bool) -> None:
    if pre:
        campaign(r, pre=False)
    else:
        r.become_leader()


def on_higher_term(r: Raft, m: Message, from_leader: bool) -> bool:
    """Section 5.1: a newer term makes us a follower, with three exceptions.

    Returns False when the message is to be ignored.  Exceptions: a vote request inside
    the leader lease (check-quorum) is ignored; a pre-vote request and a granted pre-vote
    response do not change our term (thesis 9.6).
    """
    if m.type in (MT.VOTE, MT.PRE_VOTE):
        in_lease = (r.cfg.check_quorum and r.lead != NONE
                    and r.election_elapsed < r.cfg.election_tick)
        if in_lease and m.context != CAMPAIGN_TRANSFER:
            return False
    if m.type is MT.PRE_VOTE and Mutant.PRE_VOTE_ADOPTS_TERM not in r.mutants or (
            m.type is MT.PRE_VOTE_RESP and not m.reject):
        return True
    r.become_follower(m.term, m.frm if from_leader else NONE)
    return True


def handle_vote_request(r: Raft, m: Message) -> None:
    """RequestVote receiver (Figure 2; section 5.4.1's up-to-date check), any role."""
    can_vote = (r.vote == m.frm
                or (r.vote == NONE and r.lead == NONE)
                or (m.type is MT.PRE_VOTE and m.term > r.term))
    resp = MT.PRE_VOTE_RESP if m.type is MT.PRE_VOTE else MT.VOTE_RESP
    index_first = Mutant.UP_TO_DATE_INDEX_FIRST in r.mutants
    if can_vote and r.log.is_up_to_date(m.index, m.log_term, index_first):
        r.send(resp, m.frm, term=m.term)
        if m.type is MT.VOTE:
            r.election_elapsed = 0
            r.vote = m.frm
    else:
        r.send(resp, m.frm, term=r.term, reject=True)


def handle_vote_resp(r: Raft, m: Message) -> None:
    """Count a (pre-)vote; win with a majority, give up on a majority of refusals."""
    expected = MT.PRE_VOTE_RESP if r.role is Role.PRE_CANDIDATE else MT.VOTE_RESP
    if m.type is not expected:
        return
    result = _poll(r, m.frm, not m.reject)
    if result is VoteResult.WON:
        _won(r, r.role is Role.PRE_CANDIDATE)  # a new leader replicates at once
    elif result is VoteResult.LOST:
        r.become_follower(r.term, NONE)
