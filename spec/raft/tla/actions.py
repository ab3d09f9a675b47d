"""raft.tla's actions, one small pure function each, in the order of its ``Next``.

Theory of operation.  Each action takes a state and a :class:`Context` (the
bounds' sizes and the :class:`~quorum.spec.raft.tla.rules.Rules`) and yields
``(label, successor)`` for every choice of its parameters that enables it.  A
label names the action as raft.tla does and carries every choice as a raw value
(servers and values as ints, the message itself for ``Receive``,
``DuplicateMessage`` and ``DropMessage``), named only when printed
(``Receive(m='RequestVoteRequest(s1->s2, ...)')``, see :mod:`~quorum.spec.raft.tla.render`);
since each labelled step has exactly one successor, a trace replays from its labels.
Section numbers cite Ongaro and Ousterhout, "In Search of an Understandable
Consensus Algorithm" (2014); the guards are raft.tla's, including the details
that change the state count:

* ``RequestVote(i, j)`` allows ``j = i``: a candidate votes for itself by
  messaging itself.  ``AppendEntries(i, j)`` requires ``i /= j``.
* ``Restart`` and a leader's ``AdvanceCommitIndex`` are enabled even when they
  change nothing (a self-loop).
* ``UpdateTerm`` leaves the message in the bag so that it is handled next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from quorum.spec.raft.tla.rules import ACCEPT, REJECT, STEP_DOWN, Rules
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NIL,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Message,
    RequestVoteRequest,
    RequestVoteResponse,
    State,
    last_term,
    replace_at,
    reply,
    with_message,
    with_messages,
    without_message,
)

__all__ = ["ACTIONS", "HANDLERS", "Context", "Handler", "Label", "Step", "label", "receive", "receive_one",
           "successors"]

Label = tuple[str, tuple[tuple[str, Any], ...]]
Step = Iterator[tuple[Label, State]]


class Context(NamedTuple):
    """What the actions need besides the state: sizes, quorum size, rules."""

    n: int  # servers 0..n-1
    values: int  # values 0..values-1
    quorum: int  # votes or replicas that make a quorum
    rules: Rules
    #: the initial configuration as a bit mask (quorum.spec.raft.membership); 0: every
    #: server, fixed (raft.tla has no membership change and never reads this)
    members: int = 0


def label(name: str, **params: Any) -> Label:
    """``label("RequestVote", i=0, j=1)`` is ``("RequestVote", (("i", 0), ("j", 1)))``.

    Values are raw, as in the state: servers and values as ints, a message as itself;
    :func:`quorum.spec.raft.tla.render.render_label` names them for people (``s1``)."""
    return name, tuple(params.items())


def restart(s: State, c: Context) -> Step:
    """Restart(i): server i loses all but currentTerm, votedFor and log (Figure 2)."""
    n = c.n
    ones, zeros = (1,) * n, (0,) * n
    for i in range(n):
        vote = c.rules.vote_after_restart(s.voted_for[i])
        if (  # nothing to lose: the step is a self-loop (computed without copying)
            s.role[i] == FOLLOWER
            and vote == s.voted_for[i]
            and s.commit_index[i] == 0
            and not (s.votes_responded[i] or s.votes_granted[i])
            and s.next_index[i] == ones
            and s.match_index[i] == zeros
        ):
            yield label("Restart", i=i), s
            continue
        yield label("Restart", i=i), s._replace(
            role=replace_at(s.role, i, FOLLOWER),
            voted_for=replace_at(s.voted_for, i, vote),
            commit_index=replace_at(s.commit_index, i, 0),
            votes_responded=replace_at(s.votes_responded, i, 0),
            votes_granted=replace_at(s.votes_granted, i, 0),
            next_index=replace_at(s.next_index, i, ones),
            match_index=replace_at(s.match_index, i, zeros),
        )


def timeout(s: State, c: Context) -> Step:
    """Timeout(i): a follower or candidate starts an election in the next term (§5.2)."""
    for i in range(c.n):
        if s.role[i] != LEADER:
            yield label("Timeout", i=i), s._replace(
                current_term=replace_at(s.current_term, i, s.current_term[i] + 1),
                role=replace_at(s.role, i, CANDIDATE),
                voted_for=replace_at(s.voted_for, i, NIL),
                votes_responded=replace_at(s.votes_responded, i, 0),
                votes_granted=replace_at(s.votes_granted, i, 0),
            )


def request_vote(s: State, c: Context) -> Step:
    """RequestVote(i, j): candidate i asks j (possibly itself) for its vote (§5.2)."""
    for i in range(c.n):
        if s.role[i] != CANDIDATE:
            continue
        log = s.log[i]
        for j in range(c.n):
            if not s.votes_responded[i] >> j & 1:
                m = RequestVoteRequest(
                    REQUEST_VOTE_REQUEST, s.current_term[i], last_term(log), len(log), i, j
                )
                yield label("RequestVote", i=i, j=j), with_messages(s, with_message(s.messages, m))


def become_leader(s: State, c: Context) -> Step:
    """BecomeLeader(i): a candidate with votes from a quorum leads its term (§5.2)."""
    for i in range(c.n):
        if s.role[i] == CANDIDATE and s.votes_granted[i].bit_count() >= c.quorum:
            yield label("BecomeLeader", i=i), s._replace(
                role=replace_at(s.role, i, LEADER),
                next_index=replace_at(s.next_index, i, (len(s.log[i]) + 1,) * c.n),
                match_index=replace_at(s.match_index, i, (0,) * c.n),
            )


def client_request(s: State, c: Context) -> Step:
    """ClientRequest(i, v): leader i appends v to its log in its term (§5.3)."""
    for i in range(c.n):
        if c.rules.may_take_requests(s.role[i]):
            for v in range(c.values):
                entry = (s.current_term[i], v)
                yield label("ClientRequest", i=i, v=v), s._replace(
                    log=replace_at(s.log, i, s.log[i] + (entry,))
                )


def _agreed_index(s: State, c: Context, i: int) -> int:
    """The highest index that a quorum (leader i included) holds, 0 if none."""
    match = s.match_index[i]
    for index in range(len(s.log[i]), 0, -1):
        agree = 1 + sum(1 for k in range(c.n) if k != i and match[k] >= index)
        if agree >= c.quorum:
            return index
    return 0


def advance_commit_index(s: State, c: Context) -> Step:
    """AdvanceCommitIndex(i): commit what a quorum holds, if of the leader's term (§5.4.2)."""
    for i in range(c.n):
        if s.role[i] != LEADER:
            continue
        index, new = _agreed_index(s, c, i), s.commit_index[i]
        if index and c.rules.commit_term_ok(s.log[i][index - 1][0], s.current_term[i]):
            new = index
        yield label("AdvanceCommitIndex", i=i), s._replace(
            commit_index=replace_at(s.commit_index, i, new)
        )


