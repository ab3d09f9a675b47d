"""MultiPaxos.tla's ``Next``, one function per PlusCal macro of its ``Replica`` process.

Each replica runs the loop ``rloop``: while the run has not terminated it takes one of
the seven actions below; once it has, its next step leaves the loop (``Exit``, pc :=
"Done"), and when every replica has left, the run stutters (``Terminating``).

Phase 1 runs once for all slots (``BecomeLeader`` broadcasts one Prepare; each
PrepareReply reports the sender's vote in every slot), phase 2 once per slot
(``TakeNewRequest``/``HandleAccept``/``HandleAcceptReplies``), and followers learn
commits from ``CommitNotice``.  Where a known bug lives, the actions ask
``cfg.rules`` (:mod:`quorum.spec.multipaxos.rules`).

Labels carry every choice: the replica ``r``, the ballot ``b``, the message ``m``
received, and for ``HandlePrepareReplies`` the command ``recovered`` in each slot.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.tla.state import (
    ACCEPT,
    ACCEPT_REPLY,
    ACCEPTING,
    ACK,
    COMMIT_NOTICE,
    COMMITTED,
    EMPTY,
    PREPARE,
    PREPARE_REPLY,
    PREPARING,
    REQ,
    Accept,
    AcceptReply,
    CommitNotice,
    Inst,
    Label,
    Message,
    MultiPaxosState,
    Node,
    Prepare,
    PrepareReply,
)

__all__ = ["successors", "terminated"]

Step = tuple[Label, MultiPaxosState]


def terminated(cfg: Config, s: MultiPaxosState) -> bool:
    """Nothing pending, and every command both requested and acknowledged."""
    if s.pending:
        return False
    reqs = {e[1] for e in s.observed if e[0] == REQ}
    acks = {e[1] for e in s.observed if e[0] == ACK}
    return len(reqs) == cfg.commands and len(acks) == cfg.commands


def _votes(insts: tuple[Inst, ...]) -> tuple[tuple[int, int], ...]:
    """VotesByNode: the replica's vote in every slot."""
    return tuple((i.vbal, i.vcmd) for i in insts)


def _restart_prepare(insts: tuple[Inst, ...]) -> tuple[Inst, ...]:
    """A new ballot: slots in phase 2 go back to phase 1 (Accepting -> Preparing)."""
    return tuple(i._replace(status=PREPARING) if i.status == ACCEPTING else i for i in insts)


def _with_node(s: MultiPaxosState, r: int, n: Node) -> tuple[Node, ...]:
    return s.node[:r] + (n,) + s.node[r + 1:]


