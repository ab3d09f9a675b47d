"""Sequence charts (model_checker/chart.py) and explained traces (model_checker/explain.py)
on pinned counterexamples of the Paxos and Raft mutants: the SVG's structure is parsed and
counted, so a change to the drawing or to a spec's chart hooks shows up here."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from helpers.specs import build
from quorum.model_checker.chart import chart_svg, collect, explained_chart
from quorum.model_checker.explain import explain, format_explanation
from quorum.model_checker.explicit.bfs import check
from quorum.spec.paxos import SPEC as PAXOS
from quorum.spec.raft import SPEC as RAFT

NS = {"s": "http://www.w3.org/2000/svg"}


def _violation(spec, mutant, prop):
    return _found({"paxos": PAXOS, "raft": RAFT}[spec], mutant, prop)


_CACHE: dict = {}


def _found(spec, mutant, prop):
    if (spec.name, mutant) in _CACHE:
        return _CACHE[spec.name, mutant]
    model = build(spec, mutant)
    result = check(model, properties=[prop])
    assert result.violation is not None
    _CACHE[spec.name, mutant] = model, result.violation
    return model, result.violation


def _groups(root, cls):
    return [g for g in root.iter("{http://www.w3.org/2000/svg}g")
            if cls in g.get("class", "").split()]


def test_paxos_chart_lanes_arrows_and_highlighted_state():
    model, v = _violation("paxos", "vote-below-promise", "Agreement")
    assert v.length == 13
    root = ET.fromstring(chart_svg(explained_chart(model, v)))
    lanes = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")
             if t.get("class") == "lane-label"]
    assert lanes == ["p0", "p1", "a1", "a2", "a3", "learner"]
    assert len(root.findall(".//s:line[@class='lane']", NS)) == 6
    assert len(_groups(root, "row")) == 13
    msgs = _groups(root, "msg")
    # 2 1a (one arrow per acceptor that read it: 4), 4 1b read by their proposers,
    # 2 2a read by 4 votes, 4 2b handed to the learner
    assert len(msgs) == 16
    assert not _groups(root, "in-flight") and not _groups(root, "dropped")
    violation = _groups(root, "violation")
    assert len(violation) == 1
    assert "Agreement violated in state 13" in "".join(violation[0].itertext())
    rect = violation[0].find("s:rect", NS)
    assert rect is not None and float(rect.get("y")) == 64 + 38 * 12
    notes = ["".join(g.itertext()) for g in _groups(root, "note")]
    assert len(notes) == 2 and all("promised ballot 1" in n for n in notes)
    chosen = [g.find("s:text", NS).text for g in _groups(root, "local")]
    assert chosen == ["v1 chosen in b=0", "v2 chosen in b=1"]


def test_raft_chart_bag_messages_and_in_flight():
    model, v = _violation("raft", "forget-vote", "ElectionSafety")
    assert v.length == 19
    chart = explained_chart(model, v)
    assert chart.lanes == ["s1", "s2", "s3"]
    assert chart.rows[5] == "Receive s1->s1: HandleRequestVoteRequest"
    kinds = [a.kind for a in chart.arrows]
    assert kinds == ["msg"] * 8  # 4 RequestVote requests and their 4 responses
    assert list(chart.notes) == [9]  # state 10: the Restart that forgets the vote
    root = ET.fromstring(chart_svg(chart))
    assert len(_groups(root, "msg")) == 8 and len(_groups(root, "violation")) == 1


def test_undelivered_and_dropped_messages_are_drawn_as_such():
    model = build(RAFT)
    s0 = next(iter(model.initial_states()))
    trace = [(None, s0)]
    for want in ("Timeout", "RequestVote", "DropMessage", "RequestVote"):
        label, t = next((lab, t) for lab, t in model.successors(trace[-1][1])
                        if lab[0] == want and t != trace[-1][1])
        trace.append((label, t))
    from quorum.model_checker.result import Step

    chart = collect(model, [Step(lab, s) for lab, s in trace])
    assert [a.kind for a in chart.arrows] == ["dropped", "in-flight"]
    root = ET.fromstring(chart_svg(chart))
    assert len(_groups(root, "dropped")) == 1 and len(_groups(root, "in-flight")) == 1
    assert not _groups(root, "violation")


def test_paxos_explanation_names_the_rule_and_the_witness():
    model, v = _violation("paxos", "ceil-quorum", "Agreement")
    e = explain(model, v)
    assert sorted(e.steps) == [7, 9]
    assert e.steps[7] == ["Paxos.tla refuses: a quorum is a majority, floor(4/2)+1 = 3 of 4 "
                          "acceptors, and only {a1,a2} sent 1b for ballot 0 (the mutant's "
                          "rule quorum_size allows it)"]
    assert e.witness == ["two values are chosen: v1 by {a3,a4} in ballot 0, "
                         "v2 by {a1,a2} in ballot 1"]
    text = format_explanation(e, v.length)
    assert "Milestones:" in text and "state 13: v1 chosen by {a3,a4} in ballot 0" in text


def test_raft_explanation_of_a_lost_vote():
    model, v = _violation("raft", "forget-vote", "ElectionSafety")
    e = explain(model, v)
    assert list(e.steps) == [10]
    assert "s2 had voted for s1" in e.steps[10][0]
    assert e.witness == ["two leaders in term 2: s1 (votes {s1,s2}) and s3 (votes {s2,s3})"]
    assert e.milestones == [(10, "s2 restarts"), (13, "s1 becomes leader of term 2 (votes {s1,s2})"),
                            (19, "s3 becomes leader of term 2 (votes {s2,s3})")]


def test_no_explanation_for_the_correct_protocol():
    model = build(PAXOS)
    s0 = next(iter(model.initial_states()))
    label, t = next(iter(model.successors(s0)))
    assert model.explain_step(s0, label, t) == []


def test_up_to_date_check_reason_from_the_rule():
    from quorum.spec.raft.explain import REASONS
    from quorum.spec.raft.tla.state import REQUEST_VOTE_REQUEST, RequestVoteRequest

    model = build(RAFT, "no-up-to-date-check")
    s = next(iter(model.initial_states()))
    s = s._replace(log=((), ((2, 0),), ()))
    m = RequestVoteRequest(REQUEST_VOTE_REQUEST, 3, 0, 0, 0, 1)
    assert REASONS["vote_log_ok"](model, s, {"m": m}).startswith(
        "Raft refuses the vote: candidate's last term 0 < voter's 2")


def test_state_machine_safety_witness_names_the_index():
    from quorum.spec.raft.explain import explain_violation

    model = build(RAFT, "commit-old-term")
    s = next(iter(model.initial_states()))
    s = s._replace(log=(((3, 0),), ((2, 0),), ()), commit_index=(1, 1, 0))
    assert explain_violation(model, s, "StateMachineSafety")[0] == (
        "s1 and s2 committed different entries at index 1: 3:v1 and 2:v1")
