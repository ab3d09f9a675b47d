"""State graph export: DOT, GraphML and SVG, with violations and the trace highlighted."""

from __future__ import annotations

import io
import subprocess
import sys

import networkx as nx

from quorum.model_checker.explicit.graph import picture, render
from quorum.spec.paxos import SPEC


class Line:
    """x goes 0 -> 1 -> 2 -> 3 (Step), or jumps 0 -> 2; x = 3 is bad."""

    name = "line"
    action_properties: dict = {}
    reachability: dict = {}
    canonicalize = view = None

    def __init__(self):
        self.invariants = {"Below3": lambda x: x < 3}

    def initial_states(self):
        yield 0

    def successors(self, x):
        if x < 3:
            yield ("Step", ()), x + 1
        if x == 0:
            yield ("Jump", ()), 2

    def within_bounds(self, x):
        return True

    def render(self, x):
        return {"x": x}


def test_violations_filled_and_the_shortest_trace_drawn():
    p = picture(Line())
    assert p.bad == {3: "Below3"}  # node 3 is x = 3, found last in BFS order
    assert [p.g.states[i] for i in p.trace] == [0, 2, 3]  # through the jump
    dot = render(p, "dot")
    assert 'n3 [label="#4\\lx = 3\\lviolates Below3\\l", style=filled' in dot
    assert "n0 -> n2 [label=\"Jump()\\l\", color=blue" in dot
    assert "n0 -> n1 [label=\"Step()\\l\"];" in dot  # not on the trace
    assert "n0 [label=\"#1\\lx = 0\\l\", peripheries=2, color=blue" in dot


def test_graphml_round_trips_through_networkx():
    h = nx.read_graphml(io.StringIO(render(picture(Line()), "graphml")))
    assert h.number_of_nodes() == 4 and h.number_of_edges() == 4
    assert h.nodes["3"]["violates"] == "Below3"
    assert h.edges["2", "3"]["on_trace"] is True and h.edges["0", "1"]["on_trace"] is False


def test_svg_by_graphviz():
    assert "<svg" in render(picture(Line()), "svg")


def test_paxos_single_acceptor_graph():
    model = SPEC.build({**SPEC.defaults(), "acceptors": 1, "values": 1, "max_ballot": 0},
                       None, False)
    p = picture(model)
    assert len(p.g.states) == 5 and p.g.graph.number_of_edges() == 8 and not p.bad


def test_cli_graph_and_its_limit():
    def quorum(*args):
        return subprocess.run([sys.executable, "-m", "quorum", "graph", "paxos", *args],
                              capture_output=True, text=True, timeout=300)

    ok = quorum("--acceptors", "1", "--values", "1", "--max-ballot", "0")
    assert ok.returncode == 0 and ok.stdout.startswith('digraph "paxos" {')
    assert "5 of 5 states drawn, 8 edges, no invariant violated" in ok.stderr
    big = quorum("--max-states", "100")  # exploring, not drawing
    assert big.returncode == 2 and "more than 100 states" in big.stderr
    assert "Traceback" not in big.stderr
