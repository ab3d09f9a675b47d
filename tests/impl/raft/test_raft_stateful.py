"""Hypothesis drives a 3-node cluster through arbitrary schedules and shrinks any failure
to a minimal one (a Hypothesis rule-based state machine; the checked properties are the
Raft paper's Figure 3: Election Safety and State Machine Safety, plus Log Matching on the
committed prefix)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from quorum.impl.raft.errors import ProposalDropped
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import Role

NODES = st.sampled_from([1, 2, 3])


class RaftCluster(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.net = Network([1, 2, 3], election_tick=3, max_msg_entries=1)
        self.leaders: dict[int, int] = {}  # term -> the one leader seen in it
        self.committed: dict[int, int] = {}  # index -> term, over every node and time
        self.writes = 0

    @rule(node=NODES, n=st.integers(1, 4))
    def tick(self, node: int, n: int) -> None:
        for _ in range(n):
            self.net.nodes[node].tick()
        self.net.process_all()

    @rule(n=st.integers(1, 8))
    def deliver(self, n: int) -> None:
        self.net.deliver(limit=n)

    @rule(k=st.integers(0, 20))
    def lose(self, k: int) -> None:
        if self.net.queue:
            self.net.dropped.append(self.net.queue.pop(k % len(self.net.queue)))

    @rule(k=st.integers(0, 20))
    def delay(self, k: int) -> None:
        """Move one message to the back of the queue (reordering)."""
        if self.net.queue:
            self.net.queue.append(self.net.queue.pop(k % len(self.net.queue)))

    @rule(node=NODES)
    def propose(self, node: int) -> None:
        self.writes += 1
        try:
            self.net.nodes[node].propose(b"w%d" % self.writes)
        except ProposalDropped:
            pass
        self.net.process_all()

    @rule(node=NODES)
    def isolate(self, node: int) -> None:
        self.net.heal()
        self.net.isolate(node)

    @rule()
    def heal(self) -> None:
        self.net.heal()

    @rule(node=NODES)
    def restart(self, node: int) -> None:
        self.net.restart(node)

    @rule(node=NODES)
    def compact(self, node: int) -> None:
        if self.net.sms[node].applied_index > self.net.storages[node].first_index():
            self.net.compact(node)

    @invariant()
    def election_safety(self) -> None:
        for i, node in self.net.nodes.items():
            r = node.raft
            if r.role is Role.LEADER:
                assert self.leaders.setdefault(r.term, i) == i, f"two leaders in term {r.term}"

    @invariant()
    def state_machine_safety(self) -> None:
        for node in self.net.nodes.values():
            log = node.raft.log
            for idx in range(log.first_index(), log.committed + 1):
                t = log.term(idx)
                assert self.committed.setdefault(idx, t) == t, f"index {idx} changed term"

    @invariant()
    def applied_prefixes_agree(self) -> None:
        logs = sorted((self.net.commands(i) for i in self.net.nodes), key=len)
        for shorter, longer in zip(logs, logs[1:], strict=False):
            assert longer[: len(shorter)] == shorter


TestRaftCluster = RaftCluster.TestCase
TestRaftCluster.settings = settings(max_examples=25, stateful_step_count=50, deadline=None)
