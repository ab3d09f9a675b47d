"""The state of Paxos.tla in bit sets: the encoding the checker runs.

State: per acceptor ``maxBal`` (highest ballot promised), ``maxVBal``/``maxVal`` (the
vote with the highest ballot it cast, -1/-1 if none), and the set of every message ever
sent, as in :mod:`quorum.spec.paxos.tla.state`.

Representation (chosen for the checker's speed; the rendered state is Paxos.tla's):
the messages are kept grouped by sender, each group a bit set in an ``int``.

* ``sent1a``: bit ``b`` is the 1a message of ballot b (proposers);
* ``sent2a``: bit ``b*V + v`` is the 2a message proposing value v in ballot b;
* per acceptor, ``sent1b``: bit ``b*W`` is its 1b for ballot b reporting no vote, bit
  ``b*W + 1 + mbal*V + mval`` its 1b reporting the vote (mbal, mval), ``W = 1 + B*V``;
* per acceptor, ``sent2b``: bit ``b*V + v`` is its 2b (its vote) for v in ballot b;

with B ballots and V values.  Set union is ``|``, membership a shift, and a state is
a tuple of small ints, which Python hashes and compares in C.  :class:`Layout` holds the
arithmetic; ``render`` (in ``quorum.spec.paxos``) turns a state back into Paxos.tla's
records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from operator import itemgetter

from quorum.spec.paxos.config import Config

__all__ = ["Acceptor", "Label", "Layout", "PaxosState", "acceptors", "initial_state", "layout",
           "max_bal", "max_v_bal", "max_val", "sent1a", "sent1b", "sent2a", "sent2b"]

Label = tuple[str, tuple[tuple[str, object], ...]]

#: One acceptor: ``(maxBal, maxVBal, maxVal, sent1b, sent2b)``, its variables and the
#: messages it has sent (bit sets, see above).
Acceptor = tuple[int, int, int, int, int]
#: A state: ``(acceptors, sent1a, sent2a)``.
PaxosState = tuple[tuple[Acceptor, ...], int, int]

# Plain tuples, not NamedTuples: building a NamedTuple costs six times as much as a tuple
# (0.18 µs against 0.03 µs here, even through ``tuple.__new__``), the checker builds
# millions, and it made the search of Paxos 6-11% slower.  These accessors are the only
# code that knows the positions; the rest calls them, or unpacks a whole record into
# named variables (``bal, vbal, val, s1b, s2b = x``) where speed matters.
max_bal: Callable[[Acceptor], int] = itemgetter(0)
max_v_bal: Callable[[Acceptor], int] = itemgetter(1)
max_val: Callable[[Acceptor], int] = itemgetter(2)
sent1b: Callable[[Acceptor], int] = itemgetter(3)
sent2b: Callable[[Acceptor], int] = itemgetter(4)
acceptors: Callable[[PaxosState], tuple[Acceptor, ...]] = itemgetter(0)
sent1a: Callable[[PaxosState], int] = itemgetter(1)
sent2a: Callable[[PaxosState], int] = itemgetter(2)


class Layout:
    """Bit positions of the messages of one configuration (see the module docstring)."""

    def __init__(self, cfg: Config) -> None:
        self.n, self.B, self.V = cfg.acceptors, cfg.max_ballot + 1, cfg.values
        self.W = 1 + self.B * self.V
        self.vmask = (1 << self.V) - 1  # the V bits of one ballot in sent2a/sent2b
        self.wmask = (1 << self.W) - 1  # the W bits of one ballot in sent1b
        #: quorums as bit sets of acceptors
        self.quorums = tuple(sum(1 << a for a in q) for q in cfg.quorum_sets())
        self.quorum_lists = tuple(tuple(sorted(q)) for q in cfg.quorum_sets())
        #: per value v, the bits ``b*V + v`` of every ballot b
        self.value_mask = tuple(sum(1 << (b * self.V + v) for b in range(self.B))
                                for v in range(self.V))

    def bit_1b(self, b: int, mbal: int, mval: int) -> int:
        return 1 << (b * self.W + (0 if mbal < 0 else 1 + mbal * self.V + mval))

    def report(self, group: int) -> tuple[int, int]:
        """The (mbal, mval) reported by the 1b whose W-bit group is ``group`` (non-zero)."""
        if group == 1:
            return -1, -1
        i = group.bit_length() - 2
        return divmod(i, self.V)

    def bits(self, x: int) -> Iterator[int]:
        """Positions of the set bits of x, ascending."""
        while x:
            low = x & -x
            yield low.bit_length() - 1
            x ^= low

    def votes(self, s: PaxosState) -> Iterator[tuple[int, int, int]]:
        """(acceptor, ballot, value) of every 2b message."""
        for a, acc in enumerate(acceptors(s)):
            for i in self.bits(sent2b(acc)):
                yield (a, *divmod(i, self.V))

    def messages_1b(self, s: PaxosState) -> Iterator[tuple[int, int, int, int]]:
        """(acceptor, ballot, mbal, mval) of every 1b message."""
        for a, acc in enumerate(acceptors(s)):
            for i in self.bits(sent1b(acc)):
                b, j = divmod(i, self.W)
                yield (a, b, *self.report(1 << j))

    def proposals(self, s: PaxosState) -> Iterator[tuple[int, int]]:
        """(ballot, value) of every 2a message, ascending."""
        for i in self.bits(sent2a(s)):
            yield divmod(i, self.V)


@lru_cache(maxsize=64)
def layout(cfg: Config) -> Layout:
    return Layout(cfg)


def initial_state(cfg: Config) -> PaxosState:
    """Init: no promises, no votes, no messages."""
    nobody: Acceptor = (-1, -1, -1, 0, 0)
    return (nobody,) * cfg.acceptors, 0, 0