def append_entries(s: State, c: Context) -> Step:
    """AppendEntries(i, j): leader i sends j at most one entry, at nextIndex[i][j] (§5.3)."""
    for i in range(c.n):
        if s.role[i] != LEADER:
            continue
        log = s.log[i]
        for j in range(c.n):
            if j == i:
                continue
            nxt = s.next_index[i][j]
            prev = nxt - 1
            last = min(len(log), nxt)
            m = AppendEntriesRequest(
                APPEND_ENTRIES_REQUEST,
                s.current_term[i],
                prev,
                log[prev - 1][0] if 0 < prev <= len(log) else 0,
                log[nxt - 1 : last],
                log,
                min(s.commit_index[i], last),
                i,
                j,
            )
            yield label("AppendEntries", i=i, j=j), with_messages(s, with_message(s.messages, m))


# --- message handlers: i = recipient, j = sender, m = message -------------------


def update_term(s: State, i: int, m: Message) -> State:
    """UpdateTerm: a newer term makes i a follower of that term; m stays to be handled (§5.1)."""
    return s._replace(
        current_term=replace_at(s.current_term, i, m.mterm),
        role=replace_at(s.role, i, FOLLOWER),
        voted_for=replace_at(s.voted_for, i, NIL),
    )


def handle_request_vote_request(s: State, c: Context, i: int, j: int, m: Any) -> State:
    """HandleRequestVoteRequest: grant at most one vote per term, to an up-to-date log (§5.2, §5.4.1)."""
    log, term = s.log[i], s.current_term[i]
    grant = (
        m.mterm == term and c.rules.vote_log_ok(log, m) and s.voted_for[i] in (NIL, j)
    )
    response = RequestVoteResponse(REQUEST_VOTE_RESPONSE, term, grant, log, i, j)
    return s._replace(
        voted_for=replace_at(s.voted_for, i, j) if grant else s.voted_for,
        messages=reply(s.messages, response, m),
    )


def handle_request_vote_response(s: State, c: Context, i: int, j: int, m: Any) -> State:
    """HandleRequestVoteResponse: tally a response of i's term (even if i is no candidate)."""
    granted = s.votes_granted[i] | (1 << j) if m.mvote_granted else s.votes_granted[i]
    responded = s.votes_responded[i] | (1 << j)
    return s._replace(
        votes_responded=replace_at(s.votes_responded, i, responded),
        votes_granted=replace_at(s.votes_granted, i, granted),
        messages=without_message(s.messages, m),
    )


