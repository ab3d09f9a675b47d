"""A recorded client history: one :class:`Operation` per call, and its JSON form.

What a history checker judges (:mod:`quorum.model_checker.history.linearizability`);
generic over what the inputs and outputs are.  An operation either returned with an
output, returned without one (``unknown``: Jepsen's ``:info``), or never returned
(``ret is None``); the last two are *indeterminate*: they may have taken effect at
any time after the call, or never.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Operation", "history_from_json", "history_to_json"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One client call.  ``ret is None``: it never returned; ``unknown``: it returned at
    ``ret`` without an outcome (``output`` is then ignored).  Either possibly took effect.
    """

    client: int
    call: float
    ret: float | None
    input: tuple[Any, ...]
    output: Any = None
    unknown: bool = False

    def __post_init__(self) -> None:
        if self.unknown and self.ret is None:
            raise ValueError("an operation that never returned cannot have returned with "
                             "an unknown outcome: give it ret, or unknown=False")

    def __str__(self) -> str:
        """``client 2 ('read', 'x') -> 1 [called 40, returned 57]``, one line."""
        if self.ret is None:
            return f"client {self.client} {self.input!r} [called {self.call}, never returned]"
        out = "unknown" if self.unknown else repr(self.output)
        return f"client {self.client} {self.input!r} -> {out} [called {self.call}, returned {self.ret}]"

    @property
    def pending(self) -> bool:
        """It never returned."""
        return self.ret is None

    @property
    def indeterminate(self) -> bool:
        """It may have taken effect at any time after its call, or never: it never
        returned, or returned with an unknown outcome."""
        return self.ret is None or self.unknown


def history_to_json(ops: Iterable[Operation]) -> list[dict[str, Any]]:
    """A history as JSON-friendly dicts (inputs as lists); ``"unknown": true`` only on an
    operation that returned with an unknown outcome."""
    out = []
    for o in ops:
        d = {"client": o.client, "call": o.call, "ret": o.ret, "input": list(o.input),
             "output": o.output}
        if o.unknown:
            d["unknown"] = True
        out.append(d)
    return out


def history_from_json(data: Iterable[dict[str, Any]]) -> list[Operation]:
    """The inverse of :func:`history_to_json` (``output`` and ``unknown`` may be absent).

    JSON has no tuples: arrays in inputs and outputs are read back as tuples, so a value
    recorded as a tuple (a list of appended values) compares equal and stays hashable.
    """
    return [
        Operation(d["client"], d["call"], d["ret"], _tuples(d["input"]),
                  _tuples(d.get("output")), bool(d.get("unknown", False)))
        for d in data
    ]


def _tuples(value: Any) -> Any:
    """``value`` with every list, at any depth, made a tuple."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
