"""The properties of Multi-Paxos, as functions of a state.

* ``Agreement``: in every slot at most one command is chosen.  A command is *chosen* in
  a slot when a quorum of replicas voted for it in one ballot: AcceptReplies from a
  quorum for that ballot and slot (every AcceptReply answers the one Accept its ballot's
  leader sent for that slot).
* ``ExecutedChosen``: every slot a replica executed (up to its ``commitUpTo``) holds a
  command chosen in that slot.
* ``PrefixConsistency``: the executed logs of any two replicas agree on the slots both
  executed (one is a prefix of the other).
* ``Linearizability``: MultiPaxos_MC.tla's: once the run has terminated, some order of
  all commands explains every acknowledged value (a read returns the last write before
  it, a write the value it overwrote) and respects real time (a command acknowledged
  before another was requested comes first).
* ``TypeOK``: MultiPaxos_MC.tla's bookkeeping facts: no duplicate pending requests or
  observed events, as many requests observed as acknowledgements or more.

Liveness (``quorum check multipaxos --liveness``): the reference's ``Termination``,
``<>(\\A r : pc[r] = "Done")``: every request is eventually acknowledged and every
replica leaves its loop, under weak fairness of each replica's loop (PlusCal's ``fair
process``: ``\\A r : WF_vars(Replica(r))``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.tla.state import ACCEPT, ACCEPT_REPLY, ACK, REQ, MultiPaxosState

__all__ = ["PROPERTIES", "chosen", "fairness", "invariants", "linearizable", "liveness"]

PROPERTIES = ("Agreement", "ExecutedChosen", "PrefixConsistency", "Linearizability", "TypeOK")


def chosen(cfg: Config, s: MultiPaxosState) -> dict[int, set[int]]:
    """slot -> the commands chosen in it."""
    voters: dict[tuple[int, int], set[int]] = {}
    proposed: dict[tuple[int, int], set[int]] = {}
    for m in s.msgs:
        if m.type == ACCEPT_REPLY:
            voters.setdefault((m.bal, m.slot), set()).add(m.src)  # type: ignore[union-attr]
        elif m.type == ACCEPT:
            proposed.setdefault((m.bal, m.slot), set()).add(m.cmd)  # type: ignore[union-attr]
    out: dict[int, set[int]] = {}
    for (b, slot), who in voters.items():
        if len(who) >= cfg.quorum:
            out.setdefault(slot, set()).update(proposed.get((b, slot), ()))
    return out


def agreement(cfg: Config, s: MultiPaxosState) -> bool:
    return all(len(cmds) <= 1 for cmds in chosen(cfg, s).values())


def executed_chosen(cfg: Config, s: MultiPaxosState) -> bool:
    if not any(n.commitUpTo for n in s.node):
        return True
    ch = chosen(cfg, s)
    return all(n.insts[k].cmd in ch.get(k + 1, ())
               for n in s.node for k in range(n.commitUpTo))


def executed(s: MultiPaxosState, r: int) -> tuple[int, ...]:
    n = s.node[r]
    return tuple(i.cmd for i in n.insts[:n.commitUpTo])


def prefix_consistency(cfg: Config, s: MultiPaxosState) -> bool:
    logs = [executed(s, r) for r in range(cfg.replicas)]
    return all(a[:len(b)] == b[:len(a)] for a, b in itertools.combinations(logs, 2))


def linearizability(cfg: Config, s: MultiPaxosState) -> bool:
    return linearizable(cfg, s.pending, s.observed)


def linearizable(cfg: Config, pending: tuple[int, ...],
                 observed: tuple[tuple[int, ...], ...]) -> bool:
    """Linearizability on the client variables alone (shared with the packed encoding)."""
    if pending or not _all_seen(cfg, observed):
        return True
    # the first Req and the first Ack of each command (the reference's CHOOSE picks one)
    req: dict[int, int] = {}
    ack: dict[int, tuple[int, int]] = {}
    for pos, e in enumerate(observed):
        if e[0] == REQ:
            req.setdefault(e[1], pos)
        else:
            ack.setdefault(e[1], (pos, e[2]))
    for order in itertools.permutations(range(1, cfg.commands + 1)):
        value, ok = 0, True
        for c in order:
            if ack[c][1] != value:
                ok = False
                break
            if cfg.is_write(c):
                value = c
        if ok and all(order.index(c1) < order.index(c2)
                      for c1 in order for c2 in order if ack[c1][0] < req[c2]):
            return True
    return False


def _all_seen(cfg: Config, observed: tuple[tuple[int, ...], ...]) -> bool:
    """``terminated`` but for ``pending``: every command requested and acknowledged."""
    reqs = {e[1] for e in observed if e[0] == REQ}
    acks = {e[1] for e in observed if e[0] == ACK}
    return len(reqs) == cfg.commands and len(acks) == cfg.commands


def type_ok(cfg: Config, s: MultiPaxosState) -> bool:
    reqs = {e[1] for e in s.observed if e[0] == REQ}
    acks = {e[1] for e in s.observed if e[0] == ACK}
    return (len(set(s.pending)) == len(s.pending) <= cfg.commands
            and len(set(s.observed)) == len(s.observed) <= 2 * cfg.commands
            and len(reqs) >= len(acks)
            and all(0 <= n.commitUpTo <= cfg.commands for n in s.node))


def invariants(cfg: Config) -> dict[str, Callable[[MultiPaxosState], bool]]:
    table = {"Agreement": agreement, "ExecutedChosen": executed_chosen,
             "PrefixConsistency": prefix_consistency, "Linearizability": linearizability,
             "TypeOK": type_ok}

    def bound(f: Callable[[Config, MultiPaxosState], bool]) -> Callable[[MultiPaxosState], bool]:
        return lambda s: f(cfg, s)

    return {name: bound(f) for name, f in table.items()}


def liveness(cfg: Config) -> dict[str, tuple[str, Callable[[MultiPaxosState], bool]]]:
    """Termination: eventually every replica is done (so every request was acknowledged)."""
    return {"Termination": ("eventually", lambda s: all(s.done))}


def fairness(cfg: Config) -> list[tuple[str, Callable[[object], bool]]]:
    """WF_vars(Replica(r)) for each replica r: the steps whose label names r."""

    def steps_of(r: int) -> Callable[[object], bool]:
        return lambda lab: ("r", r) in lab[1]  # type: ignore[index]

    return [(f"WF(Replica(s{r + 1}))", steps_of(r)) for r in range(cfg.replicas)]
