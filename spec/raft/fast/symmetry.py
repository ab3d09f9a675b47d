"""A cheap exact canonical form under renaming of servers: what the checker runs.

:func:`quorum.spec.raft.tla.symmetry.canonicalize` is the readable version; this one uses the same
idea with less work per state.  Each server gets a signature that does not depend on
how servers are numbered: its term, role, log, commit index, how many votes it has
had answered and granted, and whether it has voted.  Every permutation that numbers
the servers in signature order (servers with equal signatures in every possible
order) is applied, and the least image is the canonical form.  Renaming the servers of
a state renames its signatures with them, so every state of an orbit yields the same
set of images, hence the same least one: the form is exact (two states get equal forms
exactly when one is a renaming of the other) and only tied servers cost extra images.

The image is a plain tuple with the fields of :class:`~quorum.spec.raft.tla.state.State`; a state
already in signature order is its own form (a ``State`` equals and hashes as the tuple
of its fields).  Applying a permutation goes through tables built once per permutation
and memos of the renamed fields (vote vectors, index rows, bags), which repeat far more
than states do.  ``tests/spec/raft/test_encodings.py`` checks the form against the readable
one on sampled states and on every orbit of a small model.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import permutations, product
from operator import itemgetter

from quorum.spec.raft.tla.state import ADDRESSES, NIL, State

__all__ = ["canonicalizer"]

LIMIT = 1 << 16  # entries per memo table before it is cleared

Perm = tuple[int, ...]  # perm[old id] = new id
Apply = Callable[[State], tuple]


def _applier(perm: Perm) -> Apply:
    """The renaming ``i -> perm[i]`` of a whole state, as a tuple of State's fields."""
    n = len(perm)
    inverse = [0] * n
    for old, new in enumerate(perm):
        inverse[new] = old
    pick: Callable[[tuple], tuple] = itemgetter(*inverse) if n > 1 else (lambda t: (t[0],))
    rename = (*perm, NIL)  # rename[NIL] == rename[-1] == NIL
    masks = tuple(sum(1 << perm[j] for j in range(n) if mask >> j & 1) for mask in range(1 << n))
    make = tuple.__new__

    def control(key: tuple) -> tuple:
        """votedFor, votesResponded, votesGranted, nextIndex, matchIndex renamed."""
        vf, vr, vg, ni, mi = key
        return (tuple([rename[v] for v in pick(vf)]), tuple([masks[x] for x in pick(vr)]),
                tuple([masks[x] for x in pick(vg)]), tuple([pick(r) for r in pick(ni)]),
                tuple([pick(r) for r in pick(mi)]))

    def bag(b: tuple) -> tuple:
        return tuple(sorted([(make(type(m), m[:ADDRESSES] + (perm[m.msource], perm[m.mdest])), c)
                             for m, c in b]))

    controls: dict[tuple, tuple] = {}
    bags: dict[tuple, tuple] = {(): ()}

    def apply(s: State) -> tuple:
        ct, role, vf, logs, ci, vr, vg, ni, mi, b = s
        key = (vf, vr, vg, ni, mi)
        c = controls.get(key)
        if c is None:
            if len(controls) >= LIMIT:
                controls.clear()
            c = controls[key] = control(key)
        renamed = bags.get(b)
        if renamed is None:
            if len(bags) >= LIMIT:
                bags.clear()
                bags[()] = ()
            renamed = bags[b] = bag(b)
        return (pick(ct), pick(role), c[0], pick(logs), pick(ci), c[1], c[2], c[3], c[4], renamed)

    return apply


def canonicalizer(n: int) -> Callable[[State], Hashable]:
    """The canonical form of states with ``n`` servers (see the module docstring)."""
    servers = range(n)
    appliers: dict[Perm, Apply] = {p: _applier(p) for p in permutations(servers)}
    identity = tuple(servers)
    by_order: dict[tuple[int, ...], Apply] = {}
    for order in permutations(servers):
        perm = [0] * n
        for new, old in enumerate(order):
            perm[old] = new
        by_order[order] = appliers[tuple(perm)]
    voted = (NIL).__lt__
    bits = int.bit_count

    def canonicalize(s: State) -> Hashable:
        ct, role, vf, logs, ci, vr, vg, _ni, _mi, _bag = s
        sigs = list(zip(ct, role, logs, ci, map(bits, vr), map(bits, vg), map(voted, vf),
                        strict=True))
        order = sorted(servers, key=sigs.__getitem__)
        for k in range(1, n):
            if sigs[order[k - 1]] == sigs[order[k]]:
                break
        else:
            return s if tuple(order) == identity else by_order[tuple(order)](s)
        groups: list[list[int]] = [[order[0]]]
        for i in order[1:]:
            if sigs[groups[-1][0]] == sigs[i]:
                groups[-1].append(i)
            else:
                groups.append([i])
        images = (by_order[tuple(x for g in choice for x in g)](s)
                  for choice in product(*map(permutations, groups)))
        return min(images)

    return canonicalize
