"""Raft traces explained: who sends which message to whom, which handler a ``Receive``
runs, why a mutant's step is not a step of raft.tla, the witness of a violation, and a
trace's milestones (elections, log changes, commits).

These are the optional hooks of the checker's model contract (``chart_lanes``,
``chart_events``, ``describe_step``, ``step_note``, ``explain_step``, ``explain_violation``,
``milestones``), over raft.tla's raw state (:mod:`quorum.spec.raft.tla.state`).  One lane
per server.  ``messages`` is a bag: a copy that appears is a send from ``msource`` to
``mdest``; ``Receive(m)`` consumes one copy (except ``UpdateTerm``, which leaves m in the
bag for its handler); ``DuplicateMessage`` adds a copy (drawn as a second send);
``DropMessage`` loses one.  Captions leave out raft.tla's proof-only field ``mlog``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from quorum.spec.common import majority
from quorum.spec.raft.tla.render import ROLE_NAMES, log_name, server_name, value_name
from quorum.spec.raft.tla.rules import RAFT
from quorum.spec.raft.tla.state import (
    LEADER,
    NIL,
    AppendEntriesRequest,
    AppendEntriesResponse,
    RequestVoteRequest,
    RequestVoteResponse,
    State,
    last_term,
)

__all__ = ["REASONS", "chart_events", "chart_lanes", "describe_step", "explain_step",
           "explain_violation", "handler", "milestones", "step_note"]

Event = tuple[Any, ...]


def chart_lanes(model: Any) -> list[str]:
    return [server_name(i) for i in range(model.config.servers)]


def caption(m: Any) -> str:
    """A message in a few words, without the proof-only ``mlog``."""
    if isinstance(m, RequestVoteRequest):
        return f"RequestVote t{m.mterm} last {m.mlast_log_term}/{m.mlast_log_index}"
    if isinstance(m, RequestVoteResponse):
        return f"Vote t{m.mterm} {'granted' if m.mvote_granted else 'refused'}"
    if isinstance(m, AppendEntriesRequest):
        return (f"Append t{m.mterm} prev {m.mprev_log_index}/{m.mprev_log_term} "
                f"{log_name(m.mentries)} c{m.mcommit_index}")
    assert isinstance(m, AppendEntriesResponse)
    return f"AppendAck t{m.mterm} {'ok ' + str(m.mmatch_index) if m.msuccess else 'no'}"


def handler(s: State, m: Any, t: State | None = None) -> str:
    """The part of raft.tla's ``Receive(m)`` that handles m in s.  Given the next state t,
    ``HandleAppendEntriesRequest`` also names its branch as raft.tla's comments do:
    ``reject``, ``return to follower``, or ``accept`` with ``already done`` (reply),
    ``conflict`` (entries removed) or ``append`` (the log grows)."""
    i = m.mdest
    if m.mterm > s.current_term[i]:
        return "UpdateTerm"
    if isinstance(m, (RequestVoteResponse, AppendEntriesResponse)) and m.mterm < s.current_term[i]:
        return "DropStaleResponse"
    name = "Handle" + type(m).__name__
    if t is None or not isinstance(m, AppendEntriesRequest):
        return name
    return f"{name} ({_append_branch(s, m, t)})"


def _append_branch(s: State, m: AppendEntriesRequest, t: State) -> str:
    i = m.mdest
    if t.role[i] != s.role[i]:
        return "return to follower"
    before, after = s.log[i], t.log[i]
    if after != before:
        grows = len(after) > len(before) and after[: len(before)] == before
        return "accept: append" if grows else "accept: conflict"
    sent = [r for r, c in t.messages if c > dict(s.messages).get(r, 0)
            and isinstance(r, AppendEntriesResponse)]
    if sent and not sent[0].msuccess:
        return "reject"
    return "accept: already done"


def describe_step(model: Any, s: State, label: Any, t: State) -> str | None:
    """A short reading of a step for a chart's rows: ``Receive`` names its handler."""
    name, params = label[0], dict(label[1])
    if name == "Receive":
        m = params["m"]
        return (f"Receive {server_name(m.msource)}->{server_name(m.mdest)}: "
                f"{handler(s, m, t)}")
    if name in ("DuplicateMessage", "DropMessage"):
        m = params["m"]
        return f"{name} {type(m).__name__} {server_name(m.msource)}->{server_name(m.mdest)}"
    return None


def step_note(model: Any, s: State, label: Any, t: State) -> str | None:
    """After a printed ``Receive(m=...)``: the raft.tla handler it runs (:func:`handler`)."""
    if label[0] != "Receive":
        return None
    return handler(s, dict(label[1])["m"], t)


