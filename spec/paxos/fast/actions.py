"""The actions of Paxos.tla on the bit-set state of :mod:`.state`, compiled into ``Next``.

The same actions as :mod:`quorum.spec.paxos.tla.actions`, in the same order, with the
same labels; ``tests/spec/paxos/test_encodings.py`` proves the two equal.

The :class:`~quorum.spec.paxos.rules.Rules` are compiled here, once per configuration:
``may_vote`` into a table of the ballots each promise allows, ``proposable`` into the memo
of Phase2a's safe values, ``quorum_size`` into the quorum system (through ``Config``).
:data:`SUPPORTED` lists them: this encoding refuses rules that change any other decision
(:class:`~quorum.spec.common.Unsupported`), so a decision added to ``Rules`` for the
readable encoding alone cannot be silently ignored by the checker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from functools import lru_cache

from quorum.spec.common import Unsupported
from quorum.spec.paxos.config import Config, acceptor_name, value_name
from quorum.spec.paxos.fast.state import (
    Acceptor,
    Label,
    Layout,
    PaxosState,
    acceptors,
    layout,
    sent1b,
)
from quorum.spec.paxos.rules import Rules

__all__ = ["SUPPORTED", "require_supported", "safe_values", "successor_function", "successors"]

#: the decisions of :class:`~quorum.spec.paxos.rules.Rules` this encoding implements,
#: whatever function each holds
SUPPORTED = ("quorum_size", "proposable", "may_vote")


def require_supported(rules: Rules) -> None:
    """Raise :class:`Unsupported` if these rules change a decision not in :data:`SUPPORTED`
    from Paxos.tla's (the defaults of their class)."""
    paxos = type(rules)()
    changed = [f.name for f in fields(rules) if getattr(rules, f.name) != getattr(paxos, f.name)]
    missing = [name for name in changed if name not in SUPPORTED]
    if missing:
        raise Unsupported(f"the fast Paxos encoding does not implement the rules "
                          f"{', '.join(missing)} (it implements {', '.join(SUPPORTED)})")


def safe_values(cfg: Config, s: PaxosState, b: int) -> list[int]:
    """Values Phase2a may propose in ballot b (ascending): none when no quorum has promised b.

    For a quorum Q whose members all sent 1b for b, the values the rules allow given the
    votes they reported (``rules.proposable``: with none reported any value, otherwise
    the value of the highest-ballot vote reported).
    """
    lay = layout(cfg)
    return _safe_values(cfg, lay,
                        tuple((sent1b(x) >> b * lay.W) & lay.wmask for x in acceptors(s)))


def _safe_values(cfg: Config, lay: Layout, groups: tuple[int, ...]) -> list[int]:
    """safe_values from the 1b messages for b of each acceptor (its W-bit group, 0: none)."""
    proposable = cfg.rules.proposable
    allowed: set[int] = set()
    for q in lay.quorum_lists:
        if not all(groups[a] for a in q):
            continue
        reported = [lay.report(groups[a]) for a in q if groups[a] != 1]
        allowed.update(v for v in range(cfg.values) if proposable(reported, v))
    return sorted(allowed)


def successor_function(cfg: Config) -> Callable[[PaxosState], Iterator[tuple[Label, PaxosState]]]:
    """``Next`` for one configuration, in Paxos.tla's order: for each ballot Phase1a and
    Phase2a; for each acceptor Phase1b and Phase2b.  Labels are built once, here.

    Raises :class:`Unsupported` for rules this encoding does not implement."""
    require_supported(cfg.rules)
    lay = layout(cfg)
    B, V, n, vmask = lay.B, lay.V, lay.n, lay.vmask
    names = [acceptor_name(a) for a in range(n)]
    l1a = [("Phase1a", (("b", b),)) for b in range(B)]
    l2a = [[("Phase2a", (("b", b), ("v", value_name(v)))) for v in range(V)] for b in range(B)]
    l1b = [[("Phase1b", (("a", names[a]), ("b", b))) for b in range(B)] for a in range(n)]
    l2b = [[("Phase2b", (("a", names[a]), ("b", i // V), ("v", value_name(i % V))))
            for i in range(B * V)] for a in range(n)]
    #: per promise maxBal (at index maxBal + 1), the 2a bits of the ballots it may vote in
    votable = [sum(vmask << b * V for b in range(B) if cfg.rules.may_vote(bal, b))
               for bal in range(-1, B)]
    W, wmask = lay.W, lay.wmask
    memo: dict[tuple[int, ...], list[int]] = {}  # 1b groups of a ballot -> safe values

    def safe(accs: tuple[Acceptor, ...], b: int) -> list[int]:
        shift = b * W
        groups = tuple([(s1b >> shift) & wmask for s1b in map(sent1b, accs)])
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
            rest = sent2a & votable[maxbal + 1]
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
