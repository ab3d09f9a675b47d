"""The key-value store's client operations as a sequential specification.

This is what the store's client histories are judged against: a history is linearizable
when its operations can be put in one order, respecting real time, in which every output
is what :class:`KVModel` answers (``quorum.model_checker.history.linearizability.check``
does the search; ``quorum.conformance.runner`` runs it on every simulated history).

The model is one value per key, with the three operations the simulated clients issue
(reads through ReadIndex, writes as Put, compare-and-swaps as a Txn), and the append of
Jepsen's list-append workload (on etcd, a Txn that rewrites the value if it is unchanged):

* ``("read", k)`` returns the value of ``k`` (``None`` when it was never written; the
  tuple of the values appended, in order, for a list);
* ``("write", k, v)`` sets ``k`` to ``v``; its output is ignored;
* ``("cas", k, old, new)`` returns ``True`` and sets ``k`` to ``new`` when ``k`` held
  ``old``, and returns ``False`` (changing nothing) when it held something else;
* ``("append", k, v)`` appends ``v`` to the list ``k`` holds; its output is ignored.  A
  key never written holds the empty list, a plain value ``x`` counts as the list
  ``(x,)``; lists are tuples, so states stay hashable (a read may answer a Python list:
  it is compared as a tuple).

Keys are independent, so a history splits by key (P-compositionality: the
whole history is linearizable iff each key's is).  The model reads an operation only
through its ``input``, ``output`` and ``indeterminate`` (:class:`Call`), so this module imports
nothing of quorum's.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["Call", "KVModel"]


class Call(Protocol):
    """What the model reads of one recorded operation."""

    @property
    def input(self) -> tuple[Any, ...]: ...

    @property
    def output(self) -> Any: ...

    @property
    def indeterminate(self) -> bool:
        """It never returned, or returned with an unknown outcome: ``output`` means nothing."""
        ...


C = TypeVar("C", bound=Call)


class KVModel:
    """One value per key: ``read``, ``write``, ``cas`` and ``append`` (the module docstring).

    A state is the value of the one key of a partition (``None``: never written; a
    tuple once appended to).
    """

    def init(self) -> Hashable:
        return None

    def step(self, state: Any, input: tuple[Any, ...], output: Any) -> tuple[bool, Hashable]:
        """Whether ``output`` is a legal answer to ``input`` in ``state``, and the next state."""
        kind = input[0]
        if kind == "read":
            return output == state or (type(output) is list and tuple(output) == state), state
        if kind == "write":
            return True, input[2]
        if kind == "cas":
            hit = state == input[2]
            return bool(output) == hit, (input[3] if hit else state)
        if kind == "append":
            return True, _appended(state, input[2])
        raise ValueError(f"unknown KV operation {kind!r}")

    def step_unknown(self, state: Any, input: tuple[Any, ...]) -> Hashable:
        """The next state if ``input`` took effect now, its output unknown."""
        kind = input[0]
        if kind == "write":
            return input[2]
        if kind == "cas":
            return input[3] if state == input[2] else state
        if kind == "append":
            return _appended(state, input[2])
        return state

    def read_only(self, op: Call) -> bool:
        """A read, or a compare-and-swap that returned ``False``: it changes no state.

        A compare-and-swap of unknown outcome may have swapped: not read-only.
        """
        kind = op.input[0]
        return kind == "read" or (kind == "cas" and not op.indeterminate and op.output is False)

    def partition(self, ops: Sequence[C]) -> list[list[C]]:
        """The operations of each key, keys in a deterministic order."""
        by_key: dict[Any, list[C]] = {}
        for op in ops:
            by_key.setdefault(op.input[1], []).append(op)
        return [by_key[k] for k in sorted(by_key, key=repr)]


def _appended(state: Any, v: Any) -> tuple[Any, ...]:
    """The list ``state`` with ``v`` appended (``None``: empty; a plain value: one item)."""
    if state is None:
        return (v,)
    if type(state) is tuple:
        return (*state, v)
    return (state, v)
