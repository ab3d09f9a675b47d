"""The variables of raft.tla as one immutable value, and the message bag.

Everything here is ints and tuples, so that a state hashes in C and its hash is
the same in every process (strings would not be: their hashes are randomised).
Names appear only when a state is rendered (``s1``, ``v1``, ``Leader``).

Encoding (servers are ``0..n-1``, values ``0..m-1``, terms start at 1):

* ``role[i]`` is ``FOLLOWER``, ``CANDIDATE`` or ``LEADER`` (raft.tla's ``state``).
* ``voted_for[i]`` is a server or ``NIL``.
* ``log[i]`` is a tuple of entries ``(term, value)``; index k of raft.tla is
  ``log[i][k - 1]``.
* ``votes_responded[i]`` and ``votes_granted[i]`` are sets of servers as bit masks
  (bit j set when server j is a member), so that states are totally ordered and
  the canonical form under symmetry is a plain ``min``.
* ``next_index[i][j]`` and ``match_index[i][j]`` as in raft.tla.
* ``messages`` is raft.tla's bag: a tuple of ``(message, count)`` pairs sorted by
  message, every count at least 1 (a message whose count would drop to 0 is gone).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ADDRESSES",
    "APPEND_ENTRIES_REQUEST",
    "APPEND_ENTRIES_RESPONSE",
    "Bag",
    "CANDIDATE",
    "Entry",
    "FOLLOWER",
    "LEADER",
    "MESSAGES",
    "Log",
    "NIL",
    "REQUEST_VOTE_REQUEST",
    "REQUEST_VOTE_RESPONSE",
    "AppendEntriesRequest",
    "AppendEntriesResponse",
    "Message",
    "RequestVoteRequest",
    "RequestVoteResponse",
    "State",
    "bag_size",
    "initial_state",
    "last_term",
    "replace_at",
    "reply",
    "with_message",
    "with_messages",
    "without_message",
]

FOLLOWER, CANDIDATE, LEADER = 0, 1, 2
NIL = -1

# Message types, in raft.tla's order; the first field of every message.
REQUEST_VOTE_REQUEST, REQUEST_VOTE_RESPONSE = 0, 1
APPEND_ENTRIES_REQUEST, APPEND_ENTRIES_RESPONSE = 2, 3

Entry = tuple[int, int]  # (term, value)
Log = tuple[Entry, ...]


class RequestVoteRequest(NamedTuple):
    mtype: int
    mterm: int
    mlast_log_term: int
    mlast_log_index: int
    msource: int
    mdest: int


class RequestVoteResponse(NamedTuple):
    mtype: int
    mterm: int
    mvote_granted: bool
    mlog: Log  # raft.tla's proof-only field; part of the message all the same
    msource: int
    mdest: int


class AppendEntriesRequest(NamedTuple):
    mtype: int
    mterm: int
    mprev_log_index: int
    mprev_log_term: int
    mentries: Log  # zero or one entry
    mlog: Log  # the sender's whole log (raft.tla's proof-only field)
    mcommit_index: int
    msource: int
    mdest: int


class AppendEntriesResponse(NamedTuple):
    mtype: int
    mterm: int
    msuccess: bool
    mmatch_index: int
    msource: int
    mdest: int


Message = RequestVoteRequest | RequestVoteResponse | AppendEntriesRequest | AppendEntriesResponse
Bag = tuple[tuple[Message, int], ...]

#: every message ends with its addresses, ``(msource, mdest)``: ``m[:ADDRESSES]`` is the
#: rest of it (what renaming servers leaves alone)
ADDRESSES = -2
assert all(t._fields[ADDRESSES:] == ("msource", "mdest") for t in (
    RequestVoteRequest, RequestVoteResponse, AppendEntriesRequest, AppendEntriesResponse))


class State(NamedTuple):
    """One state of raft.tla without its history variables (each field per server)."""

    current_term: tuple[int, ...]
    role: tuple[int, ...]
    voted_for: tuple[int, ...]
    log: tuple[Log, ...]
    commit_index: tuple[int, ...]
    votes_responded: tuple[int, ...]
    votes_granted: tuple[int, ...]
    next_index: tuple[tuple[int, ...], ...]
    match_index: tuple[tuple[int, ...], ...]
    messages: Bag


#: the bag is the last variable: ``s[:MESSAGES]`` is every variable of s but the bag
MESSAGES = State._fields.index("messages")
assert MESSAGES == len(State._fields) - 1


def initial_state(n: int) -> State:
    """raft.tla's ``Init``: every server a follower in term 1 with an empty log."""
    return State(
        current_term=(1,) * n,
        role=(FOLLOWER,) * n,
        voted_for=(NIL,) * n,
        log=((),) * n,
        commit_index=(0,) * n,
        votes_responded=(0,) * n,
        votes_granted=(0,) * n,
        next_index=((1,) * n,) * n,
        match_index=((0,) * n,) * n,
        messages=(),
    )


def with_messages(s: State, bag: Bag) -> State:
    """s with ``messages`` replaced (the commonest update, so made cheap).  The bag is the
    last field of s; a layer's state with more variables (quorum.spec.raft.snapshots)
    keeps its type and its other variables."""
    return tuple.__new__(type(s), s[:-1] + (bag,))


def replace_at(t: tuple, i: int, v: object) -> tuple:
    """``[t EXCEPT ![i] = v]`` for a tuple."""
    return t[:i] + (v,) + t[i + 1 :]


def last_term(log: Log) -> int:
    """``LastTerm``: the term of the last entry, 0 for an empty log."""
    return log[-1][0] if log else 0


def with_message(bag: Bag, m: Message) -> Bag:
    """``WithMessage``: the bag with one more copy of m."""
    if not bag:
        return ((m, 1),)
    counts = dict(bag)
    counts[m] = counts.get(m, 0) + 1
    return tuple(sorted(counts.items()))


def without_message(bag: Bag, m: Message) -> Bag:
    """``WithoutMessage``: the bag with one copy fewer of m (unchanged if absent)."""
    counts = dict(bag)
    c = counts.get(m, 0)
    if c <= 1:
        counts.pop(m, None)
    else:
        counts[m] = c - 1
    return tuple(sorted(counts.items()))


def reply(bag: Bag, response: Message, request: Message) -> Bag:
    """``Reply``: add the response, then remove one copy of the request."""
    counts = dict(bag)
    counts[response] = counts.get(response, 0) + 1
    c = counts.get(request, 0)
    if c <= 1:
        counts.pop(request, None)
    else:
        counts[request] = c - 1
    return tuple(sorted(counts.items()))


def bag_size(bag: Bag) -> int:
    """``BagCardinality``: messages in flight, counting duplicates."""
    return sum(c for _, c in bag)
