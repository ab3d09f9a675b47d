"""Exact symmetry reduction for Paxos: permutations of acceptors and of values.

Two states are symmetric when a renaming of acceptors and a renaming of values maps
one onto the other.  The canonical form below is equal for two states exactly when
they are symmetric, so the checker counts orbits exactly (TLC's SYMMETRY picks a
representative too; on Paxos the counts agree).

It does not try all n!·m! renamings.  Every variable and message of Paxos mentions at
most one acceptor, so an acceptor is fully described by its tuple ``(maxBal,
maxVBal, maxVal, sent1b, sent2b)`` (its variables and the messages it sent).  For a
fixed value renaming, the *sorted* tuple of these records is therefore a complete
invariant of the state's orbit under acceptor renamings: sorting puts acceptors in a
numbering-independent order, and acceptors whose records tie are interchangeable (the
renaming that swaps them changes nothing), so no tie needs to be broken.  Values do
appear together in messages, so the m! value renamings are tried, and the least result
is the canonical form: ``min over pv of (sorted(pv(acceptors)), sent1a, pv(sent2a))``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from quorum.spec.paxos.config import Config
from quorum.spec.paxos.fast.state import Layout, PaxosState, layout

__all__ = ["BitPermutation", "canonicalizer"]

Key = tuple[object, ...]


class BitPermutation:
    """Moves bit i of an int to bit ``target[i]``, a byte at a time through tables."""

    def __init__(self, target: Sequence[int]) -> None:
        self.tables = []
        for start in range(0, len(target), 8):
            chunk = target[start:start + 8]
            table = [0] * (1 << len(chunk))
            for x in range(len(table)):
                table[x] = sum(1 << t for i, t in enumerate(chunk) if x >> i & 1)
            self.tables.append(table)

    def __call__(self, x: int) -> int:
        out = 0
        for table in self.tables:
            out |= table[x & 0xFF]
            x >>= 8
        return out


def _renamers(lay: Layout, pv: tuple[int, ...]) -> tuple[BitPermutation, BitPermutation]:
    """(for sent2a/sent2b, for sent1b) under the value renaming v -> pv[v]."""
    B, V, W = lay.B, lay.V, lay.W
    votes = [b * V + pv[v] for b in range(B) for v in range(V)]
    ones = [b * W + (0 if j == 0 else 1 + (j - 1) // V * V + pv[(j - 1) % V])
            for b in range(B) for j in range(W)]
    return BitPermutation(votes), BitPermutation(ones)


def canonicalizer(cfg: Config) -> Callable[[PaxosState], Key]:
    lay = layout(cfg)
    renamings = [
        (pv + (-1,), *_renamers(lay, pv))  # index -1 maps "no value" to itself
        for pv in itertools.permutations(range(cfg.values))
        if pv != tuple(range(cfg.values))
    ]

    def canonicalize(s: PaxosState) -> Key:
        accs, sent1a, sent2a = s
        best: Key = (tuple(sorted(accs)), sent1a, sent2a)
        for vmap, votes, ones in renamings:
            key = (tuple(sorted([(bal, vbal, vmap[val], ones(s1b), votes(s2b))
                                 for bal, vbal, val, s1b, s2b in accs])), sent1a, votes(sent2a))
            if key < best:
                best = key
        return best

    return canonicalize
