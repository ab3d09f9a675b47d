"""The packed encoding: state layout, the compiled ``Next``, symmetry, decoding."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.rules import peak_voted
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

__all__ = ["FastState", "canonicalizer", "decode", "decode_message", "initial_state",
           "successor_function"]

#: (msgs, node, pending, observed, done), as MultiPaxosState but packed
FastState = tuple[frozenset[int], tuple[tuple[Any, ...], ...], tuple[int, ...],
                  tuple[tuple[int, ...], ...], tuple[bool, ...]]
Step = tuple[Label, FastState]
SRC_MASK = ~(7 << 3)


def _inst(status: int, cmd: int, vbal: int, vcmd: int) -> int:
    return status | cmd << 2 | vbal << 5 | vcmd << 8


def _prepare(r: int, b: int) -> int:
    return PREPARE | r << 3 | b << 6


def _prepare_reply(r: int, b: int, insts: tuple[int, ...]) -> int:
    m = PREPARE_REPLY | r << 3 | b << 6
    for k, i in enumerate(insts):
        m |= (i >> 5) << (9 + 6 * k)
    return m


def _accept(r: int, b: int, slot: int, c: int) -> int:
    return ACCEPT | r << 3 | b << 6 | slot << 9 | c << 12


def _accept_reply(r: int, b: int, slot: int) -> int:
    return ACCEPT_REPLY | r << 3 | b << 6 | slot << 9


def _notice(upto: int, bal: int) -> int:
    return COMMIT_NOTICE | bal << 6 | upto << 9


@lru_cache(maxsize=1 << 16)
def decode_message(m: int, slots: int) -> Message:
    t, src, bal = m & 7, m >> 3 & 7, m >> 6 & 7
    if t == PREPARE:
        return Prepare(PREPARE, src, bal)
    if t == PREPARE_REPLY:
        votes = tuple((m >> (9 + 6 * k) & 7, m >> (12 + 6 * k) & 7) for k in range(slots))
        return PrepareReply(PREPARE_REPLY, src, bal, votes)
    if t == ACCEPT:
        return Accept(ACCEPT, src, bal, m >> 9 & 7, m >> 12 & 7)
    if t == ACCEPT_REPLY:
        return AcceptReply(ACCEPT_REPLY, src, bal, m >> 9 & 7)
    return CommitNotice(COMMIT_NOTICE, m >> 9 & 7, bal)


def _decode_inst(i: int) -> Inst:
    return Inst(i & 3, i >> 2 & 7, i >> 5 & 7, i >> 8 & 7)


def decode(cfg: Config, s: FastState) -> MultiPaxosState:
    """The readable state this packed state stands for."""
    msgs, nodes, pending, observed, done = s
    return MultiPaxosState(
        frozenset(decode_message(m, cfg.commands) for m in msgs),
        tuple(Node(n[0], n[1], n[2], n[3], n[4], tuple(_decode_inst(i) for i in n[5]))
              for n in nodes),
        pending, observed, done)


def initial_state(cfg: Config) -> FastState:
    null = (-1, 0, 0, 0, 0, (0,) * cfg.commands)
    return (frozenset(), (null,) * cfg.replicas, tuple(range(1, cfg.commands + 1)), (),
            (False,) * cfg.replicas)


def successor_function(cfg: Config) -> Callable[[FastState], Iterator[Step]]:
    """``Next`` for one configuration, with its constants bound."""
    n, slots, top, writes = cfg.replicas, cfg.commands, cfg.max_ballot, cfg.writes
    quorum, rules, any_request, notice_ballot = (cfg.quorum, cfg.rules, cfg.any_request,
                                                 cfg.notice_ballot)
    correct_recovery = rules.recovery is peak_voted

    def restart(insts: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(i - 1 if i & 3 == ACCEPTING else i for i in insts)  # -> PREPARING

    def execute(node: tuple[Any, ...], k: int, cmd: int) -> tuple[Any, ...]:
        insts = node[5]
        new = (insts[k] & ~(3 | 7 << 2)) | COMMITTED | cmd << 2
        kvalue = cmd if 1 <= cmd <= writes else node[1]
        return (node[0], kvalue, k + 1, node[3], node[4], insts[:k] + (new,) + insts[k + 1:])

    def recovered(inst: int, votes: list[int]) -> list[int]:
        status = inst & 3
        if not rules.recovers(status):
            return [inst]
        if correct_recovery:
            # a vote is 6 bits, vbal low and vcmd high: swapped, the highest ballot wins
            best = max((v & 7) << 3 | v >> 3 for v in votes)
            cands: tuple[int, ...] = ((best & 7) if best >> 3 else 0,)
        else:
            cands = rules.recovery([(v & 7, v >> 3) for v in votes])
        out = []
        for c in cands:
            moving = status == PREPARING or (status == EMPTY and c != 0)
            out.append((inst & ~(3 | 7 << 2)) | (ACCEPTING if moving else status) | c << 2)
        return out

    def successors(s: FastState) -> Iterator[Step]:
        msgs, nodes, pending, observed, done = s
        acks = {e[1] for e in observed if e[0] == ACK}
        over = (not pending and len(acks) == slots
                and len({e[1] for e in observed if e[0] == REQ}) == slots)
        ordered = sorted(msgs, key=lambda m: decode_message(m, slots))
        prepared_ballots = {m >> 6 & 7 for m in msgs if m & 7 == PREPARE}
        for r in range(n):
            if done[r]:
                continue
            if over:
                yield (("Exit", (("r", r),)),
                       (msgs, nodes, pending, observed, done[:r] + (True,) + done[r + 1:]))
                continue
            node = nodes[r]
            leader, kvalue, cu, bp, bmk, insts = node

            def put(new: tuple[Any, ...], r: int = r) -> tuple[tuple[Any, ...], ...]:
                return nodes[:r] + (new,) + nodes[r + 1:]

            # BecomeLeader
            if leader != r:
                for b in range(bmk + 1, top + 1):
                    if b in prepared_ballots:
                        continue
                    new_insts = restart(insts)
                    sent = msgs | {_prepare(r, b), _prepare_reply(r, b, new_insts)}
                    yield (("BecomeLeader", (("r", r), ("b", b))),
                           (sent, put((r, kvalue, cu, 0, b, new_insts)), pending, observed,
                            done))
            # HandlePrepare
            for m in ordered:
                if m & 7 != PREPARE or m >> 6 & 7 <= bmk:
                    continue
                b, new_insts = m >> 6 & 7, restart(insts)
                yield (("HandlePrepare", (("r", r), ("m", decode_message(m, slots)))),
                       (msgs | {_prepare_reply(r, b, new_insts)},
                        put((m >> 3 & 7, kvalue, cu, bp, b, new_insts)), pending, observed,
                        done))
            # HandlePrepareReplies
            if leader == r and bp == 0:
                prs = [m for m in ordered if m & 7 == PREPARE_REPLY and m >> 6 & 7 == bmk]
                if len(prs) >= quorum:
                    options = [recovered(inst, [m >> (9 + 6 * k) & 63 for m in prs])
                               for k, inst in enumerate(insts)]
                    for new_insts in itertools.product(*options):
                        accepts = {_accept(r, bmk, k + 1, i >> 2 & 7)
                                   for k, i in enumerate(new_insts) if i & 3 == ACCEPTING}
                        yield (("HandlePrepareReplies",
                                (("r", r), ("recovered", tuple(i >> 2 & 7 for i in new_insts)))),
                               (msgs | accepts, put((leader, kvalue, cu, bmk, bmk, new_insts)),
                                pending, observed, done))
            # TakeNewRequest
            if leader == r and bp == bmk:
                empty = [k for k, i in enumerate(insts) if i & 3 == EMPTY]
                in_log = {i >> 2 & 7 for i in insts}
                unseen = [c for c in pending if c not in in_log]
                if empty and unseen:
                    k = empty[0]
                    for c in unseen if any_request else unseen[:1]:
                        new_insts = insts[:k] + (_inst(ACCEPTING, c, bp, c),) + insts[k + 1:]
                        req = (REQ, c)
                        yield (("TakeNewRequest", (("r", r), ("c", c))),
                               (msgs | {_accept(r, bp, k + 1, c), _accept_reply(r, bp, k + 1)},
                                put((leader, kvalue, cu, bp, bmk, new_insts)), pending,
                                observed if req in observed else observed + (req,), done))
            # HandleAccept
            for m in ordered:
                if m & 7 != ACCEPT:
                    continue
                b, k, c = m >> 6 & 7, (m >> 9 & 7) - 1, m >> 12 & 7
                if b < bmk or b <= insts[k] >> 5 & 7:
                    continue
                new_insts = insts[:k] + (_inst(ACCEPTING, c, b, c),) + insts[k + 1:]
                yield (("HandleAccept", (("r", r), ("m", decode_message(m, slots)))),
                       (msgs | {_accept_reply(r, b, k + 1)},
                        put((m >> 3 & 7, kvalue, cu, bp, b, new_insts)), pending, observed,
                        done))
            # HandleAcceptReplies (and the hole bug)
            if leader == r and bp == bmk and cu < slots:
                k = cu
                status = insts[k] & 3
                if status == EMPTY and rules.executes_holes and any(
                        i & 3 != EMPTY for i in insts[k + 1:]):
                    notice = _notice(k + 1, bp if notice_ballot else 0)
                    yield (("ExecuteHole", (("r", r),)),
                           (msgs | {notice}, put(execute(node, k, 0)), pending, observed,
                            done))
                elif status == ACCEPTING:
                    want = ACCEPT_REPLY | bp << 6 | (k + 1) << 9
                    ars = sum(1 for m in msgs if m & SRC_MASK & 0xFFF == want)
                    if ars >= quorum:
                        c = insts[k] >> 2 & 7
                        ack = (ACK, c, kvalue)
                        notice = _notice(k + 1, bp if notice_ballot else 0)
                        yield (("HandleAcceptReplies", (("r", r),)),
                               (msgs | {notice}, put(execute(node, k, c)),
                                tuple(p for p in pending if p != c),
                                observed if ack in observed else observed + (ack,), done))
            # HandleCommitNotice
            if leader != r and cu < slots and insts[cu] & 3 == ACCEPTING:
                notice = _notice(cu + 1, insts[cu] >> 5 & 7 if notice_ballot else 0)
                if notice in msgs:
                    yield (("HandleCommitNotice", (("r", r), ("m", decode_message(notice, slots)))),
                           (msgs, put(execute(node, cu, insts[cu] >> 2 & 7)), pending, observed,
                            done))
        if all(done):
            yield ("Terminating", ()), s

    return successors


def canonicalizer(cfg: Config) -> Callable[[FastState], Any]:
    """:mod:`quorum.spec.multipaxos.symmetry`'s canonical form, on packed states."""
    n = cfg.replicas

    def canonicalize(s: FastState) -> Any:
        msgs, nodes, pending, observed, done = s
        sent: list[list[int]] = [[] for _ in range(n)]
        notices = []
        for m in msgs:
            if m & 7 == COMMIT_NOTICE:
                notices.append(m)
            else:
                sent[m >> 3 & 7].append(m & SRC_MASK)
        for mine in sent:
            mine.sort()
        sigs = []
        for r in range(n):
            node = nodes[r]
            lead = -1 if node[0] < 0 else (0 if node[0] == r else 1)
            sigs.append(((lead,) + node[1:], done[r], sent[r], r))
        sigs.sort()
        groups = [[sig[3] for sig in g] for _, g in itertools.groupby(sigs, key=lambda x: x[:3])]
        best: Any = None
        for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
            order = [r for group in choice for r in group]
            p = [0] * n
            for q, r in enumerate(order):
                p[r] = q
            packed = sorted(notices + [m | p[r] << 3 for r in range(n) for m in sent[r]])
            renamed = tuple((nodes[r][0] if nodes[r][0] < 0 else p[nodes[r][0]],) + nodes[r][1:]
                            for r in order)
            key = (tuple(packed), renamed, pending, observed, tuple(done[r] for r in order))
            if best is None or key < best:
                best = key
        return best

    return canonicalize
