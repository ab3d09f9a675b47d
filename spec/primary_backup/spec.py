"""Primary-backup replication with a fallible failure detector: state and actions.

Theory of operation.  One node is the primary; it appends each client write to
its log and copies the log to the backups (``Replicate``, one round trip each: the
backup takes the whole log, as in a state transfer, and confirms).  When the write
is acknowledged to the client depends on the mode (Budhiraja, Marzullo, Schneider
and Toueg, "The Primary-Backup Approach", 1993, describe the family):

* ``async``: at once, before any backup has it;
* ``sync``: once every backup in the primary's view has confirmed it;
* ``sync-majority``: once a majority of all nodes (the primary included) has.

A failure detector may suspect any node at any time, rightly or not.  Suspecting
the primary triggers a failover (``Promote``): a backup becomes primary of a new
epoch, numbered by the failover manager (one more than any epoch so far).

With fencing (the default), epochs are checked: a node never accepts a log from a
primary of an older epoch, and a primary that meets a newer epoch steps down
(``StepDown``).  In ``sync-majority`` mode the new primary must also get a majority
to join its epoch and takes the most recent log among them (by the epoch that
wrote it, then length: Liskov and Cowling, "Viewstamped Replication Revisited",
2012, section 4.2).  Without fencing nobody compares epochs, and a primary that
suspects a backup stops waiting for it (``DropBackup``) so that writes go on.

A state holds only ints.  Reads are atomic: a ``Read`` step is a self-loop whose
label carries the result, checked by an action property.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import NamedTuple

from quorum.spec.primary_backup.config import (
    ASYNC,
    QUORUM_READS,
    SYNC,
    SYNC_MAJORITY,
    Config,
    node_name,
    write_name,
)

__all__ = ["BACKUP", "PRIMARY", "Label", "State", "acknowledged_length", "initial_state",
           "successors"]

BACKUP, PRIMARY = 0, 1

Label = tuple[str, tuple[tuple[str, object], ...]]
Acked = frozenset[tuple[int, tuple[int, ...]]]


class State(NamedTuple):
    role: tuple[int, ...]  # PRIMARY or BACKUP, per node
    epoch: tuple[int, ...]  # the newest epoch each node has joined
    logepoch: tuple[int, ...]  # the epoch of the primary that last wrote each node's log
    log: tuple[tuple[int, ...], ...]  # per node, the write ids it holds, in order
    view: tuple[int, ...]  # per primary, bitmask of the nodes it waits for (itself included)
    match: tuple[tuple[int, ...], ...]  # match[p][q]: length of p's log that q confirmed
    writes: int  # writes issued so far (ids 1..writes)
    #: (failovers so far when acknowledged, the history up to and including the write)
    acked: Acked


def initial_state(cfg: Config) -> State:
    """Init: n1 is the primary of epoch 0, every log is empty, nothing is acknowledged."""
    n = cfg.nodes
    zeros = (0,) * n
    return State(role=(PRIMARY,) + (BACKUP,) * (n - 1), epoch=zeros, logepoch=zeros,
                 log=((),) * n, view=(cfg.everyone,) * n, match=(zeros,) * n, writes=0,
                 acked=frozenset())


def _set(t: tuple, i: int, x: object) -> tuple:  # type: ignore[type-arg]
    return t[:i] + (x,) + t[i + 1:]


def _label(name: str, **params: object) -> Label:
    return (name, tuple(params.items()))


def _demote(cfg: Config, s: State, q: int, epoch: int) -> State:
    """q becomes a backup in ``epoch``; what it knew as a primary is forgotten."""
    return s._replace(role=_set(s.role, q, BACKUP), epoch=_set(s.epoch, q, epoch),
                      view=_set(s.view, q, cfg.everyone),
                      match=_set(s.match, q, (0,) * cfg.nodes))


def acknowledged_length(cfg: Config, s: State, p: int) -> int:
    """How much of primary p's log p may acknowledge to clients, by the mode's rule."""
    if cfg.mode == ASYNC:
        return len(s.log[p])
    m = s.match[p]
    if cfg.mode == SYNC:
        return min(m[q] for q in cfg.all_nodes if s.view[p] >> q & 1)
    return sorted(m, reverse=True)[cfg.majority - 1]


def acknowledge(cfg: Config, s: State, p: int) -> State:
    """Record every write primary p may now acknowledge, with the history it ends."""
    log = s.log[p]
    done = {h for _, h in s.acked}
    new = {(max(s.epoch), log[:i]) for i in range(1, acknowledged_length(cfg, s, p) + 1)
           if log[:i] not in done}
    return s._replace(acked=s.acked | new) if new else s


def _is_primary(cfg: Config, s: State, p: int) -> bool:
    return cfg.up(p) and s.role[p] == PRIMARY


def client_write(cfg: Config, s: State, p: int) -> Iterator[tuple[Label, State]]:
    """ClientWrite(p, w): primary p appends the next client write w to its log."""
    if not _is_primary(cfg, s, p) or s.writes == cfg.writes:
        return
    w = s.writes + 1
    log = s.log[p] + (w,)
    t = s._replace(log=_set(s.log, p, log), logepoch=_set(s.logepoch, p, s.epoch[p]),
                   match=_set(s.match, p, _set(s.match[p], p, len(log))), writes=w)
    yield _label("ClientWrite", p=node_name(p), w=write_name(w)), acknowledge(cfg, t, p)


def replicate(cfg: Config, s: State, p: int, q: int) -> Iterator[tuple[Label, State]]:
    """Replicate(p, q): primary p sends its log to q, which takes it and confirms.

    With fencing, q refuses a log from an older epoch and p, told so, steps down.
    """
    if p == q or not _is_primary(cfg, s, p) or not cfg.up(q) or not s.view[p] >> q & 1:
        return
    if cfg.fencing and s.epoch[q] > s.epoch[p]:
        yield _label("StepDown", p=node_name(p), by=node_name(q)), _demote(cfg, s, p, s.epoch[q])
        return
    if not cfg.fencing and s.role[q] == PRIMARY:
        return  # a primary does not take another primary's log
    e, log = s.epoch[p], s.log[p]
    t = _demote(cfg, s, q, e) if s.role[q] == PRIMARY else s._replace(epoch=_set(s.epoch, q, e))
    t = t._replace(log=_set(t.log, q, log), logepoch=_set(t.logepoch, q, e),
                   match=_set(t.match, p, _set(t.match[p], q, len(log))))
    if t != s:
        yield _label("Replicate", p=node_name(p), q=node_name(q)), acknowledge(cfg, t, p)


def drop_backup(cfg: Config, s: State, p: int, q: int) -> Iterator[tuple[Label, State]]:
    """DropBackup(p, q): without fencing, a sync primary that suspects backup q stops
    waiting for it, keeping at least one backup (it would otherwise be alone)."""
    if cfg.mode != SYNC or cfg.fencing or p == q or not _is_primary(cfg, s, p):
        return
    if not s.view[p] >> q & 1 or s.view[p].bit_count() <= 2:
        return
    t = s._replace(view=_set(s.view, p, s.view[p] & ~(1 << q)))
    yield _label("DropBackup", p=node_name(p), q=node_name(q)), acknowledge(cfg, t, p)


def _recency(s: State, q: int) -> tuple[int, int]:
    """How recent q's log is: the epoch that wrote it, then its length (VR's rule)."""
    return s.logepoch[q], len(s.log[q])


def _promoted(cfg: Config, s: State, b: int, joined: tuple[int, ...]) -> State:
    """b becomes primary of a new epoch that ``joined`` (b included) have joined."""
    e = max(s.epoch) + 1
    best = max(joined, key=lambda q: _recency(s, q))
    log = s.log[best]
    view = cfg.everyone
    if not cfg.fencing:  # the failover manager stops waiting for the suspected primary
        view &= ~sum(1 << q for q in cfg.all_nodes if s.role[q] == PRIMARY)
    t = s
    for q in joined:
        t = _demote(cfg, t, q, e)
    zeros = (0,) * cfg.nodes
    t = t._replace(role=_set(t.role, b, PRIMARY), log=_set(t.log, b, log),
                   logepoch=_set(t.logepoch, b, e), view=_set(t.view, b, view),
                   match=_set(t.match, b, _set(zeros, b, len(log))))
    return acknowledge(cfg, t, b)


def promote(cfg: Config, s: State, b: int) -> Iterator[tuple[Label, State]]:
    """Promote(b): failover; backup b becomes primary of a new epoch.

    In ``sync-majority`` mode with fencing, b needs a majority (``joined``, b among them) to join the
    epoch first (Paxos's phase 1, Raft's election); otherwise the failover manager
    promotes b only if no live backup has a more recent log.
    """
    if not cfg.up(b) or s.role[b] != BACKUP or max(s.epoch) == cfg.failovers:
        return
    if cfg.mode == SYNC_MAJORITY and cfg.fencing:
        others = [q for q in cfg.all_nodes if q != b and cfg.up(q)]
        for k in range(cfg.majority - 1, len(others) + 1):
            for rest in combinations(others, k):
                joined = tuple(sorted((b, *rest)))
                yield (_label("Promote", b=node_name(b), joined=tuple(map(node_name, joined))),
                       _promoted(cfg, s, b, joined))
        return
    backups = [q for q in cfg.all_nodes if cfg.up(q) and s.role[q] == BACKUP]
    if all(_recency(s, b) >= _recency(s, q) for q in backups):
        yield _label("Promote", b=node_name(b)), _promoted(cfg, s, b, (b,))


def _confirms(cfg: Config, s: State, p: int, q: int) -> bool:
    """Would q, asked now, confirm that p is still the primary of its epoch?"""
    if q == p:
        return True
    if not cfg.up(q):
        return False
    return s.epoch[q] <= s.epoch[p] if cfg.fencing else s.role[q] == BACKUP


def read(cfg: Config, s: State, p: int) -> Iterator[tuple[Label, State]]:
    """Read(p): a client reads primary p's data.  Local reads answer at once; quorum
    reads first confirm p's epoch with the nodes p's writes need (Raft's ReadIndex,
    Ongaro's thesis section 6.4), and block when they cannot."""
    if not _is_primary(cfg, s, p):
        return
    if cfg.reads == QUORUM_READS and cfg.mode != ASYNC:
        yes = [q for q in cfg.all_nodes if _confirms(cfg, s, p, q)]
        if cfg.mode == SYNC and any(s.view[p] >> q & 1 and q not in yes for q in cfg.all_nodes):
            return
        if cfg.mode == SYNC_MAJORITY and len(yes) < cfg.majority:
            return
    yield _label("Read", p=node_name(p), result=tuple(map(write_name, s.log[p]))), s


def successors(cfg: Config, s: State) -> Iterator[tuple[Label, State]]:
    """Next, node by node: ClientWrite, Replicate/StepDown, DropBackup, Promote, Read."""
    for p in cfg.all_nodes:
        yield from client_write(cfg, s, p)
        for q in cfg.all_nodes:
            yield from replicate(cfg, s, p, q)
        for q in cfg.all_nodes:
            yield from drop_backup(cfg, s, p, q)
        yield from promote(cfg, s, p)
        yield from read(cfg, s, p)
