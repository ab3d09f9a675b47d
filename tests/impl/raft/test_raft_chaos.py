"""Seeded random schedules over the in-process harness, checking the paper's safety
properties after every step (Figure 3): Election Safety (one leader per term) and State
Machine Safety (no two servers commit different entries at one index), plus two action
properties of single steps (the commit guard and the stale-term rule, see Checker).

This is a small cousin of issue 5's simulator, kept here to show that the core is safe
under drops, partitions, restarts, compaction and membership changes, that the same seed
replays the same run, and that each core log mutant is caught by the same generic
schedules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from quorum.impl.mutants import Mutant
from quorum.impl.raft.confchange import ConfChangeError
from quorum.impl.raft.errors import PanicError, ProposalDropped
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import ConfChange, ConfChangeType, Role


class SafetyViolation(AssertionError):
    pass


@dataclass
class Checker:
    """Election Safety and State Machine Safety, checked incrementally, and one action
    property: a leader that stays leader of its term advances its commit index only to an
    entry of that term (the guard of raft.tla's AdvanceCommitIndex; paper 5.4.2)."""

    leaders: dict[int, int] = field(default_factory=dict)  # term -> leader
    committed: dict[int, int] = field(default_factory=dict)  # index -> term
    checked: dict[int, int] = field(default_factory=dict)  # node -> committed index checked
    before: dict[int, tuple[Role, int, int]] = field(default_factory=dict)

    def check(self, net: Network) -> None:
        for i, node in net.nodes.items():
            r = node.raft
            now = (r.role, r.term, r.log.committed)
            was = self.before.get(i)
            self.before[i] = now
            if (was is not None and was[:2] == now[:2] and r.role is Role.LEADER
                    and now[2] > was[2] and r.log.term(now[2]) != r.term):
                raise SafetyViolation(f"leader {i} of term {r.term} committed index "
                                      f"{now[2]} of term {r.log.term(now[2])} by counting")
            if r.role is Role.LEADER and self.leaders.setdefault(r.term, i) != i:
                raise SafetyViolation(f"two leaders in term {r.term}: "
                                      f"{self.leaders[r.term]} and {i}")
            lo = max(self.checked.get(i, 0) + 1, r.log.first_index())
            for idx in range(lo, r.log.committed + 1):
                t = r.log.term(idx)
                if self.committed.setdefault(idx, t) != t:
                    raise SafetyViolation(f"index {idx} committed with terms "
                                          f"{self.committed[idx]} and {t} (node {i})")
            self.checked[i] = r.log.committed

    def deliver_one(self, net: Network) -> None:
        """Deliver the next message; a message of an older term must not change the
        receiver's log (Figure 2, AppendEntries receiver rule 1)."""
        net.process_all()
        before = {i: (n.raft.term, n.raft.log.last_index(), n.raft.log.last_term())
                  for i, n in net.nodes.items()}
        if not net.deliver(limit=1):
            return
        m = net.delivered[-1]
        term, last, last_term = before[m.to]
        r = net.nodes[m.to].raft
        if m.term < term and (r.log.last_index(), r.log.last_term()) != (last, last_term):
            raise SafetyViolation(f"node {m.to} in term {term} changed its log on a "
                                  f"message of term {m.term}")


def run(seed: int, steps: int, mutants: frozenset[Mutant] = frozenset(), n: int = 3,
        eager_commit: bool = True) -> Network:
    """A random schedule: ticks, partial delivery with drops, partitions, proposals,
    restarts and compactions; raises SafetyViolation on the first broken property."""
    rng = random.Random(seed)
    net = Network(range(1, n + 1), seed=seed, mutants=mutants, election_tick=4,
                  eager_commit=eager_commit,
                  max_msg_entries=rng.choice([1, 2, 8]), pre_vote=rng.random() < 0.7,
                  check_quorum=rng.random() < 0.7)
    ids = sorted(net.nodes)
    checker = Checker()
    loss = rng.choice([0.0, 0.1, 0.3])
    net.drop = lambda m: rng.random() < loss
    for step in range(steps):
        action = rng.random()
        if action < 0.35:
            net.nodes[rng.choice(ids)].tick()
        elif action < 0.7:
            for _ in range(rng.randint(1, 6)):
                checker.deliver_one(net)
        elif action < 0.8:
            try:
                net.nodes[rng.choice(ids)].propose(b"s%d" % step)
            except ProposalDropped:
                pass
        elif action < 0.87:
            net.cut_links.clear()
            if rng.random() < 0.4:
                net.isolate(rng.choice(ids))
            elif rng.random() < 0.7:
                net.cut(*rng.sample(ids, 2))
        elif action < 0.9:
            net.restart(rng.choice(ids))
        elif action < 0.92:
            i = rng.choice(ids)
            if net.sms[i].applied_index > net.storages[i].first_index():
                net.compact(i)
        else:
            rng.shuffle(net.queue)  # reordering
        net.process_all()
        checker.check(net)
    return net


def _heal_and_settle(net: Network, ticks: int = 200) -> None:
    net.heal()
    net.drop = None
    for _ in range(ticks):
        net.tick()
        leaders = net.leaders()
        top = max(n.raft.term for n in net.nodes.values())  # not a deposed leader
        if len(leaders) == 1 and net.nodes[leaders[0]].raft.term == top \
                and len({net.sms[i].applied_index for i in net.nodes}) == 1:
            return


@pytest.mark.parametrize("seed", range(12))
def test_random_schedules_keep_safety_and_converge(seed: int) -> None:
    net = run(seed, steps=400)
    _heal_and_settle(net)
    (leader,) = net.leaders()
    net.propose(leader, b"final")
    assert all(net.commands(i) == net.commands(leader) for i in net.nodes)
    assert net.commands(leader)[-1] == b"final"


@pytest.mark.parametrize("seed", range(12))
def test_random_schedules_without_commit_notices_keep_safety_and_converge(seed: int) -> None:
    """The same schedules with ``eager_commit=False`` (the member's setting): followers
    learn the commit index from later AppendEntries and heartbeats only."""
    net = run(seed, steps=400, eager_commit=False)
    _heal_and_settle(net)
    (leader,) = net.leaders()
    net.propose(leader, b"final")
    assert all(net.commands(i) == net.commands(leader) for i in net.nodes)
    assert net.commands(leader)[-1] == b"final"


def test_the_same_seed_replays_the_same_run() -> None:
    a, b, c = run(5, steps=600), run(5, steps=600), run(6, steps=600)
    assert a.delivered == b.delivered and len(a.delivered) > 50
    assert a.delivered != c.delivered


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12, 60))
def test_many_more_random_schedules(seed: int) -> None:
    net = run(seed, steps=1500, n=5 if seed % 2 else 3)
    _heal_and_settle(net)
    assert len(net.leaders()) == 1


