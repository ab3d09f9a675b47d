"""Single-decree Paxos, following Lamport's Paxos.tla (tlaplus/Examples) action for action.

State: per acceptor ``maxBal`` (highest ballot promised), ``maxVBal``/``maxVal`` (the
vote with the highest ballot it cast, -1/-1 if none), and the set of every message ever
sent.  Because that set only grows, loss, delay, duplication and reordering come for
free: a message may be received any number of times, or never.

Representation (chosen for the checker's speed; the rendered state is Paxos.tla's):
the messages are kept grouped by sender, each group a bit set in an ``int``.

* ``sent1a``: bit ``b`` is the 1a message of ballot b (proposers);
* ``sent2a``: bit ``b*V + v`` is the 2a message proposing value v in ballot b;
* per acceptor, ``sent1b``: bit ``b*W`` is its 1b for ballot b reporting no vote, bit
  ``b*W + 1 + mbal*V + mval`` its 1b reporting the vote (mbal, mval), ``W = 1 + B*V``;
* per acceptor, ``sent2b``: bit ``b*V + v`` is its 2b (its vote) for v in ballot b;

with B ballots and V values.  Set union is ``|``, membership a shift, and a state is
a tuple of small ints, which Python hashes and compares in C.  :class:`Layout` holds the
arithmetic; ``render`` (in ``__init__``) turns a state back into Paxos.tla's records.

Roles: proposers run Phase1a and Phase2a (the ballot's leader), acceptors run Phase1b
and Phase2b, and learners are implicit: a value is *chosen* when a quorum of
acceptors has voted for it in one ballot (see ``properties.chosen``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

from quorum.spec.paxos.config import Config, acceptor_name, value_name

__all__ = ["MAXBAL", "MAXVAL", "MAXVBAL", "SENT1B", "SENT2B", "Acceptor", "Label", "Layout", "PaxosState", "initial_state", "layout",
           "successor_function", "successors"]

Label = tuple[str, tuple[tuple[str, object], ...]]


#: One acceptor: ``(maxBal, maxVBal, maxVal, sent1b, sent2b)``, its variables and the
#: messages it has sent (bit sets, see above).  Plain tuples, not NamedTuples: building
#: a NamedTuple runs Python code, building a tuple does not, and the checker builds
#: millions of them.
Acceptor = tuple[int, int, int, int, int]
MAXBAL, MAXVBAL, MAXVAL, SENT1B, SENT2B = range(5)

#: A state: ``(acceptors, sent1a, sent2a)``.
PaxosState = tuple[tuple[Acceptor, ...], int, int]


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
        for a, acc in enumerate(s[0]):
            for i in self.bits(acc[SENT2B]):
                yield (a, *divmod(i, self.V))

    def messages_1b(self, s: PaxosState) -> Iterator[tuple[int, int, int, int]]:
        """(acceptor, ballot, mbal, mval) of every 1b message."""
        for a, acc in enumerate(s[0]):
            for i in self.bits(acc[SENT1B]):
                b, j = divmod(i, self.W)
                yield (a, b, *self.report(1 << j))

    def proposals(self, s: PaxosState) -> Iterator[tuple[int, int]]:
        """(ballot, value) of every 2a message, ascending."""
        for i in self.bits(s[2]):
            yield divmod(i, self.V)


@lru_cache(maxsize=64)
def layout(cfg: Config) -> Layout:
    return Layout(cfg)


def initial_state(cfg: Config) -> PaxosState:
    """Init: no promises, no votes, no messages."""
    return ((-1, -1, -1, 0, 0),) * cfg.acceptors, 0, 0


def safe_values(cfg: Config, s: PaxosState, b: int) -> list[int]:
    """Values Phase2a may propose in ballot b (ascending): none when no quorum has promised b.

    For a quorum Q whose members all sent 1b for b: if none of them reported a vote,
    any value is safe; otherwise the value of the highest-ballot vote reported.
    """
    lay = layout(cfg)
    return _safe_values(cfg, lay, tuple((x[SENT1B] >> b * lay.W) & lay.wmask for x in s[0]))


def _safe_values(cfg: Config, lay: Layout, groups: tuple[int, ...]) -> list[int]:
    """safe_values from the 1b messages for b of each acceptor (its W-bit group, 0: none)."""
    allowed: set[int] = set()
    for q in lay.quorum_lists:
        if not all(groups[a] for a in q):
            continue
        reported = [lay.report(groups[a]) for a in q if groups[a] != 1]
        if not reported or cfg.mutant == "ignore-1b-votes":
            return list(range(cfg.values))
        top = max(mbal for mbal, _ in reported)
        allowed.update(mval for mbal, mval in reported if mbal == top)
    return sorted(allowed)


def successor_function(cfg: Config) -> Callable[[PaxosState], Iterator[tuple[Label, PaxosState]]]:
    """``Next`` for one configuration, in Paxos.tla's order: for each ballot Phase1a and
    Phase2a; for each acceptor Phase1b and Phase2b.  Labels are built once, here."""
    lay = layout(cfg)
    B, V, n, vmask = lay.B, lay.V, lay.n, lay.vmask
    names = [acceptor_name(a) for a in range(n)]
    l1a = [("Phase1a", (("b", b),)) for b in range(B)]
    l2a = [[("Phase2a", (("b", b), ("v", value_name(v)))) for v in range(V)] for b in range(B)]
    l1b = [[("Phase1b", (("a", names[a]), ("b", b))) for b in range(B)] for a in range(n)]
    l2b = [[("Phase2b", (("a", names[a]), ("b", i // V), ("v", value_name(i % V))))
            for i in range(B * V)] for a in range(n)]
    buggy = cfg.mutant == "vote-below-promise"  # ignores its promise, keeps the highest one
    W, wmask = lay.W, lay.wmask
    memo: dict[tuple[int, ...], list[int]] = {}  # 1b groups of a ballot -> safe values

    def safe(accs: tuple[Acceptor, ...], b: int) -> list[int]:
        shift = b * W
        groups = tuple([(x[SENT1B] >> shift) & wmask for x in accs])
        found = memo.get(groups)
        if found is None:
            if len(memo) > 1 << 16:
                memo.clear()
            found = memo[groups] = _safe_values(cfg, lay, groups)
        return found

    def successors(s: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
        accs, sent1a, sent2a = s
        for b in range(B):
            # Phase1a(b): a proposer asks the acceptors to join ballot b (sends 1a).
            yield l1a[b], s if sent1a >> b & 1 else (accs, sent1a | 1 << b, sent2a)
            # Phase2a(b, v): with 1b messages from a quorum, propose a safe value (2a).
            if not (sent2a >> b * V) & vmask:
                for v in safe(accs, b):
                    yield l2a[b][v], (accs, sent1a, sent2a | 1 << (b * V + v))
        for a in range(n):
            maxbal, mvbal, mval, s1b, s2b = accs[a]
            # Phase1b(a): acceptor a promises a higher ballot and reports its latest vote.
            for b in range(maxbal + 1, B):
                if sent1a >> b & 1:
                    new = (b, mvbal, mval, s1b | lay.bit_1b(b, mvbal, mval), s2b)
                    yield l1b[a][b], (accs[:a] + (new,) + accs[a + 1:], sent1a, sent2a)
            # Phase2b(a): acceptor a votes for a 2a proposal of a ballot it did not skip.
            rest = sent2a if buggy or maxbal <= 0 else sent2a >> maxbal * V << maxbal * V
            while rest:
                low = rest & -rest
                rest ^= low
                i = low.bit_length() - 1
                b = i // V
                new = (b if b >= maxbal else maxbal, b, i % V, s1b, s2b | low)
                yield l2b[a][i], (accs[:a] + (new,) + accs[a + 1:], sent1a, sent2a)

    return successors


@lru_cache(maxsize=64)
def _compiled(cfg: Config) -> Callable[[PaxosState], Iterator[tuple[Label, PaxosState]]]:
    return successor_function(cfg)


def successors(cfg: Config, s: PaxosState) -> Iterator[tuple[Label, PaxosState]]:
    """Next (see :func:`successor_function`, which callers in a loop should use)."""
    return _compiled(cfg)(s)