def _accept_entries(s: State, c: Context, i: int, j: int, m: Any) -> State | None:
    """The accept branch: already done (reply), conflict (drop the last entry), or append."""
    log, index = s.log[i], m.mprev_log_index + 1
    if not m.mentries or c.rules.entry_present(log, index, m.mentries[0]):
        response = AppendEntriesResponse(
            APPEND_ENTRIES_RESPONSE, s.current_term[i], True, index - 1 + len(m.mentries), i, j
        )
        return s._replace(
            commit_index=replace_at(s.commit_index, i, m.mcommit_index),
            messages=reply(s.messages, response, m),
        )
    if len(log) >= index:
        return s._replace(log=replace_at(s.log, i, log[:-1]))
    if c.rules.can_append(log, m):
        return s._replace(log=replace_at(s.log, i, log + m.mentries[:1]))
    return None


def handle_append_entries_request(s: State, c: Context, i: int, j: int, m: Any) -> State | None:
    """HandleAppendEntriesRequest: reject, return to follower, or accept (§5.3)."""
    log_ok = c.rules.append_log_ok(s.log[i], m)
    branch = c.rules.append_branch(s.role[i], s.current_term[i], m, log_ok)
    if branch == REJECT:
        response = AppendEntriesResponse(
            APPEND_ENTRIES_RESPONSE, s.current_term[i], False, 0, i, j
        )
        return with_messages(s, reply(s.messages, response, m))
    if branch == STEP_DOWN:
        return s._replace(role=replace_at(s.role, i, FOLLOWER))
    if branch == ACCEPT:
        return _accept_entries(s, c, i, j, m)
    return None


def handle_append_entries_response(s: State, c: Context, i: int, j: int, m: Any) -> State:
    """HandleAppendEntriesResponse: move nextIndex/matchIndex for j (§5.3)."""
    nxt, match = s.next_index[i], s.match_index[i]
    if m.msuccess:
        nxt = replace_at(nxt, j, m.mmatch_index + 1)
        match = replace_at(match, j, m.mmatch_index)
    else:
        nxt = replace_at(nxt, j, max(nxt[j] - 1, 1))
    return s._replace(
        next_index=replace_at(s.next_index, i, nxt),
        match_index=replace_at(s.match_index, i, match),
        messages=without_message(s.messages, m),
    )


Handler = Callable[[State, Context, int, int, Any], "State | None"]

#: message type -> (handler, is a response).  Responses of an older term are
#: dropped (DropStaleResponse); requests of an older term reach their handler,
#: which answers them with a rejection.
HANDLERS: dict[int, tuple[Handler, bool]] = {
    REQUEST_VOTE_REQUEST: (handle_request_vote_request, False),
    REQUEST_VOTE_RESPONSE: (handle_request_vote_response, True),
    APPEND_ENTRIES_REQUEST: (handle_append_entries_request, False),
    APPEND_ENTRIES_RESPONSE: (handle_append_entries_response, True),
}


def receive_one(s: State, c: Context, m: Message,
                handlers: Mapping[int, tuple[Handler, bool]] = HANDLERS) -> State | None:
    """Receive(m): UpdateTerm, DropStaleResponse or the handler of m's type (among
    ``handlers``: raft.tla's, or a layer's such as :mod:`quorum.spec.raft.etcd`)."""
    if m.mtype not in handlers:  # a message of a layer's (InstallSnapshot): its own Receive
        return None
    i, j = m.mdest, m.msource
    term = s.current_term[i]
    if m.mterm > term:
        return update_term(s, i, m)
    handler, is_response = handlers[m.mtype]
    if is_response and m.mterm < term:
        return with_messages(s, without_message(s.messages, m))  # DropStaleResponse
    return handler(s, c, i, j, m)


def receive(s: State, c: Context, handlers: Mapping[int, tuple[Handler, bool]] = HANDLERS
            ) -> Step:
    """Receive(m) for each message in the bag (at most one successor each)."""
    for m, _ in s.messages:
        t = receive_one(s, c, m, handlers)
        if t is not None:
            yield label("Receive", m=m), t


def duplicate_message(s: State, c: Context) -> Step:
    """DuplicateMessage(m): the network delivers m twice."""
    for m, _ in s.messages:
        yield label("DuplicateMessage", m=m), with_messages(s, with_message(s.messages, m))


def drop_message(s: State, c: Context) -> Step:
    """DropMessage(m): the network loses one copy of m."""
    for m, _ in s.messages:
        yield label("DropMessage", m=m), with_messages(s, without_message(s.messages, m))


#: raft.tla's Next, in order.
ACTIONS: tuple[Callable[[State, Context], Step], ...] = (
    restart,
    timeout,
    request_vote,
    become_leader,
    client_request,
    advance_commit_index,
    append_entries,
    receive,
    duplicate_message,
    drop_message,
)


def successors(s: State, c: Context) -> Step:
    """Next: every enabled labelled step, in raft.tla's order."""
    for action in ACTIONS:
        yield from action(s, c)
