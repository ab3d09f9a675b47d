"""Linearizability of a recorded client history (Wing & Gong 1993, Lowe 2017, Porcupine).

A *history* is data: one :class:`Operation` per client call, with the client, the
virtual time of the call and of the return, the input and the output.  An
operation that never returned (``ret is None``: the client timed out, or the run
ended) may or may not have taken effect: it is given an infinite return time and
the model accepts it with any output, so the search may place it anywhere after
its call, including "never" (last, unobserved).

Theory of operation.  A history is linearizable when the operations can be put in
one sequential order that respects real time (``a.ret < b.call`` puts a before b)
and in which every output is what the sequential model would answer.  The search
is Wing and Gong's: walk the call/return events in time order; at a call, try to
linearize that operation now (the model must accept its output), lift it out of
the event list and restart from the head; at a return whose operation is not yet
linearized, backtrack.  Lowe's improvement memoizes every visited pair
(set of linearized operations, model state): reaching the same pair twice can
only repeat a failed search, so it is cut.  Porcupine's P-compositionality splits
the history first, by the model's ``partition`` (by key for a key-value store:
linearizability is local, Herlihy & Wing 1990, so a history is linearizable iff each
per-key sub-history is), which turns one exponential search into many small ones.

The checker is generic: the sequential specification is a :class:`SeqModel` passed to
:func:`check` (the store's is ``quorum.spec.kv.KVModel``); this module knows no
operation of any store.

Verdicts: ``"ok"``, ``"illegal"`` (with the offending partition and the longest
linearizable prefix found), or ``"unknown"`` when the time limit cut a search
short: a time limit never yields ``"ok"``.  An ``"illegal"`` partition is a
definite answer even if another partition ran out of time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ILLEGAL",
    "OK",
    "UNKNOWN",
    "LinearizabilityResult",
    "Operation",
    "SeqModel",
    "check",
    "history_from_json",
    "history_to_json",
]

OK, ILLEGAL, UNKNOWN = "ok", "illegal", "unknown"


@dataclass(frozen=True, slots=True)
class Operation:
    """One client call.  ``ret is None``: it never returned (possibly took effect)."""

    client: int
    call: float
    ret: float | None
    input: tuple[Any, ...]
    output: Any = None

    @property
    def pending(self) -> bool:
        return self.ret is None


class SeqModel(Protocol):
    """A sequential specification (Porcupine's Model), generic over inputs and states."""

    def init(self) -> Hashable: ...

    def step(self, state: Any, input: tuple[Any, ...], output: Any) -> tuple[bool, Hashable]:
        """Whether ``output`` is a legal answer to ``input`` in ``state``, and the next state."""
        ...

    def step_unknown(self, state: Any, input: tuple[Any, ...]) -> Hashable:
        """The next state if an operation with an unknown output took effect now."""
        ...

    def partition(self, ops: Sequence[Operation]) -> list[list[Operation]]:
        """Independent sub-histories (P-compositionality); ``[list(ops)]`` when none."""
        ...

    def read_only(self, op: Operation) -> bool:
        """True when ``op``, wherever it is legal, leaves the state unchanged.

        Such an operation is linearized greedily; a pending read-only operation
        constrains nothing and is dropped.  ``False`` is always safe.
        """
        ...


@dataclass
class LinearizabilityResult:
    verdict: str  # OK, ILLEGAL or UNKNOWN
    operations: int
    partitions: int
    seconds: float
    #: for ILLEGAL: the operations of the first non-linearizable partition
    partition: list[Operation] = field(default_factory=list)
    #: for ILLEGAL: the longest linearizable prefix found in that partition (operation order)
    longest_prefix: list[Operation] = field(default_factory=list)
    #: for OK: one witness order per partition
    witness: list[list[Operation]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == OK


class _Timeout(Exception):
    pass


def _events(ops: Sequence[Operation]) -> list[tuple[int, int]]:
    """Events (op index, 0 call / 1 return) in time order; calls first at equal times.

    Calls before returns at equal times makes touching operations concurrent: only
    ``a.ret < b.call`` orders a before b.
    """
    inf = float("inf")
    keyed = []
    for i, op in enumerate(ops):
        keyed.append((op.call, 0, i))
        keyed.append((inf if op.ret is None else op.ret, 1, i))
    keyed.sort()
    return [(i, kind) for _, kind, i in keyed]


def _search(
    ops: Sequence[Operation], model: SeqModel, deadline: float, clock: Callable[[], float]
) -> tuple[bool, list[int]]:
    """Lowe's memoized Wing-Gong search on one partition: (linearizable, order or longest prefix).

    A completed read-only operation that is legal where it is reached is linearized
    there without leaving a choice point: any linearization that places it later
    stays legal with it moved here (it is callable, so everything that must precede
    it is already linearized, and it changes no state).  Backtracking pops such
    forced steps together with the choice below them.
    """
    events = _events(ops)
    n = len(events)
    # doubly linked list over event positions 0..n-1, sentinel head at n
    nxt = [p + 1 for p in range(n)] + [0 if n else -1]
    prv = [p - 1 for p in range(n)] + [-1]
    if n:
        nxt[n - 1] = -1
        prv[0] = n
    ret_pos = [0] * len(ops)
    for pos, (i, kind) in enumerate(events):
        if kind == 1:
            ret_pos[i] = pos
    forced_op = [op.ret is not None and model.read_only(op) for op in ops]
    head = n
    state: Hashable = model.init()
    linearized = 0
    cache: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Hashable, bool]] = []
    best: list[int] = []
    pos = nxt[head]
    steps = 0
    while nxt[head] != -1:
        steps += 1
        if steps & 1023 == 0 and clock() > deadline:
            raise _Timeout
        i, kind = events[pos]
        if kind == 0:
            op = ops[i]
            if op.ret is None:
                ok, new_state = True, model.step_unknown(state, op.input)
            else:
                ok, new_state = model.step(state, op.input, op.output)
            if ok:
                lin2 = linearized | (1 << i)
                memo = (lin2, new_state)
                if memo not in cache:
                    cache.add(memo)
                    stack.append((pos, state, forced_op[i]))
                    state, linearized = new_state, lin2
                    _lift(nxt, prv, pos, ret_pos[i])
                    pos = nxt[head]
                    continue
                if not forced_op[i]:
                    pos = nxt[pos]
                    continue
                # a forced step already explored: this node fails, backtrack
            else:
                pos = nxt[pos]
                continue
        if len(stack) > len(best):
            best = [events[p][0] for p, _, _ in stack]
        while True:
            if not stack:
                return False, best
            pos, state, forced = stack.pop()
            i = events[pos][0]
            linearized &= ~(1 << i)
            _unlift(nxt, prv, pos, ret_pos[i])
            if not forced:
                break
        pos = nxt[pos]
    return True, [events[p][0] for p, _, _ in stack]


