"""etcd's extensions of raft.tla: a layer on top of its ``Next``, for trace validation.

The store's trace validation (``quorum/conformance/steps.py``) checks every event of the
implementation, an etcd-style Raft, against raft.tla.  Where etcd's bookkeeping departs
from raft.tla in a way that is safe (docs/refinement.md, "The etcd rules"), raft.tla
alone would reject a correct implementation, so this module composes raft.tla's ``Next``
(:mod:`quorum.spec.raft.tla.actions`, which knows nothing of etcd) with etcd's steps:

* ``Restart(i, commitIndex=k)``: raft.tla's ``Restart(i)``, but etcd recovers the commit
  index of its last hard state: any k up to the one it had (``Rules.commits_after_restart``);
* ``Heartbeat(i, j)`` after each ``AppendEntries(i, j)``: an AppendEntries with no entry,
  prevLogIndex 0 and commit index ``min(commitIndex[i], matchIndex[i][j])``
  (``Rules.heartbeats``; the follower holds the leader's log up to its matchIndex);
* ``Receive(m)`` with three handlers changed: a candidate that no quorum can elect any
  more returns to follower (``Rules.lost_elections``, etcd's VoteLost); a follower that
  acknowledges a request keeps the larger commit index and may acknowledge up to it
  (``Rules.follower_commit``, ``Rules.reply_match``); a leader never lowers a match index
  (``Rules.match_after_success``);
* ``PreCampaign(i)`` and ``LearnTerm(i, t)`` after ``Timeout`` (``Rules.pre_vote``): etcd's
  pre-vote seen through raft.tla's variables.

Each is a switch of :class:`~quorum.spec.raft.tla.rules.Rules` whose default is raft.tla's
behaviour, so under :data:`~quorum.spec.raft.tla.rules.RAFT` this ``Next`` is raft.tla's,
step for step (``tests/spec/raft/test_etcd_rules.py``).  :data:`ETCD` switches all but
pre-vote on, :data:`ETCD_PRE_VOTE` all of them.  Only the readable encoding has this layer:
the compiled one (:mod:`quorum.spec.raft.fast`) refuses these rules, and
:class:`~quorum.spec.raft.model.RaftModel` runs them through :func:`successors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from quorum.spec.common import majority
from quorum.spec.raft import membership
from quorum.spec.raft.tla import actions
from quorum.spec.raft.tla.actions import HANDLERS as RAFT_HANDLERS
from quorum.spec.raft.tla.actions import Context, Handler, Label, Step, label
from quorum.spec.raft.tla.rules import ACCEPT, RAFT, Rules
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    NIL,
    REQUEST_VOTE_RESPONSE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Message,
    State,
    replace_at,
    reply,
    with_message,
    with_messages,
)

__all__ = ["ACTIONS", "ETCD", "ETCD_PRE_VOTE", "EXTENSIONS", "HANDLERS", "append_entries",
           "extends", "learn_term", "pre_campaign", "receive", "receive_one", "restart",
           "successors"]

#: the fields of Rules that only this layer asks
EXTENSIONS = ("commits_after_restart", "follower_commit", "reply_match", "match_after_success",
              "heartbeats", "lost_elections", "pre_vote")


def extends(rules: Rules) -> bool:
    """Whether ``rules`` switch on any of etcd's extensions (so that this layer is needed)."""
    return any(getattr(rules, name) != getattr(RAFT, name) for name in EXTENSIONS)


def _params(step: Label) -> dict[str, Any]:
    return dict(step[1])


# --- etcd's answers to the questions of Rules that raft.tla never asks -------------------

def _etcd_commits_after_restart(commit_index: int) -> tuple[int, ...]:
    # etcd recovers the commit index of its last hard state (written with every Ready,
    # fsynced only with a term, a vote or entries): any value up to the one it had
    return tuple(range(commit_index + 1))


def _etcd_follower_commit(commit_index: int, mcommit_index: int) -> int:
    return max(commit_index, mcommit_index)  # etcd's commitTo never lowers it


