"""raft.tla's ``Next`` compiled for one configuration: the successor function the checker runs.

:mod:`quorum.spec.raft.tla.actions` is the readable transcription of raft.tla, one small function
per action; this module computes exactly the same thing faster, and
``tests/spec/raft/test_encodings.py`` proves it: for every reachable state of several
configurations (mutants included) both yield the same labelled successors, equal
states, in the same order.  Pinned traces and simulation seeds therefore hold for both.

What makes it faster, none of which changes a state or the order of the steps:

* one function, not a chain of generators: the state is unpacked once into locals and
  each successor is a tuple built in C (``tuple.__new__(State, ...)``), never through
  ``NamedTuple._replace`` (which runs Python code per field);
* labels of the servers' actions and per-server constants (``(1,) * n`` rows) are built
  once per configuration;
* the message bag, a short sorted tuple, is updated by one scan instead of a dict and a
  sort;
* ``Restart(i)`` reads and writes only the servers' roles, votes and indexes, which
  take far fewer values than states do: its results are memoized on them;
* a step that changes nothing (``Restart`` of a server with nothing to lose, a leader's
  ``AdvanceCommitIndex`` that commits nothing new) yields the state object itself, so the
  checker recognises the self-loop by identity;
* the :class:`~quorum.spec.raft.tla.rules.Rules` are asked only where raft.tla decides something,
  and the two asked once per server per state are inlined when they are raft.tla's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import Any, NamedTuple

from quorum.spec.common import ConfigError
from quorum.spec.raft.config import Config
from quorum.spec.raft.tla import rules as raft_rules
from quorum.spec.raft.tla.actions import Label, label
from quorum.spec.raft.tla.rules import ACCEPT, REJECT, STEP_DOWN, Rules
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    MESSAGES,
    NIL,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    Bag,
    Message,
    RequestVoteRequest,
    RequestVoteResponse,
    State,
)

__all__ = ["MAY_LEAVE_BOUNDS", "SUPPORTED_RULES", "Successors", "VouchedSuccessors", "bag_with", "bag_without",
           "successor_function", "supports", "unsupported"]

Successors = Callable[[State], list[tuple[Label, State]]]
#: ``successor_function(..., vouch=True)``: a step may come with ``None`` (see there)
VouchedSuccessors = Callable[[State], list[tuple[Label, State | None]]]

_new = tuple.__new__
MEMO_LIMIT = 1 << 16  # entries of a memo table before it is cleared


def bag_with(bag: Bag, m: Message) -> Bag:
    """``WithMessage`` on a sorted bag: one more copy of m (state.with_message, by a scan)."""
    for k, (x, c) in enumerate(bag):
        if x == m:
            return bag[:k] + ((m, c + 1),) + bag[k + 1:]
        if m < x:
            return bag[:k] + ((m, 1),) + bag[k:]
    return bag + ((m, 1),)


def bag_without(bag: Bag, m: Message) -> Bag:
    """``WithoutMessage`` of a message in the bag: one copy fewer, gone at zero."""
    for k, (x, c) in enumerate(bag):
        if x == m:
            if c == 1:
                return bag[:k] + bag[k + 1:]
            return bag[:k] + ((m, c - 1),) + bag[k + 1:]
    return bag


@lru_cache(maxsize=1 << 16)
def _message_labels(m: Message) -> tuple[Label, Label, Label]:
    """The labels of Receive(m), DuplicateMessage(m) and DropMessage(m), built once per
    message (a message stays in flight for many states)."""
    param = (("m", m),)
    return ("Receive", param), ("DuplicateMessage", param), ("DropMessage", param)


#: the decisions of :class:`~quorum.spec.raft.tla.rules.Rules` this module implements for any
#: value (every mutant swaps some of them); every other field of the rules must keep
#: raft.tla's value (etcd's extensions run in quorum.spec.raft.etcd, on the readable encoding)
SUPPORTED_RULES = frozenset({
    "vote_log_ok", "append_log_ok", "append_branch", "entry_present", "can_append",
    "commit_term_ok", "vote_after_restart", "may_take_requests", "quorum_size",
})


def unsupported(rules: Rules) -> list[str]:
    """The fields of ``rules`` this module does not implement: those outside
    :data:`SUPPORTED_RULES` whose value is not raft.tla's (empty for raft.tla and every
    mutant; etcd's extensions for :data:`quorum.spec.raft.etcd.ETCD`)."""
    return [f.name for f in fields(rules) if f.name not in SUPPORTED_RULES
            and getattr(rules, f.name) != getattr(raft_rules.RAFT, f.name, None)]


