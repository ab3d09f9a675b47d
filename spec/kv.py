"""The key-value store's client operations as a sequential specification.

This is what the store's client histories are judged against: a history is linearizable
when its operations can be put in one order, respecting real time, in which every output
is what :class:`KVModel` answers (``quorum.model_checker.history.linearizability.check``
does the search; ``quorum.conformance.runner`` runs it on every simulated history).

The model is one register per key, with the three operations the simulated clients issue
(reads through ReadIndex, writes as Put, compare-and-swaps as a Txn):

* ``("read", k)`` returns the value of ``k`` (``None`` when it was never written);
* ``("write", k, v)`` sets ``k`` to ``v``; its output is ignored;
* ``("cas", k, old, new)`` returns ``True`` and sets ``k`` to ``new`` when ``k`` held
  ``old``, and returns ``False`` (changing nothing) when it held something else.

Keys are independent registers, so a history splits by key (P-compositionality: the
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
    """One register per key: ``read``, ``write`` and ``cas`` (the module docstring).

    A state is the value of the one key of a partition (``None``: never written).
    """

    def init(self) -> Hashable:
        return None

    def step(self, state: Any, input: tuple[Any, ...], output: Any) -> tuple[bool, Hashable]:
        """Whether ``output`` is a legal answer to ``input`` in ``state``, and the next state."""
        kind = input[0]
        if kind == "read":
            return output == state, state
        if kind == "write":
            return True, input[2]
        if kind == "cas":
            hit = state == input[2]
            return bool(output) == hit, (input[3] if hit else state)
        raise ValueError(f"unknown KV operation {kind!r}")

    def step_unknown(self, state: Any, input: tuple[Any, ...]) -> Hashable:
        """The next state if ``input`` took effect now, its output unknown."""
        kind = input[0]
        if kind == "write":
            return input[2]
        if kind == "cas":
            return input[3] if state == input[2] else state
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
