"""Linearizability of a recorded client history (Wing & Gong 1993, Lowe 2017, Porcupine).

A *history* is data (:mod:`.operations`, re-exported here): one :class:`Operation`
per client call, with the client, the virtual time of the call and of the return,
the input and the output.  Two kinds of operation are *indeterminate*: one that
never returned (``ret is None``: the run ended, or its node crashed first) and one
that returned without an outcome (``unknown=True``: the client got a timeout or an
error that does not say whether the request was applied, Jepsen's ``:info``).
Either may or may not have taken effect: it is given an infinite return time and
the model accepts it with any output (``SeqModel.step_unknown``), so the search may
place it anywhere after its call, including "never" (last, unobserved), and it
constrains nothing else.  Only the record differs: an unknown operation keeps the
time it returned at.

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

Partitions are searched in rounds, so that a partition whose search explodes cannot
hide an illegal one under the shared time limit (Porcupine searches them in parallel
goroutines, the first illegal one stopping the rest; here they take turns on one
core, with the same outcome).  Each search is resumable (a generator that pauses every
:data:`SLICE` steps).  In round 0 every partition, in order, may take
:data:`FIRST_BUDGET` steps per operation it holds: several times what a search that
never backtracks needs, so an ordinary history is decided in round 0, partition after
partition, as a sequential checker would.  A search that uses up its budget is
suspended, and each later round doubles the budget of every suspended search,
resuming it where it stopped (nothing is searched twice).  So an illegal partition
whose own search takes ``s`` steps per operation is found after at most about
``max(FIRST_BUDGET, 2 s)`` steps per operation of the whole history, whatever the
other partitions cost and whatever order they come in.  Budgets count steps, not
seconds: which partition is found first does not depend on the machine's speed (only
reaching the time limit does).

Memory is bounded too.  The memo of a search grows with the states it visits (about
130 bytes an entry for a partition of a few dozen operations, 200 for a thousand:
the linearized set is a bitset over the partition's operations).  The searches alive
at one time share a cap of ``max_memo`` entries (:data:`MAX_MEMO` by default),
looked at every slice: when it is exceeded, the search with the largest memo is
stopped and its partition stays undecided, so a pathological partition cannot take
the memory a cheap one needs.  A ``MemoryError`` anywhere in the check is caught:
raised in a search, that search is stopped (its memory freed), its partition left
undecided, and the others go on; raised elsewhere, the check answers ``"unknown"``.

Verdicts: ``"illegal"`` as soon as one partition's search fails (the first to fail,
with that partition, the longest linearizable prefix found and the operation no
extension of that prefix can linearize, as Knossos and Porcupine report it):
definite, whatever the other partitions would have answered; ``"ok"`` only when every
partition's search succeeded; otherwise ``"unknown"``, with the reason (the time
limit, the memo cap or a ``MemoryError`` stopped some search).  None of these ever
yields ``"ok"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from quorum.model_checker.history.operations import Operation, history_from_json, history_to_json

__all__ = [
    "FIRST_BUDGET",
    "ILLEGAL",
    "MAX_MEMO",
    "OK",
    "SLICE",
    "UNKNOWN",
    "LinearizabilityResult",
    "Operation",
    "SeqModel",
    "check",
    "history_from_json",
    "history_to_json",
]

OK, ILLEGAL, UNKNOWN = "ok", "illegal", "unknown"

#: steps a search takes between two pauses, where the clock is read (a power of two)
SLICE = 1024
#: round 0's budget of a partition's search, in steps per operation of the partition;
#: every later round doubles it
FIRST_BUDGET = 256
#: the default cap on the memo entries of the searches alive at one time (some
#: 250-400 MB; at the rates measured, more than a search fills in the default 10 s)
MAX_MEMO = 1 << 21


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

        Such an operation is linearized greedily; an indeterminate read-only operation
        constrains nothing and is dropped.  For an indeterminate ``op`` (its output
        unknown) the answer must hold whatever the output.  ``False`` is always safe.
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
    #: for ILLEGAL: the operation no extension of ``longest_prefix`` can linearize (the
    #: first whose return it cannot get past)
    unlinearizable: Operation | None = None
    #: for OK: one witness order per partition
    witness: list[list[Operation]] = field(default_factory=list)
    #: for UNKNOWN: why no verdict (the time limit, the memo cap, a MemoryError), naming
    #: the partitions left undecided
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == OK


def _events(ops: Sequence[Operation]) -> list[tuple[int, int]]:
    """Events (op index, 0 call / 1 return) in time order; calls first at equal times.

    Calls before returns at equal times makes touching operations concurrent: only
    ``a.ret < b.call`` orders a before b.
    """
    inf = float("inf")
    keyed = []
    for i, op in enumerate(ops):
        keyed.append((op.call, 0, i))
        keyed.append((inf if op.ret is None or op.unknown else op.ret, 1, i))
    keyed.sort()
    return [(i, kind) for _, kind, i in keyed]


#: a search: yields its memo's size between slices, returns (linearizable, order or
#: longest prefix, the operation no extension of that prefix linearizes)
_Search = Generator[int, None, tuple[bool, list[int], int | None]]


def _search(ops: Sequence[Operation], model: SeqModel) -> _Search:
    """Lowe's memoized Wing-Gong search on one partition, resumable: it yields every
    :data:`SLICE` steps, yielding the size of its memo, and returns (linearizable, order
    or longest prefix, None or the operation that prefix cannot be extended to).

    The search backtracks at the return of an operation it has not linearized.  At the
    deepest such point, the stack is the longest linearizable prefix found and that
    operation is the one no extension of it can linearize (everything below the prefix
    was tried before backtracking past it): Knossos's and Porcupine's failing operation.

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
    indeterminate = [op.indeterminate for op in ops]
    forced_op = [not indeterminate[i] and model.read_only(op) for i, op in enumerate(ops)]
    head = n
    state: Hashable = model.init()
    linearized = 0
    cache: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Hashable, bool]] = []
    best: list[int] = []
    best_len, stuck = -1, -1  # the longest prefix's length, and the op it cannot linearize
    pos = nxt[head]
    steps, pause = 0, SLICE - 1
    while nxt[head] != -1:
        steps += 1
        if steps & pause == 0:
            yield len(cache)
        i, kind = events[pos]
        if kind == 0:
            op = ops[i]
            if indeterminate[i]:
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
        if len(stack) > best_len:  # at the return of op i, not linearized: stuck
            best_len, stuck = len(stack), i
            best = [events[p][0] for p, _, _ in stack]
        while True:
            if not stack:
                return False, best, stuck
            pos, state, forced = stack.pop()
            i = events[pos][0]
            linearized &= ~(1 << i)
            _unlift(nxt, prv, pos, ret_pos[i])
            if not forced:
                break
        pos = nxt[pos]
    return True, [events[p][0] for p, _, _ in stack], None


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


