"""Raft's liveness under weak fairness, and what a bounded model can and cannot say.

raft.tla's safety does not depend on timing, but its liveness does: a leader is elected
only if some candidate eventually gets a quorum of votes, which real Raft ensures with
randomized election timeouts (Ongaro and Ousterhout 2014, section 5.2).  A TLA+ model has
no clocks, and a bounded one has a last term: at ``max_term`` no server may time out
again, so a split vote there can never be resolved.  These tests pin both verdicts.
"""

from __future__ import annotations

from quorum.model_checker.explicit.liveness import check_liveness
from quorum.spec.raft import SPEC

LEADER = 2  # quorum.spec.raft.tla.state.LEADER


def raft(**bounds):
    values = {**SPEC.defaults(), "servers": 2, "values": 1, "max_term": 2, "max_log": 0,
              "max_msgs": 1, **bounds}
    return SPEC.build(values, None, False)


def test_raft_declares_eventually_leader_under_weak_fairness():
    model = raft()
    assert set(model.liveness) == {"EventuallyLeader"}
    assert [name for name, _ in model.fairness] == [
        "WF(Timeout(i)), WF(RequestVote(i, j)), WF(BecomeLeader(i)), WF(Receive(m)) for all"
        " i, j, m"]


def test_lost_messages_defeat_weak_fairness():
    # DropMessage is not fair: a request dropped every time it is sent is never
    # continuously receivable, so WF(Receive(m)) does not force its delivery.
    v = check_liveness(raft()).violation
    assert v is not None and v.property == "EventuallyLeader"
    assert v.trace[-1].action.startswith("DropMessage(")
    assert "cycle_returns_to_state" in v.provenance


class ReliableRaft:
    """The same model without DropMessage, DuplicateMessage and Restart."""

    def __init__(self, model):
        self.inner = model
        for name in ("name", "invariants", "action_properties", "reachability",
                     "canonicalize", "view", "liveness", "fairness", "render_label"):
            setattr(self, name, getattr(model, name))

    def initial_states(self):
        return self.inner.initial_states()

    def successors(self, s):
        return ((lab, t) for lab, t in self.inner.successors(s)
                if lab[0] not in ("DropMessage", "DuplicateMessage", "Restart"))

    def within_bounds(self, s):
        return self.inner.within_bounds(s)

    def render(self, s):
        return self.inner.render(s)


def test_a_split_vote_at_the_last_term_is_never_resolved():
    # Even on a reliable network without crashes: both servers time out into term 2,
    # each votes for itself, neither can win, and term 3 is outside the bounds.
    v = check_liveness(ReliableRaft(raft())).violation
    last = v.trace[-1].state
    assert last.current_term == (2, 2) and last.voted_for == (0, 1)
    assert LEADER not in last.role and "stutters_in_state" in v.provenance
    assert [s.action for s in v.trace[1:3]] == ["Timeout(i='s1')", "Timeout(i='s2')"]
