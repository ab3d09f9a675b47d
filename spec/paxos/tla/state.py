"""The variables of Paxos.tla and its messages.

State: per acceptor ``maxBal`` (highest ballot promised), ``maxVBal``/``maxVal`` (the
vote with the highest ballot it cast, -1/-1 if none), and ``msgs``, the set of every
message ever sent.  Because ``msgs`` only grows, loss, delay, duplication and
reordering come for free: a message may be received any number of times, or never.

Messages are Paxos.tla's records, tagged by ``type`` (an int: ``MSG_1A`` ... ``MSG_2B``),
with its field names: ``Msg1a(type, bal)``, ``Msg1b(type, acc, bal, mbal, mval)``,
``Msg2a(type, bal, val)`` and ``Msg2b(type, acc, bal, val)``.
"""

from __future__ import annotations

from typing import NamedTuple

from quorum.spec.paxos.config import Config

__all__ = ["MSG_1A", "MSG_1B", "MSG_2A", "MSG_2B", "Label", "Message", "Msg1a", "Msg1b", "Msg2a",
           "Msg2b", "PaxosState", "initial_state"]

MSG_1A, MSG_1B, MSG_2A, MSG_2B = 0, 1, 2, 3

Label = tuple[str, tuple[tuple[str, object], ...]]


class Msg1a(NamedTuple):
    """A proposer asks the acceptors to join ballot ``bal``."""

    type: int  # MSG_1A
    bal: int


class Msg1b(NamedTuple):
    """Acceptor ``acc`` joins ballot ``bal`` and reports its latest vote (-1, -1: none)."""

    type: int  # MSG_1B
    acc: int
    bal: int
    mbal: int
    mval: int


class Msg2a(NamedTuple):
    """The proposer of ballot ``bal`` proposes ``val``."""

    type: int  # MSG_2A
    bal: int
    val: int


class Msg2b(NamedTuple):
    """Acceptor ``acc`` votes for ``val`` in ballot ``bal``."""

    type: int  # MSG_2B
    acc: int
    bal: int
    val: int


Message = Msg1a | Msg1b | Msg2a | Msg2b


class PaxosState(NamedTuple):
    maxBal: tuple[int, ...]
    maxVBal: tuple[int, ...]
    maxVal: tuple[int, ...]
    msgs: frozenset[Message]


def initial_state(cfg: Config) -> PaxosState:
    """Init: no promises, no votes, no messages."""
    none = (-1,) * cfg.acceptors
    return PaxosState(none, none, none, frozenset())
