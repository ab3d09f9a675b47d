"""The properties of :mod:`quorum.spec.multipaxos.tla.properties`, on packed states.

Each reads the packed fields directly (``tests/spec/multipaxos/test_encodings.py``
checks that every one agrees with its readable twin on every reachable state).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.fast.encoding import FastState
from quorum.spec.multipaxos.tla.properties import linearizable
from quorum.spec.multipaxos.tla.state import ACCEPT, ACCEPT_REPLY, ACK, REQ

__all__ = ["invariants"]


def _chosen(cfg: Config, s: FastState) -> dict[int, set[int]]:
    voters: dict[int, set[int]] = {}
    proposed: dict[int, set[int]] = {}
    for m in s[0]:
        t = m & 7
        if t == ACCEPT_REPLY:
            voters.setdefault(m >> 6 & 63, set()).add(m >> 3 & 7)  # key: bal | slot << 3
        elif t == ACCEPT:
            proposed.setdefault(m >> 6 & 63, set()).add(m >> 12 & 7)
    out: dict[int, set[int]] = {}
    for key, who in voters.items():
        if len(who) >= cfg.quorum:
            out.setdefault(key >> 3, set()).update(proposed.get(key, ()))
    return out


def _logs(s: FastState) -> list[tuple[int, ...]]:
    return [tuple(i >> 2 & 7 for i in n[5][:n[2]]) for n in s[1]]


def invariants(cfg: Config) -> dict[str, Callable[[FastState], bool]]:
    def agreement(s: FastState) -> bool:
        return all(len(cmds) <= 1 for cmds in _chosen(cfg, s).values())

    def executed_chosen(s: FastState) -> bool:
        if not any(n[2] for n in s[1]):
            return True
        ch = _chosen(cfg, s)
        return all(cmd in ch.get(k + 1, ()) for log in _logs(s) for k, cmd in enumerate(log))

    def prefix_consistency(s: FastState) -> bool:
        return all(a[:len(b)] == b[:len(a)] for a, b in itertools.combinations(_logs(s), 2))

    def linearizability(s: FastState) -> bool:
        return linearizable(cfg, s[2], s[3])

    def type_ok(s: FastState) -> bool:
        pending, observed = s[2], s[3]
        reqs = {e[1] for e in observed if e[0] == REQ}
        acks = {e[1] for e in observed if e[0] == ACK}
        return (len(set(pending)) == len(pending) <= cfg.commands
                and len(set(observed)) == len(observed) <= 2 * cfg.commands
                and len(reqs) >= len(acks)
                and all(0 <= n[2] <= cfg.commands for n in s[1]))

    return {"Agreement": agreement, "ExecutedChosen": executed_chosen,
            "PrefixConsistency": prefix_consistency, "Linearizability": linearizability,
            "TypeOK": type_ok}
