"""Judging a recorded history: the project's linearizability checker, and a readable report.

The history is checked per key (``KVModel.partition``: linearizability is local, so
independent keys keep each search small) by
:func:`quorum.model_checker.history.linearizability.check`.  Three verdicts, as the CLI
exits with them: ``ok`` (0), ``illegal`` (1: the operation that cannot be linearized, and
a window of that key's history around it, is printed), ``unknown`` (3: the checker's
time limit or memo cap stopped a search; never read as a pass).

A history file holds everything needed to judge again without the cluster
(``quorum torture --check FILE``): the operations (``history_to_json``), the nemesis
events and the run's settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quorum.model_checker.history.linearizability import LinearizabilityResult, check
from quorum.model_checker.history.operations import Operation, history_from_json, history_to_json
from quorum.spec.kv import KVModel

__all__ = ["WINDOW", "judge", "load", "save", "window"]

#: operations shown on each side of the unlinearizable one
WINDOW = 8


def judge(ops: list[Operation], timeout: float = 60.0) -> LinearizabilityResult:
    return check(ops, KVModel(), timeout=timeout)


def window(result: LinearizabilityResult, width: int = WINDOW) -> list[Operation]:
    """The failing key's operations around the unlinearizable one, in call order."""
    bad = result.unlinearizable
    if bad is None:
        return []
    part = sorted(result.partition, key=lambda o: o.call)
    i = part.index(bad) if bad in part else 0
    return part[max(0, i - width):i + width + 1]


def describe(result: LinearizabilityResult) -> list[str]:
    """The verdict in lines of text: for ``illegal``, the operation and its window."""
    if result.verdict == "ok":
        return [f"linearizable: {result.operations} operations on {result.partitions} keys, "
                f"checked in {result.seconds:.2f}s"]
    if result.verdict == "unknown":
        return [f"unknown: the checker gave up ({result.reason}) after {result.seconds:.2f}s"]
    bad = result.unlinearizable
    key = bad.input[1] if bad is not None else "?"
    lines = [f"NOT linearizable: key {key!r}: no order of its history explains",
             f"  {bad}",
             f"after the longest linearizable prefix of {len(result.longest_prefix)} "
             f"operations; its window (by call time; * the operation, + in the prefix):"]
    prefix = set(map(id, result.longest_prefix))
    for op in window(result):
        mark = "*" if op is bad else ("+" if id(op) in prefix else " ")
        lines.append(f"  {mark} {op}")
    return lines


def save(path: Path, ops: list[Operation], events: list[dict[str, Any]],
         settings: dict[str, Any]) -> None:
    doc = {"settings": settings, "events": events, "history": history_to_json(ops)}
    path.write_text(json.dumps(doc, indent=1) + "\n")


def load(path: Path) -> tuple[list[Operation], list[dict[str, Any]], dict[str, Any]]:
    """A saved run's operations, events and settings; ValueError when it is not one."""
    try:
        doc = json.loads(path.read_text())
        ops = history_from_json(doc["history"])
        for op in ops:
            if op.input[0] not in ARITY or len(op.input) != ARITY[op.input[0]]:
                raise ValueError(f"operation {op.input!r} is not a read, write or cas")
        return ops, list(doc.get("events", [])), dict(doc.get("settings", {}))
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"{path}: not a torture history ({type(exc).__name__}: {exc})") from None


#: the operations a torture history holds, and the length of their inputs
ARITY = {"read": 2, "write": 3, "cas": 4}