def supports(rules: Rules) -> bool:
    """Whether :func:`successor_function` implements these rules (see :func:`unsupported`)."""
    return not unsupported(rules)


#: the actions whose successors from ``successor_function(..., vouch=True)`` may lie
#: outside the bounds; every other action's (when not None) is within them, for every
#: rules (see successor_function)
MAY_LEAVE_BOUNDS = frozenset({"ClientRequest", "Receive"})


def successor_function(config: Config, rules: Rules, vouch: bool = False) -> Any:
    """raft.tla's ``Next`` for these bounds and rules (see the module docstring).

    Returns a function from a state to the list of its ``(label, successor)`` pairs,
    equal, in the same order, to :func:`quorum.spec.raft.tla.actions.successors`.

    With ``vouch``, the function is the checker's ``successors_within`` (see
    ``quorum.model_checker.model``): for a state within the bounds that satisfies the
    invariants, a step that certainly leaves the bounds *and* certainly violates
    nothing comes with ``None`` instead of its successor, which is then never built.
    Those steps are ``Timeout(i)`` of a server already at ``max_term`` and the sends
    (``RequestVote``, ``AppendEntries``, ``DuplicateMessage``) into a bag that already
    holds ``max_msgs`` messages.  A send changes only the bag, which no property reads;
    a timeout changes only the votes and the term and role of a server that does not
    lead, which leaves every leader, log and commit index as it was and only removes
    obligations of Leader Completeness (a server of a higher term is compared with
    fewer leaders).  So the successor satisfies every invariant its state satisfies and
    the step leaves every log as it was (Leader Append-Only).  Mutants change the
    rules, never these actions or the properties, so this holds for them too.

    With ``vouch``, too, the successors of every action outside :data:`MAY_LEAVE_BOUNDS`
    are within the bounds (the model's ``may_leave_bounds``: the checker skips their
    bounds check): a ``Timeout`` below ``max_term`` and a send into a bag that is not full
    stay within them, and ``Restart``, ``BecomeLeader``, ``AdvanceCommitIndex``,
    ``DropMessage`` grow no term, log or bag; the rules decide none of this.  A
    ``ClientRequest`` lengthens a log, and a ``Receive`` adopts a term or appends an
    entry (within the bounds under raft.tla's rules, not necessarily under a mutant's),
    so those are checked.

    :class:`~quorum.spec.common.ConfigError` names the fields of ``rules`` this module
    does not implement, if any (:func:`unsupported`)."""
    missing = unsupported(rules)
    if missing:
        raise ConfigError(
            f"the compiled Raft successor function does not implement {', '.join(missing)} "
            "(etcd's extensions: quorum.spec.raft.etcd, run by RaftModel(..., reference=True))")
    n, n_values = config.servers, config.values
    max_term, max_msgs = config.max_term, config.max_msgs
    servers = range(n)
    quorum = rules.quorum_size(n)
    ones, zeros = (1,) * n, (0,) * n
    lab_i = {name: [label(name, i=i) for i in servers]
             for name in ("Restart", "Timeout", "BecomeLeader", "AdvanceCommitIndex")}
    lab_restart, lab_timeout = lab_i["Restart"], lab_i["Timeout"]
    lab_become, lab_advance = lab_i["BecomeLeader"], lab_i["AdvanceCommitIndex"]
    lab_vote = [[label("RequestVote", i=i, j=j) for j in servers] for i in servers]
    lab_append = [[label("AppendEntries", i=i, j=j) for j in servers] for i in servers]
    lab_client = [[label("ClientRequest", i=i, v=v) for v in range(n_values)] for i in servers]
    others = [tuple(k for k in servers if k != i) for i in servers]
    vote_after_restart = rules.vote_after_restart
    keeps_vote = vote_after_restart is raft_rules.vote_after_restart
    may_take = rules.may_take_requests
    leader_only = may_take is raft_rules.may_take_requests
    commit_term_ok = rules.commit_term_ok
    receive = _receiver(rules)

    restart_memo: dict[tuple, tuple[_Restarted | None, ...]] = {}

    def restart(key: tuple) -> tuple[_Restarted | None, ...]:
        """Per server i, what Restart(i) writes, or None when the step changes nothing."""
        role, vf, ci, vr, vg, ni, mi = key
        out: list[_Restarted | None] = []
        for i in servers:
            vote = vf[i] if keeps_vote else vote_after_restart(vf[i])
            if (role[i] == FOLLOWER and vote == vf[i] and not (ci[i] or vr[i] or vg[i])
                    and ni[i] == ones and mi[i] == zeros):
                out.append(None)
                continue
            out.append(_Restarted(
                role=role[:i] + (FOLLOWER,) + role[i + 1:], voted_for=vf[:i] + (vote,) + vf[i + 1:],
                commit_index=ci[:i] + (0,) + ci[i + 1:], votes_responded=vr[:i] + (0,) + vr[i + 1:],
                votes_granted=vg[:i] + (0,) + vg[i + 1:], next_index=ni[:i] + (ones,) + ni[i + 1:],
                match_index=mi[:i] + (zeros,) + mi[i + 1:]))
        return tuple(out)

    def successors(s: State) -> list[tuple[Label, State | None]]:
        ct, role, vf, logs, ci, vr, vg, ni, mi, bag = s
        out: list[tuple[Label, State | None]] = []
        m: Message
        add = out.append
        key = (role, vf, ci, vr, vg, ni, mi)  # Restart(i) reads and writes only these
        restarts = restart_memo.get(key)
        if restarts is None:
            if len(restart_memo) >= MEMO_LIMIT:
                restart_memo.clear()
            restarts = restart_memo[key] = restart(key)
        for i in servers:  # Restart(i)
            r = restarts[i]
            add((lab_restart[i], s if r is None else _new(State, (
                ct, r.role, r.voted_for, logs, r.commit_index, r.votes_responded,
                r.votes_granted, r.next_index, r.match_index, bag))))
        full = vouch and (sum([c for _, c in bag]) if bag else 0) >= max_msgs
        for i in servers:  # Timeout(i)
            if role[i] != LEADER:
                if vouch and ct[i] >= max_term:
                    add((lab_timeout[i], None))
                    continue
                add((lab_timeout[i], _new(State, (
                    ct[:i] + (ct[i] + 1,) + ct[i + 1:], role[:i] + (CANDIDATE,) + role[i + 1:],
                    vf[:i] + (NIL,) + vf[i + 1:], logs, ci, vr[:i] + (0,) + vr[i + 1:],
                    vg[:i] + (0,) + vg[i + 1:], ni, mi, bag))))
        head = s[:MESSAGES]  # every variable but the bag: what a send leaves as it is
        for i in servers:  # RequestVote(i, j)
            if role[i] == CANDIDATE:
                log = logs[i]
                lt, ll = (log[-1][0] if log else 0), len(log)
                for j in servers:
                    if not vr[i] >> j & 1:
                        if full:
                            add((lab_vote[i][j], None))
                            continue
                        m = _new(RequestVoteRequest, (REQUEST_VOTE_REQUEST, ct[i], lt, ll, i, j))
                        add((lab_vote[i][j], _new(State, head + (
                            bag_with(bag, m) if bag else ((m, 1),),))))
        for i in servers:  # BecomeLeader(i)
            if role[i] == CANDIDATE and vg[i].bit_count() >= quorum:
                add((lab_become[i], _new(State, (
                    ct, role[:i] + (LEADER,) + role[i + 1:], vf, logs, ci, vr, vg,
                    ni[:i] + ((len(logs[i]) + 1,) * n,) + ni[i + 1:], mi[:i] + (zeros,) + mi[i + 1:],
                    bag))))
        for i in servers:  # ClientRequest(i, v)
            if (role[i] == LEADER) if leader_only else may_take(role[i]):
                for v in range(n_values):
                    new_log = logs[i] + ((ct[i], v),)
                    add((lab_client[i][v], _new(State, (
                        ct, role, vf, logs[:i] + (new_log,) + logs[i + 1:], ci, vr, vg, ni, mi,
                        bag))))
        for i in servers:  # AdvanceCommitIndex(i)
            if role[i] == LEADER:
                log, match, new = logs[i], mi[i], ci[i]
                for index in range(len(log), 0, -1):
                    if 1 + sum(1 for k in others[i] if match[k] >= index) >= quorum:
                        if commit_term_ok(log[index - 1][0], ct[i]):
                            new = index
                        break
                add((lab_advance[i], s if new == ci[i] else _new(State, (
                    ct, role, vf, logs, ci[:i] + (new,) + ci[i + 1:], vr, vg, ni, mi, bag))))
        for i in servers:  # AppendEntries(i, j)
            if role[i] == LEADER:
                log, ll = logs[i], len(logs[i])
                for j in others[i]:
                    if full:
                        add((lab_append[i][j], None))
                        continue
                    nxt = ni[i][j]
                    prev = nxt - 1
                    last = ll if ll < nxt else nxt
                    m = _new(AppendEntriesRequest, (
                        APPEND_ENTRIES_REQUEST, ct[i], prev, log[prev - 1][0] if 0 < prev <= ll else 0,
                        log[nxt - 1:last], log, ci[i] if ci[i] < last else last, i, j))
                    add((lab_append[i][j], _new(State, head + (
                        bag_with(bag, m) if bag else ((m, 1),),))))
        if bag:
            labels = [_message_labels(m) for m, _ in bag]
            for (m, _), (received, _, _) in zip(bag, labels, strict=True):  # Receive(m)
                t = receive(s, m)
                if t is not None:
                    add((received, t))
            for (m, _), (_, duplicated, _) in zip(bag, labels, strict=True):  # DuplicateMessage(m)
                add((duplicated, None if full else _new(State, head + (bag_with(bag, m),))))
            for (m, _), (_, _, dropped) in zip(bag, labels, strict=True):  # DropMessage(m)
                add((dropped, _new(State, head + (bag_without(bag, m),))))
        return out

    return successors


