"""Traces for people and for tools.

:func:`format_trace` prints numbered steps; the first shows every variable, each
later one only what changed: ``maxBal[a1]: -1 -> 0`` for a function, ``msgs: + x``
for a set, ``old -> new`` otherwise.  :func:`to_itf` exports the Informal Trace
Format (ITF) of Apalache and Quint, so a trace can be replayed or visualised there, and
:func:`replay_itf` reads one back: every state must follow from the one before by a step
of the model, and every invariant is evaluated again.
Labels everywhere are printed as the model renders them (its ``render_label``);
:func:`format_trace` adds the model's ``step_note``, if any, after a label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from quorum.model_checker.model import Label, Model, format_label, shown_label
from quorum.model_checker.result import Result, Step, Violation

__all__ = ["ItfError", "Replay", "format_trace", "format_value", "itf_state", "read_itf",
           "replay_itf", "result_json", "step_changes", "to_itf", "trace_json"]


def _is_record(x: Any) -> bool:
    """Records are NamedTuple instances (hashable, so they can sit in sets)."""
    return isinstance(x, tuple) and hasattr(x, "_fields")


def format_value(x: Any) -> str:
    """A compact, deterministic, TLA+-flavoured rendering of a state value."""
    if _is_record(x):
        return "[" + ", ".join(f"{k}: {format_value(v)}" for k, v in x._asdict().items()) + "]"
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (set, frozenset)):
        return "{" + ", ".join(sorted(format_value(e) for e in x)) + "}"
    if isinstance(x, (tuple, list)):
        return "<<" + ", ".join(format_value(e) for e in x) + ">>"
    return str(x)


def step_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """Lines describing how ``after`` differs from ``before`` (all of it if no before)."""
    if before is None:
        return [f"{name} = {format_value(v)}" for name, v in after.items()]
    lines: list[str] = []
    for name, new in after.items():
        old = before.get(name)
        if old == new:
            continue
        if isinstance(new, Mapping) and isinstance(old, Mapping):
            for k in new:
                if k not in old or old[k] != new[k]:
                    was = format_value(old[k]) if k in old else "(absent)"
                    lines.append(f"{name}[{format_value(k)}]: {was} -> {format_value(new[k])}")
            lines += [f"{name}[{format_value(k)}]: removed" for k in old if k not in new]
        elif isinstance(new, (set, frozenset)) and isinstance(old, (set, frozenset)):
            lines += [f"{name}: + {format_value(e)}" for e in _sorted(new - old)]
            lines += [f"{name}: - {format_value(e)}" for e in _sorted(old - new)]
        else:
            lines.append(f"{name}: {format_value(old)} -> {format_value(new)}")
    return lines or ["(no change)"]


def _sorted(xs: Any) -> list[Any]:
    return sorted(xs, key=format_value)


def _printed(model: Model, step: Step) -> Label | None:
    """The step's label as the model prints it (its ``render_label``), whoever built the step."""
    if step.label is None or step.shown is not None:
        return step.printed_label
    return shown_label(step.label, model)


def _action(model: Model, step: Step) -> str:
    label = _printed(model, step)
    return "Init" if label is None else format_label(label)


def _note(model: Model, before: Step | None, step: Step) -> str:
    """`` -> note`` from the model's ``step_note(s, label, t)``, if it has one and says
    something about this step."""
    hook = getattr(model, "step_note", None)
    if hook is None or before is None or step.label is None:
        return ""
    note = hook(before.state, step.label, step.state)
    return f" -> {note}" if note else ""


def format_trace(model: Model, trace: tuple[Step, ...], proof_fields: bool = False) -> str:
    """Numbered steps for people: ``N: label`` (`` -> note`` when the model has a
    ``step_note`` for the step), then the variables that changed.  A model's
    ``render_brief``/``render_label_brief``, if it has them, leave out fields that only
    proofs read; ``proof_fields`` prints its ``render``/``render_label`` instead."""
    render = model.render
    brief = None if proof_fields else getattr(model, "render_label_brief", None)
    if not proof_fields:
        render = getattr(model, "render_brief", None) or render
    out: list[str] = []
    before = None
    for i, step in enumerate(trace, 1):
        note = _note(model, trace[i - 2] if i > 1 else None, step)
        action = (format_label(brief(step.label)) if brief is not None and step.label is not None
                  else _action(model, step))
        out.append(f"{i}: {action}{note}")
        after = render(step.state)
        out += ["     " + line for line in step_changes(before, after)]
        before = after
    return "\n".join(out)


