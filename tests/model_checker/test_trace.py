"""Printed traces: a model's labels carry raw values and its ``render_label`` names them.

A label is data the model reads back (a trace replays from its labels); how it reads
to a person is the model's business, as states are (``render``).  Everything the
checker prints or exports goes through the model's ``render_label``, and nothing else
changes: traces compare, replay and shrink on the raw labels.
"""

from __future__ import annotations

from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.explicit.graph import picture
from quorum.model_checker.explicit.parallel import check_fingerprints
from quorum.model_checker.explicit.trace_validation import validate_step
from quorum.model_checker.model import format_label, shown_label
from quorum.model_checker.result import Step
from quorum.model_checker.simulation.simulate import simulate
from quorum.model_checker.trace import format_trace, to_itf, trace_json

NAMES = ("zero", "one", "two")


class Tokens:
    """A token moves from holder to holder (0, 1, 2); labels carry the holders as ints."""

    name = "tokens"
    invariants = {"NeverAtTwo": lambda s: s != 2}
    action_properties: dict = {}
    reachability: dict = {}
    canonicalize = None
    view = None

    def initial_states(self):
        yield 0

    def successors(self, s):
        for t in (0, 1, 2):
            if t != s:
                yield ("Pass", (("to", t),)), t

    def within_bounds(self, s):
        return True

    def render(self, s):
        return {"holder": NAMES[s]}

    @staticmethod
    def render_label(label):
        name, params = label
        return name, tuple((k, NAMES[v]) for k, v in params)


class Plain(Tokens):
    """The same model without ``render_label``: labels print as they are."""

    render_label = None


def test_every_search_reports_the_labels_as_the_model_prints_them():
    for result in (check(Tokens()), check_fingerprints(Tokens(), workers=1),
                   simulate(Tokens(), depth=5, runs=3, seed=0)):
        trace = result.violation.trace
        assert [s.action for s in trace] == ["Init", "Pass(to='two')"]
        assert trace[1].label == ("Pass", (("to", 2),))  # the raw label, to replay
        assert trace[1] == Step(("Pass", (("to", 2),)), 2)  # shown is no part of equality


def test_printed_and_exported_traces_use_the_hook():
    model = Tokens()
    trace = check(model).violation.trace
    bare = tuple(Step(s.label, s.state) for s in trace)  # as a caller might build it
    for t in (trace, bare):
        assert format_trace(model, t).splitlines()[2] == "2: Pass(to='two')"
        assert trace_json(model, t)[1]["params"] == {"to": "two"}
        assert trace_json(model, t)[1]["label"] == "Pass(to='two')"
    itf = to_itf(model, check(model).violation)
    assert itf["states"][1]["#meta"]["action"] == "Pass(to='two')"


def test_a_model_without_the_hook_prints_its_labels_as_they_are():
    model = Plain()
    trace = check(model).violation.trace
    assert [s.action for s in trace] == ["Init", "Pass(to=2)"]
    assert shown_label(("Pass", (("to", 2),)), model) == ("Pass", (("to", 2),))
    assert format_label(("Pass", (("to", 2),)), Tokens()) == "Pass(to='two')"


def test_graphs_and_trace_validation_reports_use_the_hook():
    model = Tokens()
    pic = picture(model)
    assert "Pass(to='one')" in pic.edge_text(0, 1)
    assert validate_step(model, 0, 1).describe() == "Pass(to='one')"
    assert "enabled: Pass(to='one'), Pass(to='two')" in validate_step(
        model, 0, 0, match=lambda a, b: False).describe()


# -- ITF: TLA+ shapes, and reading a trace back -----------------------------------------
def _raft(mutant, **values):
    from quorum.spec.raft import SPEC

    return SPEC.build({**SPEC.defaults(mutant), **values}, mutant, False)