class _Restarted(NamedTuple):
    """What Restart(i) writes: the variables it resets, with server i's entry reset."""

    role: tuple[int, ...]
    voted_for: tuple[int, ...]
    commit_index: tuple[int, ...]
    votes_responded: tuple[int, ...]
    votes_granted: tuple[int, ...]
    next_index: tuple[tuple[int, ...], ...]
    match_index: tuple[tuple[int, ...], ...]


#: the message types of responses (a stale one is dropped: DropStaleResponse)
_RESPONSES = (REQUEST_VOTE_RESPONSE, APPEND_ENTRIES_RESPONSE)


def _reply(bag: Bag, response: Message, request: Message) -> Bag:
    """``Reply``: the response added, then one copy of the request removed."""
    return bag_without(bag_with(bag, response), request)


def _receiver(rules: Rules) -> Callable[[State, Any], State | None]:
    """``Receive(m)``: UpdateTerm, DropStaleResponse or m's handler (actions.receive_one)."""
    vote_log_ok, append_log_ok = rules.vote_log_ok, rules.append_log_ok
    append_branch, entry_present, can_append = (rules.append_branch, rules.entry_present,
                                                rules.can_append)

    def receive(s: State, m: Any) -> State | None:
        ct, role, vf, logs, ci, vr, vg, ni, mi, bag = s
        i, j = m.mdest, m.msource
        term, mterm, mtype = ct[i], m.mterm, m.mtype
        if mterm > term:  # UpdateTerm: m stays in the bag, to be handled next
            return _new(State, (ct[:i] + (mterm,) + ct[i + 1:], role[:i] + (FOLLOWER,) + role[i + 1:],
                                vf[:i] + (NIL,) + vf[i + 1:], logs, ci, vr, vg, ni, mi, bag))
        if mtype in _RESPONSES and mterm < term:  # DropStaleResponse
            return _new(State, s[:MESSAGES] + (bag_without(bag, m),))
        if mtype == REQUEST_VOTE_REQUEST:  # HandleRequestVoteRequest
            log = logs[i]
            grant = mterm == term and vote_log_ok(log, m) and vf[i] in (NIL, j)
            response = _new(RequestVoteResponse, (REQUEST_VOTE_RESPONSE, term, grant, log, i, j))
            return _new(State, (ct, role, vf[:i] + (j,) + vf[i + 1:] if grant else vf, logs, ci,
                                vr, vg, ni, mi, _reply(bag, response, m)))
        if mtype == REQUEST_VOTE_RESPONSE:  # HandleRequestVoteResponse
            granted = vg[i] | (1 << j) if m.mvote_granted else vg[i]
            return _new(State, (ct, role, vf, logs, ci, vr[:i] + (vr[i] | (1 << j),) + vr[i + 1:],
                                vg[:i] + (granted,) + vg[i + 1:], ni, mi, bag_without(bag, m)))
        if mtype == APPEND_ENTRIES_REQUEST:
            return _append_entries_request(s, m, i, j, append_log_ok, append_branch,
                                           entry_present, can_append)
        nxt, match = ni[i], mi[i]  # HandleAppendEntriesResponse
        if m.msuccess:
            nxt = nxt[:j] + (m.mmatch_index + 1,) + nxt[j + 1:]
            match = match[:j] + (m.mmatch_index,) + match[j + 1:]
        else:
            nxt = nxt[:j] + (max(nxt[j] - 1, 1),) + nxt[j + 1:]
        return _new(State, (ct, role, vf, logs, ci, vr, vg, ni[:i] + (nxt,) + ni[i + 1:],
                            mi[:i] + (match,) + mi[i + 1:], bag_without(bag, m)))

    return receive


