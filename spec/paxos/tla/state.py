"""The variables of Paxos.tla and its messages.

State: per acceptor ``maxBal`` (highest ballot promised), ``maxVBal``/``maxVal`` (the
vote with the highest ballot it cast, -1/-1 if none), and ``msgs``, the set of every
message ever sent.  Because ``msgs`` only grows, loss, delay, duplication and
reordering come for free: a message may be received any number of times, or never.

Messages are int tuples, tagged by type:
``(0, b)`` 1a; ``(1, a, b, mbal, mval)`` 1b; ``(2, b, v)`` 2a; ``(3, a, b, v)`` 2b.
"""

from __future__ import annotations

from typing import NamedTuple

from quorum.spec.paxos.config import Config

__all__ = ["MSG_1A", "MSG_1B", "MSG_2A", "MSG_2B", "Label", "PaxosState", "initial_state"]

MSG_1A, MSG_1B, MSG_2A, MSG_2B = 0, 1, 2, 3

Label = tuple[str, tuple[tuple[str, object], ...]]


class PaxosState(NamedTuple):
    maxBal: tuple[int, ...]
    maxVBal: tuple[int, ...]
    maxVal: tuple[int, ...]
    msgs: frozenset[tuple[int, ...]]


def initial_state(cfg: Config) -> PaxosState:
    """Init: no promises, no votes, no messages."""
    none = (-1,) * cfg.acceptors
    return PaxosState(none, none, none, frozenset())