def _first_violation(mutant: Mutant, seeds: range, steps: int, n: int) -> int | None:
    for seed in seeds:
        try:
            run(seed, steps, frozenset({mutant}), n=n)
        except (AssertionError, PanicError):  # a safety property or a core invariant broke
            return seed
    return None


LOG_MUTANTS = [Mutant.COMMIT_OLD_TERM, Mutant.NO_TRUNCATE, Mutant.STALE_APPEND]


@pytest.mark.parametrize("mutant", LOG_MUTANTS, ids=str)
def test_each_log_mutant_is_caught_by_generic_schedules(mutant: Mutant) -> None:
    """The same schedules, with no knowledge of the bug, catch every log mutant: the
    action properties (the commit guard, the stale-term rule) catch commit-old-term and
    stale-append at the faulty step (about one 600-step run in three and one in
    fifteen), long before the state properties would (Figure 8's history is rare)."""
    assert _first_violation(mutant, range(40), steps=600, n=5) is not None


@pytest.mark.slow
@pytest.mark.parametrize("mutant", LOG_MUTANTS, ids=str)
def test_each_log_mutant_is_caught_with_three_nodes(mutant: Mutant) -> None:
    assert _first_violation(mutant, range(150), steps=600, n=3) is not None


def run_with_membership(seed: int, steps: int) -> Network:
    """Like :func:`run`, plus random single-server changes among nodes 1-5 (1-3 start as
    the voters, 4 and 5 empty): adds, removals, learners, and re-adding removed nodes."""
    rng = random.Random(seed)
    net = Network([1, 2, 3], bootstrap=True, seed=seed, election_tick=4, max_msg_entries=2)
    for i in (4, 5):
        net.add_node(i)
    ids = [1, 2, 3, 4, 5]
    checker = Checker()
    net.drop = lambda m: rng.random() < 0.1
    kinds = list(ConfChangeType)
    for step in range(steps):
        action = rng.random()
        if action < 0.4:
            net.nodes[rng.choice(ids)].tick()
        elif action < 0.75:
            net.deliver(limit=rng.randint(1, 6))
        elif action < 0.83:
            try:
                net.nodes[rng.choice(ids)].propose(b"s%d" % step)
            except ProposalDropped:
                pass
        elif action < 0.88:
            cc = ConfChange(rng.choice(kinds), rng.choice(ids))
            try:
                net.nodes[rng.choice(ids)].propose_conf_change(cc)
            except (ProposalDropped, ConfChangeError):
                pass
        elif action < 0.94:
            net.cut_links.clear()
            if rng.random() < 0.6:
                net.isolate(rng.choice(ids))
        else:
            net.restart(rng.choice(ids))
        net.process_all()
        checker.check(net)
    return net


@pytest.mark.parametrize("seed", range(8))
def test_random_membership_changes_keep_safety(seed: int) -> None:
    """Thesis 4.1: one change at a time keeps any two majorities overlapping, so Election
    Safety and State Machine Safety hold while members come and go; afterwards the
    members agree on the configuration and the commands."""
    net = run_with_membership(seed, steps=600)
    net.heal()
    for _ in range(300):
        net.tick()
        leaders = net.leaders()
        if len(leaders) == 1:
            current = net.nodes[leaders[0]].raft.tracker.progress
            if len({net.sms[i].applied_index for i in current}) == 1:
                break
    (leader,) = net.leaders()
    members = sorted(net.nodes[leader].raft.tracker.progress)
    assert {net.nodes[i].raft.tracker.voters for i in members} == {
        net.nodes[leader].raft.tracker.voters}
    assert all(net.commands(i) == net.commands(leader) for i in members)
