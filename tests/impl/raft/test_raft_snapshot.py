"""Log compaction and InstallSnapshot (Raft paper, section 7; thesis, chapter 5)."""

from __future__ import annotations

from typing import Any

from quorum.impl.raft.progress import ProgressState
from quorum.impl.raft.testing import Network
from quorum.impl.raft.types import ConfChange, ConfChangeType, Message, MessageType


def _snapshots(net: Network, to: int) -> list[Message]:
    return [m for m in net.delivered if m.type is MessageType.SNAPSHOT and m.to == to]


def _lagging_follower(**cfg: Any) -> Network:
    """3 misses ten writes; then the leader compacts its log past them."""
    net = Network([1, 2, 3], **cfg)
    net.campaign(1)
    net.isolate(3)
    for k in range(10):
        net.propose(1, b"v%d" % k)
    snap = net.compact(1)
    assert snap.meta.index == 11 and net.storages[1].first_index() == 12
    net.propose(1, b"after")
    return net


def test_a_follower_behind_the_compaction_point_catches_up_by_snapshot() -> None:
    """Section 7: the leader sends its snapshot when the follower's next entry has been
    compacted away; the follower replaces its state and log, then takes later entries."""
    net = _lagging_follower()
    net.heal()
    net.tick(n=2)
    (snap,) = _snapshots(net, 3)
    assert snap.snapshot is not None and snap.snapshot.meta.index == 11
    assert net.commands(3) == net.commands(1) == [b"v%d" % k for k in range(10)] + [b"after"]
    assert net.storages[3].first_index() == 12 and net.storages[3].last_index() == 12
    assert net.nodes[1].status().progress[3].state is ProgressState.REPLICATE


def test_a_lost_snapshot_is_sent_again_after_the_snapshot_timeout() -> None:
    """A dropped InstallSnapshot must not leave the follower stuck: after
    snapshot_timeout ticks the leader probes again and resends it."""
    net = _lagging_follower(snapshot_timeout_ticks=5)
    net.heal()
    def lost() -> list[Message]:
        return [m for m in net.dropped if m.type is MessageType.SNAPSHOT]

    net.drop = lambda m: m.type is MessageType.SNAPSHOT and not lost()
    net.tick(n=2)
    assert len(lost()) == 1
    assert net.nodes[1].status().progress[3].state is ProgressState.SNAPSHOT
    assert net.commands(3) == []
    net.drop = None
    net.tick(n=6)
    assert len(_snapshots(net, 3)) == 1  # the second one
    assert net.commands(3) == net.commands(1)


def test_a_reported_failure_makes_the_leader_probe_again() -> None:
    net = _lagging_follower()
    net.heal()
    net.drop = lambda m: m.type is MessageType.SNAPSHOT
    net.tick(n=1)
    assert net.nodes[1].status().progress[3].state is ProgressState.SNAPSHOT
    net.nodes[1].report_snapshot(3, ok=False)
    assert net.nodes[1].status().progress[3].state is ProgressState.PROBE
    net.drop = None
    net.tick(n=2)
    assert net.commands(3) == net.commands(1)


def test_a_restarted_node_rebuilds_from_its_snapshot_and_log() -> None:
    """After a crash the driver restores the state machine from the snapshot and the
    core hands back the committed entries after it (config.applied = snapshot index)."""
    net = _lagging_follower()
    net.restart(1)
    assert net.commands(1) == [b"v%d" % k for k in range(10)]  # from the snapshot
    net.process_all()
    assert net.commands(1)[-1] == b"after"  # entry 12 applied again from the log
    net.heal()
    net.tick(n=30)
    assert len(net.leaders()) == 1
    assert net.commands(3) == net.commands(1) == net.commands(2)


def test_a_follower_holding_the_entries_only_fast_forwards_its_commit() -> None:
    """A snapshot whose last entry the follower already has (same term) is not
    installed; the follower just learns the commit index."""
    net = Network([1, 2, 3])
    net.campaign(1)
    net.propose(1, b"x")
    snap = net.compact(1)
    node2 = net.nodes[2]
    node2.raft.log.committed = 1  # as if it had not yet learned the commit of index 2
    node2.step(Message(MessageType.SNAPSHOT, to=2, frm=1, term=1, snapshot=snap))
    assert node2.raft.log.unstable.snapshot is None
    assert node2.raft.log.committed == 2


def test_a_crashed_follower_restarts_behind_the_compaction_point() -> None:
    """Issue 4's CI scenario in miniature: a follower is down while the leader writes and
    compacts; on restart it holds an old log, gets the snapshot, then the rest."""
    net = Network([1, 2, 3])
    net.campaign(1)
    net.propose(1, b"early")
    net.isolate(3)
    for k in range(6):
        net.propose(1, b"m%d" % k)
    net.compact(1)
    net.restart(3)
    net.process_all()
    assert net.commands(3) == [b"early"]  # its own state, replayed from its storage
    net.heal()
    net.tick(n=3)
    assert len(_snapshots(net, 3)) == 1
    assert net.commands(3) == net.commands(1)


def test_a_new_member_joins_from_a_snapshot_that_holds_the_configuration() -> None:
    """A member added after compaction never sees the bootstrap entries: the snapshot's
    configuration (which the leader took after applying the add) tells it the members."""
    net = Network([1, 2, 3], bootstrap=True)
    net.campaign(1)
    net.propose(1, b"x")
    net.nodes[1].propose_conf_change(ConfChange(ConfChangeType.ADD_NODE, 4))
    net.stabilize()
    snap = net.compact(1)
    assert snap.meta.conf_state.voters == (1, 2, 3, 4)
    net.add_node(4)
    net.tick(n=3)
    assert len(_snapshots(net, 4)) == 1
    assert net.nodes[4].raft.tracker.voters == (1, 2, 3, 4) and net.commands(4) == [b"x"]
    net.propose(1, b"y")
    assert net.commands(4) == [b"x", b"y"]
