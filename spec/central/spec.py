"""A central coordinator that orders every write for its replicas: state and actions.

Theory of operation.  The active coordinator takes each client write, gives it the
next place in its sequence, writes the sequence to its durable log and then
acknowledges the write (``Order``); it sends the sequence to the replicas, which
apply it (``Apply``).  A coordinator may crash, losing its memory but not the
durable log, and restart, reloading the log (``Crash``, ``Restart``).  Without a
standby nothing is acknowledged while the coordinator is down: it is a single
point of unavailability.

With a standby (``c2``), both coordinators share the durable log (the classic
active/standby pair on shared storage).  The standby's failure detector may
suspect the active coordinator, rightly or not; it then takes over (``Takeover``):
it reloads the log and starts ordering writes in a new epoch.  With fencing, the
takeover first writes its epoch into the log's storage and every replica remembers
the newest epoch it has seen: both refuse an older coordinator, which steps down
(``StepDown``).  Without fencing, nothing stops the old one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from quorum.spec.central.config import Config, coordinator_name, replica_name, write_name

__all__ = ["Label", "State", "initial_state", "successors", "writable"]

Label = tuple[str, tuple[tuple[str, object], ...]]


class State(NamedTuple):
    up: tuple[int, ...]  # per coordinator: 1 running, 0 crashed
    active: tuple[int, ...]  # per coordinator: 1 if it acts as the coordinator
    epoch: tuple[int, ...]  # per coordinator: the epoch it orders writes in
    memory: tuple[tuple[int, ...], ...]  # per coordinator: its sequence, in memory
    store: tuple[int, ...]  # the durable log
    store_epoch: int  # with fencing: the newest epoch written to the log's storage
    replica: tuple[tuple[int, ...], ...]  # per replica: the writes applied, in order
    replica_epoch: tuple[int, ...]  # with fencing: the newest epoch each replica has seen
    writes: int  # writes issued so far (ids 1..writes)
    acked: frozenset[int]  # writes acknowledged to clients
    crashes: int  # crashes so far


def initial_state(cfg: Config) -> State:
    """Init: c1 is up and active (and c2, if any, up as standby); everything is empty."""
    coords = len(cfg.coordinators)
    up = tuple(int(cfg.coordinator_up_ever(c)) for c in cfg.coordinators)
    return State(up=up, active=(up[0],) + (0,) * (coords - 1), epoch=(0,) * coords,
                 memory=((),) * coords, store=(), store_epoch=0,
                 replica=((),) * cfg.replicas, replica_epoch=(0,) * cfg.replicas,
                 writes=0, acked=frozenset(), crashes=0)


def _set(t: tuple, i: int, x: object) -> tuple:  # type: ignore[type-arg]
    return t[:i] + (x,) + t[i + 1:]


def _label(name: str, **params: object) -> Label:
    return (name, tuple(params.items()))


def writable(cfg: Config, s: State, c: int) -> bool:
    """Would the durable log accept a write from coordinator c now?"""
    return bool(s.up[c] and s.active[c]) and (not cfg.fencing or s.epoch[c] >= s.store_epoch)


def _step_down(s: State, c: int) -> State:
    return s._replace(active=_set(s.active, c, 0))


def order(cfg: Config, s: State, c: int) -> Iterator[tuple[Label, State]]:
    """Order(c, w): the active coordinator c appends client write w to its sequence,
    writes the sequence to the durable log and acknowledges w; refused and stepped
    down if the log's storage has seen a newer epoch."""
    if not (s.up[c] and s.active[c]) or s.writes == cfg.writes:
        return
    if not writable(cfg, s, c):
        yield _label("StepDown", c=coordinator_name(c), by="log"), _step_down(s, c)
        return
    w = s.writes + 1
    seq = s.memory[c] + (w,)
    yield (_label("Order", c=coordinator_name(c), w=write_name(w)),
           s._replace(memory=_set(s.memory, c, seq), store=seq, writes=w, acked=s.acked | {w}))


def apply(cfg: Config, s: State, c: int, r: int) -> Iterator[tuple[Label, State]]:
    """Apply(c, r): replica r applies coordinator c's sequence (refused, with fencing,
    if r has seen a newer epoch: c steps down)."""
    if not (s.up[c] and s.active[c]) or not cfg.replica_up(r):
        return
    if cfg.fencing and s.replica_epoch[r] > s.epoch[c]:
        yield _label("StepDown", c=coordinator_name(c), by=replica_name(r)), _step_down(s, c)
        return
    t = s._replace(replica=_set(s.replica, r, s.memory[c]))
    if cfg.fencing:
        t = t._replace(replica_epoch=_set(t.replica_epoch, r, s.epoch[c]))
    if t != s:
        yield _label("Apply", c=coordinator_name(c), r=replica_name(r)), t


def crash(cfg: Config, s: State, c: int) -> Iterator[tuple[Label, State]]:
    """Crash(c): coordinator c stops and forgets its memory; the durable log stays."""
    if s.up[c] and s.crashes < cfg.crashes:
        yield (_label("Crash", c=coordinator_name(c)),
               s._replace(up=_set(s.up, c, 0), active=_set(s.active, c, 0),
                          memory=_set(s.memory, c, ()), crashes=s.crashes + 1))


def restart(cfg: Config, s: State, c: int) -> Iterator[tuple[Label, State]]:
    """Restart(c): c comes back and reloads the durable log; alone it resumes as the
    coordinator, with a standby pair it waits as the standby."""
    if s.up[c] or not cfg.coordinator_up_ever(c):
        return
    yield (_label("Restart", c=coordinator_name(c)),
           s._replace(up=_set(s.up, c, 1), active=_set(s.active, c, int(not cfg.standby)),
                      memory=_set(s.memory, c, s.store)))


def takeover(cfg: Config, s: State, c: int) -> Iterator[tuple[Label, State]]:
    """Takeover(c): c's failure detector suspects the active coordinator (perhaps
    wrongly) and c becomes the coordinator of a new epoch, reloading the log; with
    fencing it first writes that epoch to the log's storage.  The label says
    ``suspect='down'`` when no coordinator is running as the active one (the suspicion
    is right): only that step is weakly fair (``properties.fairness``)."""
    if not cfg.standby or not s.up[c] or s.active[c] or max(s.epoch) == cfg.failovers:
        return
    e = max(s.epoch) + 1
    t = s._replace(active=_set(s.active, c, 1), epoch=_set(s.epoch, c, e),
                   memory=_set(s.memory, c, s.store))
    if cfg.fencing:
        t = t._replace(store_epoch=e)
    if any(s.up[d] and s.active[d] for d in cfg.coordinators):
        yield _label("Takeover", c=coordinator_name(c)), t  # a running one is suspected
    else:
        yield _label("Takeover", c=coordinator_name(c), suspect="down"), t


def successors(cfg: Config, s: State) -> Iterator[tuple[Label, State]]:
    """Next, coordinator by coordinator: Order, Apply (per replica), Crash, Restart,
    Takeover."""
    for c in cfg.coordinators:
        yield from order(cfg, s, c)
        for r in range(cfg.replicas):
            yield from apply(cfg, s, c, r)
        yield from crash(cfg, s, c)
        yield from restart(cfg, s, c)
        yield from takeover(cfg, s, c)
