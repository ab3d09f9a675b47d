"""Paxos traces explained: who sends which message to whom, why a mutant's step is not a
step of Paxos.tla, the witness of a violation, and a trace's milestones.

These are the optional hooks of the checker's model contract (``chart_lanes``,
``chart_events``, ``explain_step``, ``explain_violation``, ``milestones``), written over the
rendered state (``PaxosModel.render``: ``maxBal``, ``maxVBal``, ``maxVal``, ``msgs``) so they
read as Paxos.tla does.  Paxos.tla names no proposers: a ballot is owned by one proposer, so
the chart draws one proposer lane per ballot (``p0``, ``p1``, ...), one lane per acceptor,
and one learner lane.  ``msgs`` only grows, so a message is *read* (it stays and may be read
again): a 1a by the acceptors that join its ballot, the 1b messages of a ballot by its
proposer when it sends its 2a, a 2a by the acceptors that vote for it.  Paxos.tla has no
learner action; the chart hands every 2b to the learner as it is sent, and marks the step
at which a quorum's 2b messages first make a value chosen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from quorum.spec.common import majority
from quorum.spec.paxos.config import acceptor_name
from quorum.spec.paxos.rules import PAXOS

__all__ = ["REASONS", "chart_events", "chart_lanes", "chosen", "explain_step",
           "explain_violation", "milestones"]

Event = tuple[Any, ...]
LEARNER = "learner"


def _p(b: int) -> str:
    return f"p{b}"


def chart_lanes(model: Any) -> list[str]:
    cfg = model.cfg
    return ([_p(b) for b in range(cfg.max_ballot + 1)]
            + [acceptor_name(a) for a in range(cfg.acceptors)] + [LEARNER])


def _caption(m: Any) -> str:
    if m.type == "1a":
        return f"1a b={m.bal}"
    if m.type == "1b":
        vote = "no vote" if m.mbal < 0 else f"voted {m.mval}@{m.mbal}"
        return f"1b b={m.bal} {vote}"
    return f"{m.type} b={m.bal} {m.val}"


def chart_events(model: Any, state: Any, label: Any, nxt: Any) -> Iterator[Event]:
    name, params = label[0], dict(label[1])
    before, after = model.render(state)["msgs"], model.render(nxt)["msgs"]
    b = params["b"]
    if name == "Phase1b":
        yield from (("read", params["a"], m) for m in before if m.type == "1a" and m.bal == b)
    elif name == "Phase2a":
        yield from (("read", _p(b), m) for m in sorted(before, key=repr)
                    if m.type == "1b" and m.bal == b)
    elif name == "Phase2b":
        yield from (("read", params["a"], m) for m in before
                    if m.type == "2a" and m.bal == b and m.val == params["v"])
    for m in sorted(after - before, key=repr):
        src = _p(m.bal) if m.type in ("1a", "2a") else m.acc
        dest = {"1a": None, "1b": _p(m.bal), "2a": None, "2b": LEARNER}[m.type]
        yield ("send", src, m, _caption(m), dest)
        if m.type == "2b":
            yield ("receive", LEARNER, m)
    newly = chosen(model, nxt) - chosen(model, state)
    for v, bal, _q in sorted(newly):
        yield ("local", LEARNER, f"{v} chosen in b={bal}")


def chosen(model: Any, state: Any) -> set[tuple[str, int, tuple[str, ...]]]:
    """``(value, ballot, quorum)`` for every quorum (of the model's quorum system, a
    mutant's included) whose 2b messages all vote for value in ballot."""
    votes: dict[tuple[str, int], set[str]] = {}
    for m in model.render(state)["msgs"]:
        if m.type == "2b":
            votes.setdefault((m.val, m.bal), set()).add(m.acc)
    out = set()
    for (v, bal), accs in votes.items():
        for q in model.cfg.quorum_sets():
            names = tuple(acceptor_name(a) for a in sorted(q))
            if set(names) <= accs:
                out.add((v, bal, names))
                break
    return out


def _set(names: Sequence[str]) -> str:
    return "{" + ",".join(names) + "}"


def explain_violation(model: Any, state: Any, prop: str) -> list[str]:
    """The witness of a broken property in ``state``, in Paxos's words."""
    found = sorted(chosen(model, state), key=lambda c: (c[1], c[0]))
    lines = []
    if prop == "Agreement" or len({v for v, _, _ in found}) > 1:
        by_value: dict[str, tuple[str, int, tuple[str, ...]]] = {}
        for c in found:
            by_value.setdefault(c[0], c)
        if len(by_value) > 1:
            lines.append("two values are chosen: " + ", ".join(
                f"{v} by {_set(q)} in ballot {bal}" for v, bal, q in by_value.values()))
    msgs = model.render(state)["msgs"]
    for p in sorted((m for m in msgs if m.type == "2a"), key=repr):
        reports = sorted(((m.mbal, m.mval, m.acc) for m in msgs
                          if m.type == "1b" and m.bal == p.bal and m.mbal >= 0), reverse=True)
        if reports and reports[0][1] != p.val:
            top, val, acc = reports[0]
            lines.append(f"the 2a of ballot {p.bal} proposes {p.val}, while {acc}'s 1b for "
                         f"ballot {p.bal} reports a vote for {val} in ballot {top}, the "
                         "highest reported")
    return lines


# -- why Paxos.tla refuses a mutant's step --------------------------------------------------
def _why_quorum(model: Any, state: Any, params: dict[str, Any]) -> str:
    n = model.cfg.acceptors
    joined = sorted(m.acc for m in model.render(state)["msgs"]
                    if m.type == "1b" and m.bal == params.get("b"))
    return (f"Paxos.tla refuses: a quorum is a majority, floor({n}/2)+1 = {majority(n)} of "
            f"{n} acceptors, and only {_set(joined)} sent 1b for ballot {params.get('b')}")


def _why_proposable(model: Any, state: Any, params: dict[str, Any]) -> str:
    reports = sorted(((m.mbal, m.mval, m.acc) for m in model.render(state)["msgs"]
                      if m.type == "1b" and m.bal == params["b"] and m.mbal >= 0), reverse=True)
    if not reports:
        return "Paxos.tla refuses: no quorum has promised this ballot"
    top, val, acc = reports[0]
    return (f"Paxos.tla refuses: {acc} reported a vote for {val} in ballot {top}, the highest "
            f"reported, so ballot {params['b']} may propose only {val}, not {params['v']}")


def _why_vote(model: Any, state: Any, params: dict[str, Any]) -> str:
    a, b = params["a"], params["b"]
    promise = model.render(state)["maxBal"][a]
    return (f"Paxos.tla refuses: {a} promised ballot {promise}, and a vote in ballot {b} "
            f"< {promise} would break that promise")


#: per field of :class:`~quorum.spec.paxos.rules.Rules`: why Paxos.tla's rule refuses a step
#: that the mutant's allows (the refusal reason belongs to the rule)
REASONS = {
    "quorum_size": _why_quorum,
    "proposable": _why_proposable,
    "may_vote": _why_vote,
}


def _changed(model: Any) -> list[str]:
    return [f for f in REASONS if getattr(model.rules, f) is not getattr(PAXOS, f)]


def explain_step(model: Any, state: Any, label: Any, nxt: Any) -> list[str]:
    """Empty for a step of Paxos.tla; for a mutant's step that Paxos.tla has not, why
    Paxos.tla's rule refuses it (the mutant's decision named)."""
    changed = _changed(model)
    if not changed:
        return []
    correct = _correct(model)
    if (label, nxt) in set(correct.successors(state)):
        return []
    params = dict(label[1])
    return [REASONS[f](model, state, params) + f" (the mutant's rule {f} allows it)"
            for f in changed]


def _correct(model: Any) -> Any:
    cached = getattr(model, "_correct_model", None)
    if cached is None:
        cached = type(model)(replace(model.cfg, mutant=None))
        model._correct_model = cached
    return cached


def milestones(model: Any, steps: Sequence[tuple[Any, Any]]) -> list[tuple[int, str]]:
    """``(state number, what happened)`` for ballots started, values proposed and chosen."""
    out: list[tuple[int, str]] = []
    for i in range(1, len(steps)):
        (_, before), (label, after) = steps[i - 1], steps[i]
        name, params = label[0], dict(label[1])
        if name == "Phase2a":
            out.append((i + 1, f"ballot {params['b']} proposes {params['v']}"))
        for v, bal, q in sorted(chosen(model, after) - chosen(model, before)):
            out.append((i + 1, f"{v} chosen by {_set(q)} in ballot {bal}"))
    return out