@dataclass
class _Run:
    """One partition's search, the slices it has taken and its memo's size."""

    ops: list[Operation]
    search: _Search
    slices: int = 0
    memo: int = 0

    def budget(self, round_: int) -> int:
        """The slices this search may have taken by the end of round ``round_``."""
        return max(1, FIRST_BUDGET * len(self.ops) // SLICE) << round_


def check(
    history: Iterable[Operation],
    model: SeqModel,
    timeout: float | None = 10.0,
    clock: Callable[[], float] = time.monotonic,
    max_memo: int = MAX_MEMO,
) -> LinearizabilityResult:
    """Judge a history against ``model``.  ``timeout`` (seconds, ``None`` for none) bounds
    the whole check, ``max_memo`` the memo entries of the searches alive at one time;
    the partitions are searched in rounds (the module docstring)."""
    ops = list(history)
    start = clock()
    try:
        return _Rounds(ops, model, start, timeout, clock, max_memo).run()
    except MemoryError:
        return LinearizabilityResult(UNKNOWN, len(ops), 0, clock() - start,
                                     reason="out of memory (MemoryError)")


class _Rounds:
    """The partitions' searches and their budgets, round after round."""

    def __init__(self, ops: list[Operation], model: SeqModel, start: float,
                 timeout: float | None, clock: Callable[[], float], max_memo: int) -> None:
        self.ops, self.start, self.timeout, self.clock = ops, start, timeout, clock
        self.deadline = float("inf") if timeout is None else start + timeout
        self.max_memo, self.memo = max_memo, 0  # memo entries of the live searches
        # an indeterminate read-only operation may be placed last: it constrains nothing
        relevant = [op for op in ops if not (op.indeterminate and model.read_only(op))]
        self.parts = model.partition(relevant)
        self.live = {k: _Run(part, _search(part, model)) for k, part in enumerate(self.parts)}
        self.witness: list[list[Operation]] = [[] for _ in self.parts]
        self.undecided: list[str] = []  # why each stopped search's partition is undecided

    def result(self, verdict: str, **found: Any) -> LinearizabilityResult:
        return LinearizabilityResult(verdict, len(self.ops), len(self.parts),
                                     self.clock() - self.start, **found)

    def run(self) -> LinearizabilityResult:
        round_ = 0
        while self.live:
            for k, run in list(self.live.items()):
                while k in self.live and run.slices < run.budget(round_):
                    illegal = self.advance(k, run)
                    if illegal is not None:
                        return illegal
                    if self.clock() > self.deadline:
                        left = ", ".join(map(str, sorted(self.live)))
                        self.undecided.append(f"time limit of {self.timeout} s reached; "
                                              f"undecided partitions: {left}")
                        return self.result(UNKNOWN, reason="; ".join(self.undecided))
            round_ += 1
        if self.undecided:
            return self.result(UNKNOWN, reason="; ".join(self.undecided))
        return self.result(OK, witness=self.witness)

    def advance(self, k: int, run: _Run) -> LinearizabilityResult | None:
        """One slice of partition ``k``'s search; the result if it proved ``k`` illegal."""
        run.slices += 1
        try:
            memo = next(run.search)
        except StopIteration as done:
            self.stop(k)
            linear, order, stuck = done.value
            if not linear:
                assert stuck is not None
                return self.result(ILLEGAL, partition=run.ops,
                                   longest_prefix=[run.ops[i] for i in order],
                                   unlinearizable=run.ops[stuck])
            self.witness[k] = [run.ops[i] for i in order]
            return None
        except MemoryError:
            self.stop(k, "out of memory (MemoryError)")
            return None
        self.memo += memo - run.memo
        run.memo = memo
        while self.memo > self.max_memo:
            largest = max(self.live, key=lambda j: self.live[j].memo)
            self.stop(largest, f"memo cap of {self.max_memo:,} entries reached "
                               f"({self.live[largest].memo:,} entries)")
        return None

    def stop(self, k: int, why: str = "") -> None:
        """Partition ``k``'s search is over: decided, or (``why``) stopped undecided."""
        run = self.live.pop(k)
        self.memo -= run.memo
        run.search.close()  # frees its memo now
        if why:
            self.undecided.append(f"partition {k}: {why}")
