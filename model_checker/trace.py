"""Traces for people and for tools.

:func:`format_trace` prints numbered steps; the first shows every variable, each
later one only what changed: ``maxBal[a1]: -1 -> 0`` for a function, ``msgs: + x``
for a set, ``old -> new`` otherwise.  :func:`to_itf` exports the Informal Trace
Format (ITF) of Apalache and Quint, so a trace can be replayed or visualised there.
Labels everywhere are printed as the model renders them (its ``render_label``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from quorum.model_checker.model import Label, Model, format_label, shown_label
from quorum.model_checker.result import Result, Step, Violation

__all__ = ["format_trace", "format_value", "result_json", "step_changes", "to_itf", "trace_json"]


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


def format_trace(model: Model, trace: tuple[Step, ...]) -> str:
    out: list[str] = []
    before = None
    for i, step in enumerate(trace, 1):
        out.append(f"{i}: {_action(model, step)}")
        after = model.render(step.state)
        out += ["     " + line for line in step_changes(before, after)]
        before = after
    return "\n".join(out)


# -- ITF ---------------------------------------------------------------------------------
def _itf(x: Any) -> Any:
    if isinstance(x, bool) or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x if abs(x) < 2**53 else {"#bigint": str(x)}
    if x is None:
        return {"#unserializable": "None"}
    if _is_record(x):
        return {k: _itf(v) for k, v in x._asdict().items()}
    if isinstance(x, Mapping):
        return {"#map": [[_itf(k), _itf(v)] for k, v in x.items()]}
    if isinstance(x, (set, frozenset)):
        items = [_itf(e) for e in x]
        return {"#set": sorted(items, key=lambda e: json.dumps(e, sort_keys=True))}
    if isinstance(x, tuple):
        return {"#tup": [_itf(e) for e in x]}
    if isinstance(x, list):
        return [_itf(e) for e in x]
    raise TypeError(f"cannot encode {type(x).__name__} in ITF")


def to_itf(model: Model, violation: Violation) -> dict[str, Any]:
    """The trace as an ITF document (https://apalache-mc.org/docs/adr/015adr-trace.html)."""
    states = []
    for i, step in enumerate(violation.trace):
        rendered = model.render(step.state)
        state = {"#meta": {"index": i, "action": _action(model, step)}}
        state.update({k: _itf(v) for k, v in rendered.items()})
        states.append(state)
    names = list(model.render(violation.trace[0].state)) if violation.trace else []
    return {
        "#meta": {
            "format": "ITF",
            "source": model.name,
            "description": f"{violation.kind} {violation.property} violated",
        },
        "vars": names,
        "states": states,
    }


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


