"""The leader's timers and the requests made of a node (propose, transfer, reports).

Proposals on a non-leader: a follower that knows its leader forwards them (``PROPOSE``)
and returns; the leader may still drop a forwarded proposal silently (it stepped down,
or a transfer or conf change is pending), so the application must time out and retry.
With no known leader, ``propose`` raises :class:`~quorum.impl.raft.errors.ProposalDropped`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from quorum.impl.mutants import Mutant

from . import readonly, replication
from .errors import NotLeader, ProposalDropped
from .progress import ProgressState
from .types import NONE, Entry, EntryType, Message, MessageType, Role

if TYPE_CHECKING:
    from .raft import Raft

__all__ = ["after_conf_change", "handle_forwarded_propose", "handle_forwarded_read_index",
           "propose", "read_index", "report_snapshot", "report_unreachable", "tick_heartbeat",
           "transfer_leader"]

MT = MessageType


def tick_heartbeat(r: Raft) -> None:
    """Leader tick: heartbeats, check-quorum each election timeout (thesis 6.2)."""
    r.heartbeat_elapsed += 1
    r.election_elapsed += 1
    _age_snapshots(r)
    if r.election_elapsed >= r.cfg.election_tick:
        r.election_elapsed = 0
        if r.cfg.check_quorum and not _check_quorum(r):
            r.become_follower(r.term, NONE)
            return
        r.lead_transferee = NONE  # a transfer that took a whole election timeout failed
    if r.heartbeat_elapsed >= r.cfg.heartbeat_tick:
        r.heartbeat_elapsed = 0
        replication.bcast_heartbeat(r)


def _check_quorum(r: Raft) -> bool:
    """Did a quorum answer us in the last election timeout?  Then start a new round."""
    active = r.tracker.quorum_active()
    for i, pr in r.tracker.progress.items():
        pr.recent_active = i == r.id
    return active


def _age_snapshots(r: Raft) -> None:
    """A snapshot unacknowledged for ``snapshot_timeout`` ticks is taken as lost."""
    for pr in r.tracker.progress.values():
        if pr.state is ProgressState.SNAPSHOT:
            pr.snapshot_ticks += 1
            if pr.snapshot_ticks >= r.cfg.snapshot_timeout:
                pr.pending_snapshot = 0
                pr.become_probe()


def propose(r: Raft, ents: Sequence[Entry]) -> None:
    """Append on the leader; forward from a follower; else raise ProposalDropped."""
    if r.role is Role.LEADER:
        _leader_propose(r, ents)
    elif r.role is Role.FOLLOWER and r.lead != NONE:
        r.send(MT.PROPOSE, r.lead, entries=tuple(ents))
    else:
        raise ProposalDropped(f"node {r.id} knows no leader (role {r.role.name})")


def _leader_propose(r: Raft, ents: Sequence[Entry]) -> None:
    if r.id not in r.tracker.progress:
        raise ProposalDropped(f"leader {r.id} was removed from the configuration")
    if r.lead_transferee != NONE:
        raise ProposalDropped(f"leadership is being transferred to {r.lead_transferee}")
    for k, e in enumerate(ents):
        if e.type is EntryType.CONF_CHANGE:
            if r.pending_conf_index > r.log.applied \
                    and Mutant.SECOND_CONF_CHANGE not in r.mutants:
                raise ProposalDropped(
                    "a configuration change is pending, or no entry of this term is "
                    f"applied yet (pending index {r.pending_conf_index}, "
                    f"applied {r.log.applied})")
            r.pending_conf_index = r.log.last_index() + 1 + k
    r.append_entries(list(ents))


def handle_forwarded_propose(r: Raft, m: Message) -> None:
    try:
        _leader_propose(r, m.entries)
    except ProposalDropped:
        pass  # the follower's client times out and retries


def read_index(r: Raft, context: bytes) -> None:
    """ReadIndex (thesis 6.4): served by the leader; forwarded by a follower."""
    if r.role is Role.LEADER:
        readonly.serve_read_index(r, r.id, context)
    elif r.role is Role.FOLLOWER and r.lead != NONE:
        r.send(MT.READ_INDEX, r.lead, context=context)
    else:
        raise ProposalDropped(f"node {r.id} knows no leader to confirm a read")


def handle_forwarded_read_index(r: Raft, m: Message) -> None:
    readonly.serve_read_index(r, m.frm, m.context)


def transfer_leader(r: Raft, to: int) -> None:
    """Leadership transfer (thesis 3.10): bring ``to`` up to date, then TIMEOUT_NOW.

    Proposals are refused during the transfer; it is abandoned after an election timeout.
    """
    if r.role is not Role.LEADER:
        raise NotLeader(r.lead, "leadership transfer")
    pr = r.tracker.progress.get(to)
    if pr is None or pr.learner:
        raise ProposalDropped(f"cannot transfer leadership to non-voter {to}")
    if to == r.id or to == r.lead_transferee:
        return
    r.election_elapsed = 0
    r.lead_transferee = to
    if pr.match == r.log.last_index():
        replication.send_timeout_now(r, to)
    else:
        replication.send_append(r, to)


def after_conf_change(r: Raft) -> None:
    """Leader after a configuration change took effect (thesis 4.2.2)."""
    if not r.tracker.is_voter(r.id):
        r.become_follower(r.term, NONE)  # removed: step down, the others elect a leader
        return
    if r.lead_transferee != NONE and r.lead_transferee not in r.tracker.progress:
        r.lead_transferee = NONE
    replication.maybe_commit(r)  # a smaller quorum may commit more
    replication.bcast_append(r)  # and new members start being probed


def report_unreachable(r: Raft, to: int) -> None:
    """The driver could not reach ``to``: stop pipelining, probe again."""
    pr = r.tracker.progress.get(to)
    if r.role is Role.LEADER and pr is not None and pr.state is ProgressState.REPLICATE:
        pr.become_probe()


def report_snapshot(r: Raft, to: int, ok: bool) -> None:
    """The driver finished (``ok``) or failed sending ``to`` a snapshot."""
    pr = r.tracker.progress.get(to)
    if r.role is not Role.LEADER or pr is None or pr.state is not ProgressState.SNAPSHOT:
        return
    if not ok:
        pr.pending_snapshot = 0
    pr.become_probe()
    pr.probe_sent = True  # wait for the next heartbeat answer before probing
