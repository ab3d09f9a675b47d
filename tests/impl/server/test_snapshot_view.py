"""The member's snapshot taken in pieces (StateMachine.snapshot_view, what Node runs):
the same bytes as StateMachine.snapshot_data at the moment of the view, member table and
alarms included, while entries go on being applied."""

from __future__ import annotations

from quorum.impl.kv import Put, encode
from quorum.impl.raft.types import Entry
from quorum.impl.server.alarms import AlarmType
from quorum.impl.server.machine import StateMachine


def test_a_machine_view_is_the_snapshot_of_its_moment() -> None:
    sm = StateMachine({1: ("n1", ("http://127.0.0.1:1",))})
    sm.members.add(1, ("http://127.0.0.1:1",), "n1")
    sm.alarms.load([[1, int(AlarmType.NOSPACE)]])
    for i in range(1, 301):
        sm.apply(Entry(1, i, data=encode(Put(b"k%03d" % (i % 120), b"v" * (300 + i)))))
    before = sm.snapshot_data()
    view = sm.snapshot_view()
    assert view.applied_index == 300
    for n, _ in enumerate(view.kv.pieces(25)):
        sm.apply(Entry(1, 301 + n, data=encode(Put(b"k%03d" % n, b"later"))))
    sm.members.add(2, ("http://127.0.0.1:2",), "n2")
    data = view.finish()
    assert data == before and len(data) > 65536  # a 32-bit bin header
    twin = StateMachine()
    twin.restore(data)
    assert twin.applied == 300 and twin.snapshot_data() == before