def _append_entries_request(s: State, m: Any, i: int, j: int, append_log_ok: Any,
                            append_branch: Any, entry_present: Any, can_append: Any
                            ) -> State | None:
    """HandleAppendEntriesRequest: reject, return to follower, or accept (§5.3)."""
    ct, role, vf, logs, ci, vr, vg, ni, mi, bag = s
    log, term = logs[i], ct[i]
    branch = append_branch(role[i], term, m, append_log_ok(log, m))
    if branch == REJECT:
        response = _new(AppendEntriesResponse, (APPEND_ENTRIES_RESPONSE, term, False, 0, i, j))
        return _new(State, s[:MESSAGES] + (_reply(bag, response, m),))
    if branch == STEP_DOWN:
        return _new(State, (ct, role[:i] + (FOLLOWER,) + role[i + 1:], vf, logs, ci, vr, vg, ni, mi,
                            bag))
    if branch != ACCEPT:
        return None
    index, entries = m.mprev_log_index + 1, m.mentries
    if not entries or entry_present(log, index, entries[0]):  # already done: reply
        response = _new(AppendEntriesResponse,
                        (APPEND_ENTRIES_RESPONSE, term, True, index - 1 + len(entries), i, j))
        return _new(State, (ct, role, vf, logs, ci[:i] + (m.mcommit_index,) + ci[i + 1:], vr, vg, ni, mi,
                            _reply(bag, response, m)))
    if len(log) >= index:  # conflict: drop the last entry
        return _new(State, (ct, role, vf, logs[:i] + (log[:-1],) + logs[i + 1:], ci, vr, vg, ni,
                            mi, bag))
    if can_append(log, m):
        return _new(State, (ct, role, vf, logs[:i] + (log + entries[:1],) + logs[i + 1:], ci, vr,
                            vg, ni, mi, bag))
    return None