def test_itf_values_are_tla_values():
    from collections import namedtuple

    import pytest

    from quorum.model_checker.trace import _itf

    Entry = namedtuple("Entry", "term value")
    assert _itf((Entry(2, "v1"), Entry(3, "v1"))) == [{"term": 2, "value": "v1"},
                                                      {"term": 3, "value": "v1"}]
    assert _itf({"s2": 1, "s1": 0}) == {"#map": [["s1", 0], ["s2", 1]]}
    assert _itf(frozenset({"b", "a"})) == {"#set": ["a", "b"]}
    assert _itf(2**60) == {"#bigint": str(2**60)} and _itf(-3) == -3 and _itf(True) is True
    with pytest.raises(TypeError, match="cannot encode NoneType"):
        _itf({"x": None})  # never the string "None": a model names its own "no value"


def test_raft_itf_has_raft_tla_records_and_sequences():
    import json

    model = _raft("follower-writes")
    v = check(model).violation
    itf = to_itf(model, v, {"quorum": {"spec": "raft"}})
    assert itf["vars"] == ["currentTerm", "state", "votedFor", "log", "commitIndex",
                           "votesResponded", "votesGranted", "nextIndex", "matchIndex",
                           "messages"]
    last = itf["states"][-1]
    assert last["log"] == {"#map": [["s1", [{"term": 1, "value": "v1"}]],
                                    ["s2", [{"term": 1, "value": "v2"}]]]}
    assert last["votedFor"] == {"#map": [["s1", "Nil"], ["s2", "Nil"]]}
    assert itf["#meta"]["quorum"] == {"spec": "raft"} and itf["#meta"]["format"] == "ITF"
    text = json.dumps(itf)
    assert "None" not in text and "#tup" not in text and "#unserializable" not in text
    # a message is raft.tla's record, its field names and model values
    ceil = _raft("ceil-quorum")
    itf = to_itf(ceil, check(ceil).violation)
    assert itf["states"][3]["messages"] == {"#map": [[
        {"mtype": "RequestVoteRequest", "mterm": 2, "mlastLogTerm": 0, "mlastLogIndex": 0,
         "msource": "s1", "mdest": "s1"}, 1]]}
    assert itf["states"][4]["messages"]["#map"][0][0] == {
        "mtype": "RequestVoteResponse", "mterm": 2, "mvoteGranted": True, "mlog": [],
        "msource": "s1", "mdest": "s1"}


def test_an_itf_trace_replays_and_its_violation_is_found_again():
    import json

    from quorum.model_checker.trace import read_itf, replay_itf

    model = _raft("ceil-quorum")
    v = check(model).violation
    doc = read_itf(json.dumps(to_itf(model, v)))
    r = replay_itf(model, doc)
    assert r.invalid is None and r.violated == (11, "ElectionSafety")
    assert [s.state for s in r.steps] == [s.state for s in v.trace]
    # Raft's own rules: every step is still a step, and nothing is violated ... except
    # that one vote no longer elects a leader, so the trace stops being a behaviour.
    r = replay_itf(_raft(None, servers=2, max_log=0), doc)
    assert r.invalid == "state 8 is not a step of the model from state 7 (no enabled action leads to it)"
    assert len(r.steps) == 7 and r.violated is None
    # #bigint, #tup and any order of a set's or map's entries read the same
    doc["states"][0]["commitIndex"] = {"#map": [["s2", {"#bigint": "0"}], ["s1", 0]]}
    assert replay_itf(model, doc).violated == (11, "ElectionSafety")


def test_malformed_itf_is_one_clear_error():
    import pytest

    from quorum.model_checker.trace import ItfError, read_itf, replay_itf

    for text, message in [("[", "not JSON"), ("[]", "top level is not a JSON object"),
                          ('{"vars": "x", "states": [{}]}', '"vars" is not a list'),
                          ('{"vars": ["x"], "states": []}', '"states" is not a non-empty'),
                          ('{"vars": ["x"], "states": [{"y": 1}]}', "state 0 has no value for "
                                                                    "variable x")]:
        with pytest.raises(ItfError, match=message):
            read_itf(text)
    with pytest.raises(ItfError, match="variable x is not a variable of raft"):
        replay_itf(_raft(None), read_itf('{"vars": ["x"], "states": [{"x": 1}]}'))