def _bag(s: State) -> dict[Any, int]:
    return dict(s.messages)


def chart_events(model: Any, s: State, label: Any, t: State) -> Iterator[Event]:
    name = label[0]
    before, after = _bag(s), _bag(t)
    for m, c in before.items():
        for _ in range(c - after.get(m, 0)):
            yield (("drop", m) if name == "DropMessage" else
                   ("receive", server_name(m.mdest), m))
    for m, c in sorted(after.items(), key=repr):
        for _ in range(c - before.get(m, 0)):
            yield ("send", server_name(m.msource), m,
                   ("copy: " if name == "DuplicateMessage" else "") + caption(m),
                   server_name(m.mdest))
    if name == "Restart":
        yield ("local", server_name(dict(label[1])["i"]), "restart")
    for i in range(len(s.current_term)):
        yield from (("local", server_name(i), c) for c in _changes(s, t, i))


def _changes(s: State, t: State, i: int) -> list[str]:
    out = []
    role_or_term = (s.role[i], s.current_term[i]) != (t.role[i], t.current_term[i])
    if role_or_term:
        out.append(f"{ROLE_NAMES[t.role[i]]} t{t.current_term[i]}")
    if s.voted_for[i] != t.voted_for[i] and t.voted_for[i] != NIL:
        out.append(f"votes {server_name(t.voted_for[i])}")
    if s.log[i] != t.log[i]:
        out.append(f"log {log_name(t.log[i])}")
    if s.commit_index[i] != t.commit_index[i]:
        out.append(f"commit {t.commit_index[i]}")
    return out


# -- why raft.tla refuses a mutant's step -----------------------------------------------------
Reason = Callable[[Any, State, dict[str, Any]], str]


def _why_vote_log(model: Any, s: State, p: dict[str, Any]) -> str:
    m = p["m"]
    log = s.log[m.mdest]
    voter, cand = last_term(log), m.mlast_log_term
    if cand < voter:
        why = f"candidate's last term {cand} < voter's {voter}"
    else:
        why = (f"same last term {cand}, but the candidate's log ends at index "
               f"{m.mlast_log_index} < voter's {len(log)}")
    return f"Raft refuses the vote: {why} (§5.4.1: the voter's log is more up-to-date)"


def _why_commit(model: Any, s: State, p: dict[str, Any]) -> str:
    i = p["i"]
    term = s.current_term[i]
    old = [e for e in s.log[i][s.commit_index[i]:] if e[0] != term]
    first = old[0][0] if old else "?"
    return (f"Raft refuses to commit: the entry is of term {first}, not the leader's term "
            f"{term}; a leader counts replicas only for entries of its own term (§5.4.2)")


def _why_restart(model: Any, s: State, p: dict[str, Any]) -> str:
    i = p["i"]
    return (f"Raft keeps votedFor across a restart (stable storage, Figure 2): "
            f"{server_name(i)} had voted for {_name(s.voted_for[i])}")


def _why_quorum(model: Any, s: State, p: dict[str, Any]) -> str:
    n, i = len(s.current_term), p.get("i", 0)
    granted = bin(s.votes_granted[i]).count("1")
    return (f"Raft refuses: a majority of {n} is floor({n}/2)+1 = {majority(n)}, and "
            f"{server_name(i)} counts only {granted}")


def _why_take(model: Any, s: State, p: dict[str, Any]) -> str:
    i = p["i"]
    return (f"Raft refuses: {server_name(i)} is a {ROLE_NAMES[s.role[i]]}; only a leader "
            "appends client requests (§5.3)")


def _why_append(field: str) -> Reason:
    def why(model: Any, s: State, p: dict[str, Any]) -> str:
        m = p.get("m")
        who = server_name(m.mdest) if m is not None else "?"
        log = log_name(s.log[m.mdest]) if m is not None else "?"
        doc = (getattr(RAFT, field).__doc__ or "").strip().split("\n")[0]
        return f"Raft's {field} decides otherwise for {who} (log {log}): {doc}"
    return why


def _name(j: int) -> str:
    return "nobody" if j == NIL else server_name(j)


#: per field of :class:`~quorum.spec.raft.tla.rules.Rules`: why raft.tla's rule refuses a
#: step that the mutant's allows
REASONS: dict[str, Reason] = {
    "vote_log_ok": _why_vote_log,
    "commit_term_ok": _why_commit,
    "vote_after_restart": _why_restart,
    "quorum_size": _why_quorum,
    "may_take_requests": _why_take,
    "entry_present": _why_append("entry_present"),
    "append_branch": _why_append("append_branch"),
    "append_log_ok": _why_append("append_log_ok"),
    "can_append": _why_append("can_append"),
}