def _etcd_reply_match(m: AppendEntriesRequest, last_new: int, commit_index: int) -> int:
    # a request below the commit index is answered with the commit index (etcd's
    # handleAppendEntries: the follower holds the committed prefix); a heartbeat (no
    # entry, prevLogIndex 0: never an AppendEntries of a leader, whose log is never
    # empty) acknowledges nothing
    if m.mprev_log_index == 0 and not m.mentries:
        return last_new
    return max(last_new, commit_index)


def _etcd_match_after_success(match_index: int, mmatch_index: int) -> int:
    return max(match_index, mmatch_index)  # etcd's Progress.MaybeUpdate never lowers it


#: raft.tla with etcd's bookkeeping, heartbeats and lost elections (trace validation)
ETCD = replace(RAFT, commits_after_restart=_etcd_commits_after_restart,
               follower_commit=_etcd_follower_commit, reply_match=_etcd_reply_match,
               match_after_success=_etcd_match_after_success, heartbeats=True,
               lost_elections=True, snapshot_fast_forward=True, config_on_apply=True,
               learners=True, leader_removes_itself=True)

#: :data:`ETCD` with etcd's pre-vote (the ``tla-prevote`` profile)
ETCD_PRE_VOTE = replace(ETCD, pre_vote=True)


# --- the steps ---------------------------------------------------------------------------

def restart(s: State, c: Context) -> Step:
    """Restart(i), or Restart(i, commitIndex=k) for each commit index k that etcd may
    recover (Rules.commits_after_restart) when there is more than one."""
    for step, t in actions.restart(s, c):
        i = _params(step)["i"]
        commits = c.rules.commits_after_restart(s.commit_index[i])
        for commit in commits:
            u = t._replace(commit_index=replace_at(t.commit_index, i, commit))
            shown = step if len(commits) == 1 else label("Restart", i=i, commitIndex=commit)
            yield shown, s if u == s else u  # a self-loop stays the state itself


def pre_campaign(s: State, c: Context) -> Step:
    """PreCampaign(i) (Rules.pre_vote): a candidate whose election timed out starts a
    pre-campaign in the same term, keeping its vote: raft.tla's follower."""
    if not c.rules.pre_vote:
        return
    for i in range(c.n):
        if s.role[i] == CANDIDATE:
            yield label("PreCampaign", i=i), s._replace(role=replace_at(s.role, i, FOLLOWER))


def learn_term(s: State, c: Context) -> Step:
    """LearnTerm(i, t) (Rules.pre_vote): i becomes a follower of a higher term t that some
    server holds or held, as UpdateTerm does (a pre-vote refusal carries the refuser's
    term, and etcd adopts it).  Every term up to the largest current term was held, since
    terms grow by one at a timeout or jump to one held elsewhere."""
    if not c.rules.pre_vote:
        return
    top = max(s.current_term)
    for i in range(c.n):
        for t in range(s.current_term[i] + 1, top + 1):
            yield label("LearnTerm", i=i, t=t), s._replace(
                current_term=replace_at(s.current_term, i, t),
                role=replace_at(s.role, i, FOLLOWER),
                voted_for=replace_at(s.voted_for, i, NIL),
            )


def heartbeat(s: State, i: int, j: int) -> AppendEntriesRequest:
    """etcd's heartbeat from leader i to j: no entry, prevLogIndex 0, and the commit index
    up to what j is known to hold (``min(commitIndex[i], matchIndex[i][j])``)."""
    return AppendEntriesRequest(APPEND_ENTRIES_REQUEST, s.current_term[i], 0, 0, (), s.log[i],
                                min(s.commit_index[i], s.match_index[i][j]), i, j)


def append_entries(s: State, c: Context) -> Step:
    """AppendEntries(i, j), each followed by Heartbeat(i, j) (Rules.heartbeats)."""
    for step, t in actions.append_entries(s, c):
        yield step, t
        if c.rules.heartbeats:
            i, j = _params(step)["i"], _params(step)["j"]
            h = heartbeat(s, i, j)
            yield label("Heartbeat", i=i, j=j), with_messages(s, with_message(s.messages, h))


# --- message handlers: i = recipient, j = sender, m = message ------------------------------

