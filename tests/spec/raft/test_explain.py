"""quorum.spec.raft.explain's ``step_note``: a printed ``Receive(m=...)`` names the
raft.tla handler it runs, with HandleAppendEntriesRequest's branch (raft.tla's comments)."""

from __future__ import annotations

from collections import Counter
from functools import partial

from helpers.specs import build as build_spec
from helpers.specs import reachable
from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.trace import format_trace
from quorum.spec.raft import SPEC
from quorum.spec.raft.snapshots import (
    INSTALL_SNAPSHOT_REQUEST,
    InstallSnapshotRequest,
    initial_snap_state,
)
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    FOLLOWER,
    LEADER,
    AppendEntriesRequest,
    initial_state,
    with_message,
    with_messages,
)

build = partial(build_spec, SPEC)


def _receive_notes(model) -> Counter:
    notes: Counter = Counter()
    for s in reachable(model, bounded=True):
        for label, t in model.successors(s):
            if label[0] == "Receive":
                notes[model.step_note(s, label, t)] += 1
            else:
                assert model.step_note(s, label, t) is None
    return notes


def test_every_receive_of_two_servers_three_terms_names_its_handler():
    # all of raft.tla's handlers but the conflict branch (it needs three servers)
    assert _receive_notes(build(servers=2, max_term=3)) == {
        "UpdateTerm": 948,
        "DropStaleResponse": 472,
        "HandleRequestVoteRequest": 6442,
        "HandleRequestVoteResponse": 4468,
        "HandleAppendEntriesRequest (reject)": 388,
        "HandleAppendEntriesRequest (return to follower)": 240,
        "HandleAppendEntriesRequest (accept: already done)": 634,
        "HandleAppendEntriesRequest (accept: append)": 84,
        "HandleAppendEntriesResponse": 624,
    }


def _receive(model, s, m):
    s = with_messages(s, with_message(s.messages, m))
    [(label, t)] = [(lb, t) for lb, t in model.successors(s)
                    if lb[0] == "Receive" and dict(lb[1])["m"] == m]
    return model.step_note(s, label, t)


def test_conflict_branch_and_install_snapshot():
    model = build(servers=2, max_log=2)
    # s2 holds 1:v1 at index 1; s1, leader of term 2, sends 2:v1 there
    s = initial_state(2)._replace(role=(LEADER, FOLLOWER), current_term=(2, 2),
                                  log=(((2, 0),), ((1, 0),)))
    m = AppendEntriesRequest(APPEND_ENTRIES_REQUEST, 2, 0, 0, ((2, 0),), ((2, 0),), 0, 0, 1)
    assert _receive(model, s, m) == "HandleAppendEntriesRequest (accept: conflict)"
    snap = build(servers=2, max_log=2, snapshots=True)
    s2 = initial_snap_state(2)._replace(role=(LEADER, FOLLOWER), current_term=(2, 2),
                                        log=(((2, 0),), ()), commit_index=(1, 0),
                                        snapshot_index=(1, 0))
    install = InstallSnapshotRequest(INSTALL_SNAPSHOT_REQUEST, 2, 1, 2, ((2, 0),), 0, 1)
    assert _receive(snap, s2, install) == "HandleInstallSnapshotRequest"


def test_printed_trace_names_handlers_and_labels_stay():
    # ceil-quorum: both servers lead term 2, each on its own vote
    model = build(mutant="ceil-quorum")
    v = check(model).violation
    receives = [line for line in format_trace(model, v.trace).splitlines()
                if ": Receive(" in line]
    assert receives == [
        "5: Receive(m='RequestVoteRequest(s1->s1, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')"
        " -> HandleRequestVoteRequest",
        "6: Receive(m='RequestVoteResponse(s1->s1, mterm=2, mvoteGranted=True)')"
        " -> HandleRequestVoteResponse",
        "9: Receive(m='RequestVoteRequest(s2->s2, mterm=2, mlastLogTerm=0, mlastLogIndex=0)')"
        " -> HandleRequestVoteRequest",
        "10: Receive(m='RequestVoteResponse(s2->s2, mterm=2, mvoteGranted=True)')"
        " -> HandleRequestVoteResponse",
    ]
    # the labels themselves (--json, ITF, quorum replay) keep no note and every field
    assert v.trace[5].action == (
        "Receive(m='RequestVoteResponse(s1->s1, mterm=2, mvoteGranted=True, mlog=<<>>)')")