def _lift(nxt: list[int], prv: list[int], call: int, ret: int) -> None:
    for p in (call, ret):
        nxt[prv[p]] = nxt[p]
        if nxt[p] != -1:
            prv[nxt[p]] = prv[p]


def _unlift(nxt: list[int], prv: list[int], call: int, ret: int) -> None:
    for p in (ret, call):
        if nxt[p] != -1:
            prv[nxt[p]] = p
        nxt[prv[p]] = p


def check(
    history: Iterable[Operation],
    model: SeqModel,
    timeout: float | None = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> LinearizabilityResult:
    """Judge a history against ``model``; ``timeout`` (seconds, ``None`` for none) bounds
    the whole check."""
    ops = list(history)
    start = clock()
    # a pending read-only operation may be placed last, where it constrains nothing
    relevant = [op for op in ops if not (op.ret is None and model.read_only(op))]
    deadline = float("inf") if timeout is None else start + timeout
    parts = model.partition(relevant)
    witness: list[list[Operation]] = []
    unknown = False
    for part in parts:
        try:
            linear, order = _search(part, model, deadline, clock)
        except _Timeout:
            unknown = True
            continue
        if not linear:
            return LinearizabilityResult(
                ILLEGAL, len(ops), len(parts), clock() - start,
                partition=part, longest_prefix=[part[i] for i in order],
            )
        witness.append([part[i] for i in order])
    verdict = UNKNOWN if unknown else OK
    return LinearizabilityResult(
        verdict, len(ops), len(parts), clock() - start, witness=[] if unknown else witness
    )


def history_to_json(ops: Iterable[Operation]) -> list[dict[str, Any]]:
    """A history as JSON-friendly dicts (inputs as lists)."""
    return [
        {"client": o.client, "call": o.call, "ret": o.ret, "input": list(o.input), "output": o.output}
        for o in ops
    ]


def history_from_json(data: Iterable[dict[str, Any]]) -> list[Operation]:
    return [
        Operation(d["client"], d["call"], d["ret"], tuple(d["input"]), d.get("output"))
        for d in data
    ]
