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
