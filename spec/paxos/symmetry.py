"""Exact symmetry reduction for Paxos: permutations of acceptors and of values.

The canonical form of a state is the least (in Python's tuple order) image of the
state under every pair (acceptor permutation, value permutation).  Two states have
the same canonical form exactly when one is a permutation of the other, so the
checker counts orbits exactly (TLC's SYMMETRY picks a representative too; on Paxos
the counts agree).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from spec.paxos.config import Config
from spec.paxos.spec import MSG_1A, MSG_1B, MSG_2A, PaxosState

__all__ = ["canonicalizer"]

Key = tuple[object, ...]


def _permute(s: PaxosState, pa: tuple[int, ...], pv: tuple[int, ...]) -> Key:
    """The image of s when acceptor i becomes pa[i] and value v becomes pv[v]."""
    n = len(pa)
    inv = [0] * n
    for i, j in enumerate(pa):
        inv[j] = i
    vmap = pv + (-1,)  # index -1 maps "no value" to itself
    msgs = []
    for m in s.msgs:
        t = m[0]
        if t == MSG_1A:
            msgs.append(m)
        elif t == MSG_1B:
            msgs.append((t, pa[m[1]], m[2], m[3], vmap[m[4]]))
        elif t == MSG_2A:
            msgs.append((t, m[1], vmap[m[2]]))
        else:
            msgs.append((t, pa[m[1]], m[2], vmap[m[3]]))
    msgs.sort()
    return (
        tuple(s.maxBal[inv[j]] for j in range(n)),
        tuple(s.maxVBal[inv[j]] for j in range(n)),
        tuple(vmap[s.maxVal[inv[j]]] for j in range(n)),
        tuple(msgs),
    )


def canonicalizer(cfg: Config) -> Callable[[PaxosState], Key]:
    perms = [
        (pa, pv)
        for pa in itertools.permutations(range(cfg.acceptors))
        for pv in itertools.permutations(range(cfg.values))
    ]

    def canonicalize(s: PaxosState) -> Key:
        return min(_permute(s, pa, pv) for pa, pv in perms)

    return canonicalize
