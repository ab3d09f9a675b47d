"""Exact symmetry reduction for Multi-Paxos: permutations of the replicas.

TLC's MultiPaxos_MC_small.cfg declares ``SYMMETRY SymmetricPerms``: the permutations of
Replicas (and of Writes and of Reads, which have one element each there, so only the
replicas move).  Replicas appear in four places: the index of ``node`` and of ``done``
(PlusCal's ``pc``), a node's ``leader``, and a message's ``src``.  Renaming them all at
once maps a reachable state to a reachable state with the same futures.

The canonical form is the least renaming of the state, as a comparable key (the
message set as a sorted tuple): two states get the same key exactly when some
renaming maps one onto the other, so the checker counts orbits exactly, as TLC does
when its fingerprints do not collide.

Not every renaming is tried.  Each replica gets a *signature* that no renaming changes:
its node with ``leader`` read as none/itself/another, its ``done`` flag, and the
messages it sent without their ``src``.  Only the renamings that list the replicas by
ascending signature are tried, replicas with equal signatures permuted among
themselves.  Renaming a state renames its set of such renamings along with it, so the
least key over that set is the same for every state of an orbit, and it is a renaming
of the state, so states of different orbits never share it.  Commands are not renamed: with more than
one write or read the reference's InitPending fixes their order, so they are not
interchangeable in our transcription.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.tla.state import COMMIT_NOTICE, Message, MultiPaxosState, Node

__all__ = ["canonicalizer", "rename"]

Key = tuple[Any, ...]


def _rename_message(m: Any, p: tuple[int, ...]) -> Message:
    if m.type == COMMIT_NOTICE:
        return m  # type: ignore[no-any-return]
    return m._replace(src=p[m.src])  # type: ignore[no-any-return]


def _rename_node(n: Node, p: tuple[int, ...]) -> Node:
    return n if n.leader < 0 else n._replace(leader=p[n.leader])


def rename(s: MultiPaxosState, p: tuple[int, ...]) -> MultiPaxosState:
    """The state with replica r renamed p[r] everywhere."""
    inv = [0] * len(p)
    for r, q in enumerate(p):
        inv[q] = r
    return MultiPaxosState(frozenset(_rename_message(m, p) for m in s.msgs),
                           tuple(_rename_node(s.node[inv[q]], p) for q in range(len(p))),
                           s.pending, s.observed, tuple(s.done[inv[q]] for q in range(len(p))))


def _key(s: MultiPaxosState) -> Key:
    return (tuple(sorted(s.msgs)), s.node, s.pending, s.observed, s.done)


def canonicalizer(cfg: Config) -> Callable[[MultiPaxosState], Key]:
    """The canonical form as a plain-tuple key (built directly, without :func:`rename`,
    which the tests use to check it: the key of every renaming of a state is the same)."""
    n = cfg.replicas

    def canonicalize(s: MultiPaxosState) -> Key:
        # one pass over the messages: each replica's, without their src, and the notices
        sent: list[list[tuple[Any, ...]]] = [[] for _ in range(n)]
        notices = []
        for m in s.msgs:
            if m[0] == COMMIT_NOTICE:
                notices.append(m)
            else:
                sent[m[1]].append((m[0],) + m[2:])
        for mine in sent:
            mine.sort()
        sigs = []
        for r in range(n):
            node = s.node[r]
            lead = -1 if node[0] < 0 else (0 if node[0] == r else 1)
            sigs.append(((lead,) + node[1:], s.done[r], sent[r], r))
        sigs.sort()
        groups = [[sig[3] for sig in g] for _, g in itertools.groupby(sigs, key=lambda x: x[:3])]
        best: Key | None = None
        for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
            order = [r for group in choice for r in group]  # new position -> old replica
            p = [0] * n
            for q, r in enumerate(order):
                p[r] = q
            msgs = sorted(notices + [(m[0], p[r]) + m[1:] for r in range(n) for m in sent[r]])
            nodes = tuple((s.node[r][0] if s.node[r][0] < 0 else p[s.node[r][0]],)
                          + s.node[r][1:] for r in order)
            key = (tuple(msgs), nodes, s.pending, s.observed, tuple(s.done[r] for r in order))
            if best is None or key < best:
                best = key
        assert best is not None
        return best

    return canonicalize
