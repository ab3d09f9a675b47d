"""Symmetry over server ids: an exact, deterministic canonical form.

Renaming servers maps a behaviour of Raft onto another behaviour, so two states
that differ only by a permutation of server ids are explored once.  Two states
share an orbit exactly when their canonical forms are equal, so a symmetric
search counts orbits exactly.

Trying all n! permutations is wasteful.  Each server gets a *signature* that
does not depend on how servers are numbered (its term, role, log, ...); every
permutation that numbers servers in signature order is applied, and the
smallest image (tuple order) is the canonical form.  Because signatures are
invariant under renaming, every state of an orbit yields the same set of
images, hence the same minimum: the form is exact and deterministic, and only
servers with equal signatures cost extra permutations (a coarse signature is
refined only when it ties).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from itertools import permutations, product
from operator import itemgetter

from quorum.spec.raft.tla.state import ADDRESSES, NIL, Bag, State

__all__ = ["canonicalize", "permute"]

Perm = tuple[int, ...]  # perm[old id] = new id


@cache
def _tables(perm: Perm) -> tuple[Perm, Callable[[tuple], tuple], tuple[int, ...]]:
    """The permutation's inverse, a picker that reorders a per-server tuple
    (new position k takes old position inverse[k]), and the image of every bit
    mask of servers."""
    n = len(perm)
    inverse = [0] * n
    for old, new in enumerate(perm):
        inverse[new] = old
    pick = itemgetter(*inverse) if n > 1 else (lambda t: (t[0],))
    masks = tuple(
        sum(1 << perm[j] for j in range(n) if mask >> j & 1) for mask in range(1 << n)
    )
    return tuple(inverse), pick, masks


@lru_cache(maxsize=1 << 16)
def _permute_rows(rows: tuple[tuple[int, ...], ...], perm: Perm) -> tuple[tuple[int, ...], ...]:
    """nextIndex or matchIndex renamed: both the server and its peers move."""
    pick = _tables(perm)[1]
    return tuple([pick(row) for row in pick(rows)])


@lru_cache(maxsize=1 << 16)
def _permute_votes(
    voted_for: tuple[int, ...], responded: tuple[int, ...], granted: tuple[int, ...], perm: Perm
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    _, pick, masks = _tables(perm)
    return (
        tuple([v if v == NIL else perm[v] for v in pick(voted_for)]),
        tuple([masks[x] for x in pick(responded)]),
        tuple([masks[x] for x in pick(granted)]),
    )


@lru_cache(maxsize=1 << 16)
def _permute_bag(bag: Bag, perm: Perm) -> Bag:
    new = tuple.__new__
    renamed = [(new(type(m), m[:ADDRESSES] + (perm[m.msource], perm[m.mdest])), c) for m, c in bag]
    renamed.sort()
    return tuple(renamed)


def permute(s: State, perm: Perm) -> State:
    """The state with server ``i`` renamed ``perm[i]``."""
    pick = _tables(perm)[1]
    voted_for, responded, granted = _permute_votes(
        s.voted_for, s.votes_responded, s.votes_granted, perm
    )
    return State(
        pick(s.current_term),
        pick(s.role),
        voted_for,
        pick(s.log),
        pick(s.commit_index),
        responded,
        granted,
        _permute_rows(s.next_index, perm),
        _permute_rows(s.match_index, perm),
        _permute_bag(s.messages, perm) if s.messages else (),
    )


def _coarse_signatures(s: State) -> list[tuple]:
    """Per server, its own variables and whether it voted (for itself or another)."""
    voted = [0 if v == NIL else 1 if v == i else 2 for i, v in enumerate(s.voted_for)]
    return list(zip(s.current_term, s.role, s.log, s.commit_index, voted, strict=True))


def _fine_signatures(s: State, coarse: list[tuple]) -> list[tuple]:
    """The coarse signature refined by whom the server voted for (that server's
    coarse signature), its tallies, and the messages it sent or is to receive
    (their contents without server ids)."""
    n = len(coarse)
    talk: list[list[tuple]] = [[] for _ in range(n)]
    for m, c in s.messages:
        body = (m[:ADDRESSES], c)
        talk[m.msource].append((0, body))
        talk[m.mdest].append((1, body))
    fine = []
    for i in range(n):
        v = s.voted_for[i]
        target = () if v == NIL else coarse[v]
        said = sorted(talk[i]) if len(talk[i]) > 1 else talk[i]
        fine.append(
            (coarse[i], target, s.votes_responded[i].bit_count(), s.votes_granted[i].bit_count(), said)
        )
    return fine


def _orderings(sigs: list[tuple]) -> list[list[int]]:
    """Every ordering of the servers by signature (ties in every possible order)."""
    order = sorted(range(len(sigs)), key=sigs.__getitem__)
    ties = [k for k in range(1, len(order)) if sigs[order[k - 1]] == sigs[order[k]]]
    if not ties:
        return [order]
    groups = [[order[0]]]
    for i in order[1:]:
        if sigs[groups[-1][0]] == sigs[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [[x for group in choice for x in group] for choice in product(*map(permutations, groups))]


def _sorting_perms(s: State) -> list[Perm]:
    """Every permutation that numbers servers in order of their signatures."""
    coarse = _coarse_signatures(s)
    orders = _orderings(coarse)
    if len(orders) > 1:
        orders = _orderings(_fine_signatures(s, coarse))
    perms = []
    for order in orders:
        perm = [0] * len(order)
        for new, old in enumerate(order):
            perm[old] = new
        perms.append(tuple(perm))
    return perms


def canonicalize(s: State) -> State:
    """The orbit representative of s under renaming of servers (see module docstring)."""
    perms = _sorting_perms(s)
    if len(perms) == 1:
        perm = perms[0]
        return s if perm == tuple(range(len(perm))) else permute(s, perm)
    return min(permute(s, p) for p in perms)