def _observe(observed: tuple[tuple[int, ...], ...], e: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    return observed if e in observed else observed + (e,)


def become_leader(cfg: Config, s: MultiPaxosState, r: int, msgs: list[Any]) -> Iterator[Step]:
    """Phase 1a, once for every slot: r picks a fresh ballot above all it has seen."""
    n = s.node[r]
    if n.leader == r:
        return
    taken = {m.bal for m in msgs if m.type == PREPARE}  # ballots are unique per proposer
    for b in range(n.balMaxKnown + 1, cfg.max_ballot + 1):
        if b in taken:
            continue
        insts = _restart_prepare(n.insts)
        node = n._replace(leader=r, balPrepared=0, balMaxKnown=b, insts=insts)
        new: set[Message] = {Prepare(PREPARE, r, b),
                             PrepareReply(PREPARE_REPLY, r, b, _votes(insts))}
        sent = s.msgs | new
        yield (("BecomeLeader", (("r", r), ("b", b))),
               s._replace(msgs=sent, node=_with_node(s, r, node)))


def handle_prepare(cfg: Config, s: MultiPaxosState, r: int, msgs: list[Any]) -> Iterator[Step]:
    """Phase 1b: r joins a higher ballot and reports its votes in every slot."""
    n = s.node[r]
    for m in msgs:
        if m.type != PREPARE or m.bal <= n.balMaxKnown:
            continue
        insts = _restart_prepare(n.insts)
        node = n._replace(leader=m.src, balMaxKnown=m.bal, insts=insts)
        sent = s.msgs | {PrepareReply(PREPARE_REPLY, r, m.bal, _votes(insts))}
        yield (("HandlePrepare", (("r", r), ("m", m))),
               s._replace(msgs=sent, node=_with_node(s, r, node)))


def _recovered(cfg: Config, inst: Inst, votes: list[tuple[int, int]]) -> list[Inst]:
    """The slot's instance after phase 1, one per command recovery may keep."""
    if not cfg.rules.recovers(inst.status):
        return [inst]
    out = []
    for c in cfg.rules.recovery(votes):
        moving = inst.status == PREPARING or (inst.status == EMPTY and c != 0)
        out.append(inst._replace(status=ACCEPTING if moving else inst.status, cmd=c))
    return out


def handle_prepare_replies(cfg: Config, s: MultiPaxosState, r: int,
                           msgs: list[Any]) -> Iterator[Step]:
    """End of phase 1: a quorum of PrepareReplies for r's ballot; in every slot r keeps
    the highest-ballot vote reported, and proposes (phase 2a) in every slot that has one."""
    n = s.node[r]
    if n.leader != r or n.balPrepared != 0:
        return
    prs = [m for m in msgs if m.type == PREPARE_REPLY and m.bal == n.balMaxKnown]
    if len(prs) < cfg.quorum:
        return
    options = [_recovered(cfg, inst, [pr.votes[k] for pr in prs])
               for k, inst in enumerate(n.insts)]
    for insts in itertools.product(*options):
        node = n._replace(balPrepared=n.balMaxKnown, insts=insts)
        accepts = {Accept(ACCEPT, r, n.balMaxKnown, k + 1, i.cmd)
                   for k, i in enumerate(insts) if i.status == ACCEPTING}
        yield (("HandlePrepareReplies", (("r", r), ("recovered", tuple(i.cmd for i in insts)))),
               s._replace(msgs=s.msgs | accepts, node=_with_node(s, r, node)))


def take_new_request(cfg: Config, s: MultiPaxosState, r: int) -> Iterator[Step]:
    """Phase 2a for a new command: a prepared leader puts a pending request into its
    first empty slot, votes for it itself and broadcasts Accept."""
    n = s.node[r]
    if n.leader != r or n.balPrepared != n.balMaxKnown:
        return
    empty = [k for k, i in enumerate(n.insts) if i.status == EMPTY]
    in_log = {i.cmd for i in n.insts}
    unseen = [c for c in s.pending if c not in in_log]
    if not empty or not unseen:
        return
    k, b = empty[0], n.balPrepared
    for c in unseen if cfg.any_request else unseen[:1]:
        insts = n.insts[:k] + (Inst(ACCEPTING, c, b, c),) + n.insts[k + 1:]
        new: set[Message] = {Accept(ACCEPT, r, b, k + 1, c), AcceptReply(ACCEPT_REPLY, r, b, k + 1)}
        sent = s.msgs | new
        yield (("TakeNewRequest", (("r", r), ("c", c))),
               s._replace(msgs=sent, node=_with_node(s, r, n._replace(insts=insts)),
                          observed=_observe(s.observed, (REQ, c))))


def handle_accept(cfg: Config, s: MultiPaxosState, r: int, msgs: list[Any]) -> Iterator[Step]:
    """Phase 2b: r votes for an Accept of a ballot it has not abandoned."""
    n = s.node[r]
    for m in msgs:
        if m.type != ACCEPT:
            continue
        k = m.slot - 1
        if m.bal < n.balMaxKnown or m.bal <= n.insts[k].vbal:
            continue
        insts = n.insts[:k] + (Inst(ACCEPTING, m.cmd, m.bal, m.cmd),) + n.insts[k + 1:]
        node = n._replace(leader=m.src, balMaxKnown=m.bal, insts=insts)
        sent = s.msgs | {AcceptReply(ACCEPT_REPLY, r, m.bal, m.slot)}
        yield (("HandleAccept", (("r", r), ("m", m))),
               s._replace(msgs=sent, node=_with_node(s, r, node)))


def _execute(cfg: Config, n: Node, k: int, cmd: int) -> Node:
    """Mark slot k+1 committed and apply its command to the key (a write sets it)."""
    insts = n.insts[:k] + (n.insts[k]._replace(status=COMMITTED, cmd=cmd),) + n.insts[k + 1:]
    return n._replace(insts=insts, commitUpTo=k + 1,
                      kvalue=cmd if cfg.is_write(cmd) else n.kvalue)


def _notice(cfg: Config, upto: int, bal: int) -> CommitNotice:
    return CommitNotice(COMMIT_NOTICE, upto, bal if cfg.notice_ballot else 0)


def handle_accept_replies(cfg: Config, s: MultiPaxosState, r: int,
                          msgs: list[Any]) -> Iterator[Step]:
    """The leader learns that the next slot's command is chosen (a quorum of
    AcceptReplies in its ballot), executes it, acknowledges the client and tells the
    followers."""
    n = s.node[r]
    if n.leader != r or n.balPrepared != n.balMaxKnown or n.commitUpTo >= cfg.commands:
        return
    k = n.commitUpTo
    inst = n.insts[k]
    if inst.status == EMPTY and cfg.rules.executes_holes and any(
            i.status != EMPTY for i in n.insts[k + 1:]):
        # the bug: a hole executed as a no-op nobody chose
        yield (("ExecuteHole", (("r", r),)),
               s._replace(msgs=s.msgs | {_notice(cfg, k + 1, n.balPrepared)},
                          node=_with_node(s, r, _execute(cfg, n, k, 0))))
        return
    if inst.status != ACCEPTING:
        return
    ars = sum(1 for m in msgs if m.type == ACCEPT_REPLY and m.slot == k + 1
              and m.bal == n.balPrepared)
    if ars < cfg.quorum:
        return
    c = inst.cmd
    pending = tuple(p for p in s.pending if p != c)
    yield (("HandleAcceptReplies", (("r", r),)),
           s._replace(msgs=s.msgs | {_notice(cfg, k + 1, n.balPrepared)},
                      node=_with_node(s, r, _execute(cfg, n, k, c)), pending=pending,
                      observed=_observe(s.observed, (ACK, c, n.kvalue))))


def handle_commit_notice(cfg: Config, s: MultiPaxosState, r: int) -> Iterator[Step]:
    """A follower learns that its next slot is committed, and executes it.  The
    reference's notice names only the slot; with ``cfg.notice_ballot`` it names the
    ballot too, and the follower needs its own vote to be of that ballot."""
    n = s.node[r]
    if n.leader == r or n.commitUpTo >= cfg.commands:
        return
    k = n.commitUpTo
    if n.insts[k].status != ACCEPTING:
        return
    m = CommitNotice(COMMIT_NOTICE, k + 1, n.insts[k].vbal if cfg.notice_ballot else 0)
    if m in s.msgs:
        yield (("HandleCommitNotice", (("r", r), ("m", m))),
               s._replace(node=_with_node(s, r, _execute(cfg, n, k, n.insts[k].cmd))))


def successors(cfg: Config, s: MultiPaxosState) -> Iterator[Step]:
    """Next: some replica takes one step of its loop, or, all done, the run stutters."""
    msgs = sorted(s.msgs)
    over = terminated(cfg, s)
    for r in range(cfg.replicas):
        if s.done[r]:
            continue
        if over:
            yield (("Exit", (("r", r),)),
                   s._replace(done=s.done[:r] + (True,) + s.done[r + 1:]))
            continue
        yield from become_leader(cfg, s, r, msgs)
        yield from handle_prepare(cfg, s, r, msgs)
        yield from handle_prepare_replies(cfg, s, r, msgs)
        yield from take_new_request(cfg, s, r)
        yield from handle_accept(cfg, s, r, msgs)
        yield from handle_accept_replies(cfg, s, r, msgs)
        yield from handle_commit_notice(cfg, s, r)
    if all(s.done):
        yield ("Terminating", ()), s