def _changed(model: Any) -> list[str]:
    return [f for f in REASONS if getattr(model.rules, f) is not getattr(RAFT, f)]


def explain_step(model: Any, s: State, label: Any, t: State) -> list[str]:
    """Empty for a step of raft.tla; for a mutant's step that raft.tla has not, why
    raft.tla's rule refuses it."""
    changed = _changed(model)
    if not changed:
        return []
    correct = getattr(model, "_correct_model", None)
    if correct is None:
        correct = model._correct_model = type(model)(model.config)
    if (label, t) in set(correct.successors(s)):
        return []
    return [REASONS[f](model, s, dict(label[1])) + f" (the mutant's rule {f} allows it)"
            for f in changed]


def _leaders(s: State) -> list[int]:
    return [i for i, r in enumerate(s.role) if r == LEADER]


def _votes(mask: int) -> str:
    return "{" + ",".join(server_name(j) for j in range(mask.bit_length()) if mask >> j & 1) + "}"


def explain_violation(model: Any, s: State, prop: str) -> list[str]:
    """The witness of a broken property in ``s``, in Raft's words."""
    leaders = _leaders(s)
    lines = []
    if prop == "ElectionSafety":
        by_term: dict[int, list[int]] = {}
        for i in leaders:
            by_term.setdefault(s.current_term[i], []).append(i)
        for term, ls in sorted(by_term.items()):
            if len(ls) > 1:
                lines.append(f"two leaders in term {term}: " + " and ".join(
                    f"{server_name(i)} (votes {_votes(s.votes_granted[i])})" for i in ls))
    committed = [(i, s.log[i][: s.commit_index[i]]) for i in range(len(s.log))
                 if s.commit_index[i]]
    if prop == "StateMachineSafety":
        lines += _different_commits(committed)
    if prop in ("LeaderCompleteness", "StateMachineSafety", "LogMatching", "LeaderAppendOnly"):
        for i, prefix in committed:
            lines.append(f"{server_name(i)} (term {s.current_term[i]}) committed "
                         f"{log_name(prefix)}")
        for i in leaders:
            lines.append(f"{server_name(i)} is leader of term {s.current_term[i]} with log "
                         f"{log_name(s.log[i])}")
        others = [i for i in range(len(s.log)) if i not in leaders]
        lines += [f"{server_name(i)} ({ROLE_NAMES[s.role[i]]}, term {s.current_term[i]}) "
                  f"has log {log_name(s.log[i])}" for i in others]
    return lines


def _different_commits(committed: list[tuple[int, Any]]) -> list[str]:
    """The first pair of servers that committed different entries at one index."""
    for a, (i, x) in enumerate(committed):
        for j, y in committed[a + 1:]:
            for k, (e, f) in enumerate(zip(x, y, strict=False)):
                if e != f:
                    return [f"{server_name(i)} and {server_name(j)} committed different "
                            f"entries at index {k + 1}: {e[0]}:{value_name(e[1])} and "
                            f"{f[0]}:{value_name(f[1])}"]
    return []


def milestones(model: Any, steps: Sequence[tuple[Any, State]]) -> list[tuple[int, str]]:
    """``(state number, what happened)``: elections won, entries appended, commits."""
    out: list[tuple[int, str]] = []
    for k in range(1, len(steps)):
        s, (label, t) = steps[k - 1][1], steps[k]
        for i in range(len(t.role)):
            who = server_name(i)
            if t.role[i] == LEADER and s.role[i] != LEADER:
                out.append((k + 1, f"{who} becomes leader of term {t.current_term[i]} "
                                   f"(votes {_votes(t.votes_granted[i])})"))
            if s.log[i] != t.log[i]:
                if len(t.log[i]) > len(s.log[i]) and t.log[i][: len(s.log[i])] == s.log[i]:
                    e = t.log[i][-1]
                    out.append((k + 1, f"{who} appends {e[0]}:{value_name(e[1])} at index "
                                       f"{len(t.log[i])}"))
                else:
                    out.append((k + 1, f"{who}'s log becomes {log_name(t.log[i])}"))
            if t.commit_index[i] > s.commit_index[i]:
                out.append((k + 1, f"{who} commits up to index {t.commit_index[i]}"))
        if label[0] == "Restart":
            out.append((k + 1, f"{server_name(dict(label[1])['i'])} restarts"))
    return out