def handle_request_vote_response(s: State, c: Context, i: int, j: int, m: Any) -> State:
    """raft.tla's tally; then a candidate refused by so many servers that no quorum can
    grant returns to follower, same term, same vote (Rules.lost_elections)."""
    t = actions.handle_request_vote_response(s, c, i, j, m)
    refused = t.votes_responded[i] & ~t.votes_granted[i]
    if not c.rules.lost_elections or t.role[i] != CANDIDATE:
        return t
    if c.members:  # quorum.spec.raft.membership: the voters of i's configuration
        voters = membership.voters_of(membership.config_of(t, c, i))
        lost = voters.bit_count() - (refused & voters).bit_count() < majority(voters.bit_count())
    else:
        lost = c.n - refused.bit_count() < c.quorum
    return t._replace(role=replace_at(t.role, i, FOLLOWER)) if lost else t


def _acknowledges(s: State, c: Context, i: int, m: Any) -> bool:
    """raft.tla's HandleAppendEntriesRequest takes its "already done" branch: i accepts m
    and already holds m's entry (or m has none)."""
    log = s.log[i]
    branch = c.rules.append_branch(s.role[i], s.current_term[i], m, c.rules.append_log_ok(log, m))
    return branch == ACCEPT and (
        not m.mentries or c.rules.entry_present(log, m.mprev_log_index + 1, m.mentries[0]))


def handle_append_entries_request(s: State, c: Context, i: int, j: int, m: Any
                                  ) -> State | None:
    """raft.tla's handler; where it acknowledges m, the commit index it takes
    (Rules.follower_commit) and the index it acknowledges (Rules.reply_match) are etcd's."""
    t = actions.handle_append_entries_request(s, c, i, j, m)
    if t is None or not _acknowledges(s, c, i, m):
        return t
    commit = s.commit_index[i]
    match = c.rules.reply_match(m, m.mprev_log_index + len(m.mentries), commit)
    response = AppendEntriesResponse(APPEND_ENTRIES_RESPONSE, s.current_term[i], True, match, i, j)
    return t._replace(
        commit_index=replace_at(s.commit_index, i, c.rules.follower_commit(commit, m.mcommit_index)),
        messages=reply(s.messages, response, m),
    )


def handle_append_entries_response(s: State, c: Context, i: int, j: int, m: Any) -> State:
    """raft.tla's handler; a success sets the match index etcd's way
    (Rules.match_after_success)."""
    t = actions.handle_append_entries_response(s, c, i, j, m)
    if not m.msuccess:
        return t
    match = c.rules.match_after_success(s.match_index[i][j], m.mmatch_index)
    return t._replace(match_index=replace_at(t.match_index, i,
                                             replace_at(t.match_index[i], j, match)))


#: raft.tla's handlers, three of them etcd's (see quorum.spec.raft.tla.actions.HANDLERS)
HANDLERS: Mapping[int, tuple[Handler, bool]] = {
    **RAFT_HANDLERS,
    REQUEST_VOTE_RESPONSE: (handle_request_vote_response, True),
    APPEND_ENTRIES_REQUEST: (handle_append_entries_request, False),
    APPEND_ENTRIES_RESPONSE: (handle_append_entries_response, True),
}


def receive_one(s: State, c: Context, m: Message) -> State | None:
    """Receive(m) with etcd's handlers."""
    return actions.receive_one(s, c, m, HANDLERS)


def receive(s: State, c: Context) -> Step:
    """Receive(m) for each message in the bag, with etcd's handlers."""
    return actions.receive(s, c, HANDLERS)


#: raft.tla's Next with etcd's steps: Restart, AppendEntries and Receive in etcd's
#: versions, PreCampaign and LearnTerm after Timeout
ACTIONS: tuple[Callable[[State, Context], Step], ...] = (
    restart,
    actions.timeout,
    pre_campaign,
    learn_term,
    actions.request_vote,
    actions.become_leader,
    actions.client_request,
    actions.advance_commit_index,
    append_entries,
    receive,
    actions.duplicate_message,
    actions.drop_message,
)


def successors(s: State, c: Context) -> Step:
    """Next of raft.tla with etcd's extensions: every enabled labelled step, in order."""
    for action in ACTIONS:
        yield from action(s, c)