# -- ITF ---------------------------------------------------------------------------------
# The Informal Trace Format (Apalache ADR-015), as TLA+ values: a record (a NamedTuple) is a
# JSON object with its field names; a sequence or tuple (a Python tuple or list: in TLA+
# both are functions from 1..n) a JSON array; a set {"#set": [...]}; a function (a Python
# mapping) {"#map": [[key, value], ...]}; an integer a JSON number, or {"#bigint": "..."}
# beyond 2^53; strings (model values such as raft.tla's Nil, servers s1, s2) and booleans
# as they are.  Python's None has no TLA+ counterpart: a model must render its own "no
# value" (raft.tla's Nil, Paxos.tla's None) and never hand None to the encoder.
def _itf(x: Any) -> Any:
    if isinstance(x, bool) or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x if abs(x) < 2**53 else {"#bigint": str(x)}
    if _is_record(x):
        return {k: _itf(v) for k, v in x._asdict().items()}
    if isinstance(x, Mapping):
        return {"#map": _sorted_json([[_itf(k), _itf(v)] for k, v in x.items()])}
    if isinstance(x, (set, frozenset)):
        return {"#set": _sorted_json([_itf(e) for e in x])}
    if isinstance(x, (tuple, list)):
        return [_itf(e) for e in x]
    raise TypeError(f"cannot encode {type(x).__name__} {x!r} in ITF")


def _sorted_json(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda e: json.dumps(e, sort_keys=True))


def itf_state(model: Model, state: Any) -> dict[str, Any]:
    """One state's variables as ITF values, shaped as the model's TLA+ reference has them
    (the model's ``render_itf`` when it has one, e.g. raft.tla's message records; else its
    ``render``)."""
    render = getattr(model, "render_itf", None) or model.render
    return {k: _itf(v) for k, v in render(state).items()}


