"""Single-server membership changes (Ongaro's thesis, section 4.1, with the 2015 fix).

Theory of operation.  A configuration change is an ordinary log entry of type
``CONF_CHANGE`` whose data is a :class:`~quorum.impl.raft.types.ConfChange` (encoded by
:mod:`quorum.impl.raft.codec`).  As in etcd-raft, a member adopts the new configuration when the
application *applies* the committed entry and calls ``RawNode.apply_conf_change``, not
when the entry is appended.  Safety of adding or removing one voter at a time rests on any
majority of the old configuration overlapping any majority of the new one (thesis,
section 4.1), which needs two rules the leader enforces (see ``raft.py``):

1. only one change may be pending (proposed but not yet applied) at a time;
2. a new leader proposes no change until it has committed an entry of its own term
   (Ongaro, raft-dev, 10 July 2015: otherwise a change proposed by a deposed leader and a
   change of the new leader can both take effect with disjoint majorities).

A learner receives the log but does not vote or count in quorums; ``ADD_NODE`` of a
learner promotes it.  ``REMOVE_NODE`` of the last voter is refused.
"""

from __future__ import annotations

from .errors import RaftError
from .types import ConfChange, ConfChangeType, ConfState

__all__ = ["ConfChangeError", "apply_change"]


class ConfChangeError(RaftError):
    """A configuration change that cannot be applied (e.g. removing the last voter)."""


def _add_node(voters: set[int], learners: set[int], node: int) -> None:
    learners.discard(node)
    voters.add(node)


def _remove_node(voters: set[int], learners: set[int], node: int) -> None:
    voters.discard(node)
    learners.discard(node)


def _add_learner(voters: set[int], learners: set[int], node: int) -> None:
    voters.discard(node)  # demoting a voter is removing it from the voters
    learners.add(node)


_APPLY = {
    ConfChangeType.ADD_NODE: _add_node,
    ConfChangeType.REMOVE_NODE: _remove_node,
    ConfChangeType.ADD_LEARNER: _add_learner,
}


def apply_change(cs: ConfState, cc: ConfChange) -> ConfState:
    """The configuration after ``cc``; changes that change nothing are no-ops."""
    if cs.voters_outgoing:
        raise ConfChangeError("joint configurations are not supported by this core")
    if cc.node_id <= 0:
        raise ConfChangeError(f"invalid node id {cc.node_id}")
    voters, learners = set(cs.voters), set(cs.learners)
    _APPLY[cc.type](voters, learners, cc.node_id)
    if not voters and cs.voters:
        raise ConfChangeError(f"removing {cc.node_id} would leave no voters")
    return ConfState(voters=tuple(sorted(voters)), learners=tuple(sorted(learners)))