def to_itf(model: Model, violation: Violation,
           meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The trace as an ITF document (https://apalache-mc.org/docs/adr/015adr-trace.html).

    ``meta`` goes into the document's ``#meta`` (the command line's spec, bounds and
    mutant, so that ``quorum replay`` can rebuild the model); a lasso (a liveness
    counterexample) sets ``loop`` to the index of the state its cycle returns to."""
    states = []
    for i, step in enumerate(violation.trace):
        state = {"#meta": {"index": i, "action": _action(model, step)}}
        state.update(itf_state(model, step.state))
        states.append(state)
    names = [k for k in states[0] if k != "#meta"] if states else []
    doc: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": model.name,
            "description": f"{violation.kind} {violation.property} violated",
            **(meta or {}),
        },
        "vars": names,
        "states": states,
    }
    if violation.kind == "liveness" and "cycle_returns_to_state" in violation.provenance:
        doc["loop"] = int(violation.provenance["cycle_returns_to_state"]) - 1
    return doc


class ItfError(ValueError):
    """A malformed ITF document, or one this model cannot read: one line for the user."""


def read_itf(text: str) -> dict[str, Any]:
    """Parse and check the shape of an ITF document (ItfError names what is wrong)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ItfError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ItfError("not an ITF document: the top level is not a JSON object")
    names, states = doc.get("vars"), doc.get("states")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ItfError("not an ITF document: \"vars\" is not a list of variable names")
    if not isinstance(states, list) or not states:
        raise ItfError("not an ITF document: \"states\" is not a non-empty list")
    for i, st in enumerate(states):
        if not isinstance(st, dict):
            raise ItfError(f"state {i} is not a JSON object")
        missing = [n for n in names if n not in st]
        if missing:
            raise ItfError(f"state {i} has no value for variable {missing[0]}")
    return doc


def _normal(x: Any) -> Any:
    """An ITF value in one canonical form: sets and maps sorted, #bigint read as a number,
    #tup as a sequence (TLA+ does not tell them apart)."""
    if isinstance(x, list):
        return [_normal(e) for e in x]
    if isinstance(x, dict):
        if set(x) == {"#bigint"}:
            try:
                return int(x["#bigint"])
            except (TypeError, ValueError):
                raise ItfError(f"malformed #bigint {x['#bigint']!r}") from None
        if set(x) == {"#tup"}:
            return _normal(x["#tup"])
        if set(x) == {"#set"}:
            return {"#set": _sorted_json(_normal(x["#set"]))}
        if set(x) == {"#map"}:
            pairs = _normal(x["#map"])
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ItfError("malformed #map: its entries are not [key, value] pairs")
            return {"#map": _sorted_json(pairs)}
        return {k: _normal(v) for k, v in x.items()}
    return x


def _key(values: Mapping[str, Any], names: list[str]) -> str:
    return json.dumps({n: _normal(values[n]) for n in names}, sort_keys=True)


@dataclass(frozen=True)
class Replay:
    """What replaying an ITF trace found.

    ``steps`` are the model's steps that reproduce the trace (as far as it could be
    followed); ``invalid`` says why state ``len(steps) + 1`` is not reachable (None: every
    state was matched); ``violated`` is (state number, property) for the first invariant
    that fails along the trace."""

    steps: tuple[Step, ...]
    invalid: str | None
    violated: tuple[int, str] | None


def replay_itf(model: Model, doc: Mapping[str, Any],
               properties: Iterable[str] | None = None) -> Replay:
    """Follow an ITF trace in the model: its first state must be an initial state and each
    later one a successor (Next) of the one before, compared on the document's variables;
    every state is then checked against the model's invariants."""
    names: list[str] = list(doc["vars"])
    want = [_key(st, names) for st in doc["states"]]
    known = set(itf_state(model, next(iter(model.initial_states()))))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ItfError(f"variable {unknown[0]} is not a variable of {model.name} "
                       f"(it has: {', '.join(sorted(known))})")
    frontier = [Step(None, s) for s in model.initial_states()
                if _key(itf_state(model, s), names) == want[0]]
    if not frontier:
        return Replay((), "state 1 is not an initial state of the model", None)
    steps = [frontier[0]]
    for i in range(1, len(want)):
        following = [Step(label, t) for label, t in model.successors(steps[-1].state)
                     if _key(itf_state(model, t), names) == want[i]]
        if not following:
            return Replay(tuple(steps), f"state {i + 1} is not a step of the model from state "
                                        f"{i} (no enabled action leads to it)", None)
        steps.append(following[0])
    invariants = dict(model.invariants)
    chosen = list(properties) if properties is not None else list(invariants)
    for name in chosen:
        if name not in invariants:
            raise ItfError(f"no invariant {name!r} (known: {', '.join(invariants)})")
    for n, step in enumerate(steps, 1):
        for name in chosen:
            if not invariants[name](step.state):
                return Replay(tuple(steps), None, (n, name))
    return Replay(tuple(steps), None, None)


def trace_json(model: Model, trace: tuple[Step, ...]) -> list[dict[str, Any]]:
    """Steps as JSON objects: the action, its parameters and the whole rendered state."""
    out = []
    for s in trace:
        label = _printed(model, s)
        out.append({
            "action": None if label is None else label[0],
            "label": _action(model, s),
            "params": {} if label is None else {k: _itf(v) for k, v in label[1]},
            "state": {k: _itf(v) for k, v in model.render(s.state).items()},
        })
    return out


def result_json(model: Model, result: Result, config: Mapping[str, Any]) -> dict[str, Any]:
    v = result.violation
    return {
        "ok": result.ok,
        "mode": result.mode,
        "spec": model.name,
        "config": dict(config),
        "symmetry": result.symmetry,
        "complete": result.complete,
        "properties": list(result.properties_checked),
        "distinct_states": result.distinct_states,
        "generated_states": result.generated_states,
        "depth": result.depth,
        "coverage": {
            name: {"generated": c.generated, "distinct": c.distinct}
            for name, c in result.coverage.items()
        },
        "violation": None if v is None else {
            "kind": v.kind,
            "property": v.property,
            "length": v.length,
            "trace": trace_json(model, v.trace),
            **({"provenance": v.provenance} if v.provenance else {}),
        },
        **result.extra,
        "seconds": round(result.seconds, 3),
        "states_per_second": round(result.states_per_second, 1),
    }


