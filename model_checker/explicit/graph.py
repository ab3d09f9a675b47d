"""The state graph of a small model as a picture: DOT, GraphML or SVG.

Nodes are the reachable states within the constraint (numbered in BFS order, the
initial ones drawn with a double border), edges the steps between them, labelled with
their actions (self-loops included).  States that violate an invariant are filled red;
the shortest behaviour to the first of them (in BFS order, as ``quorum check`` reports
it) is drawn in bold blue.  DOT is written here (no pydot/pygraphviz needed), GraphML by
networkx, SVG by Graphviz's ``dot`` program (Debian package ``graphviz``).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterable
from typing import Any

import networkx as nx

from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.liveness import StateGraph, state_graph
from quorum.model_checker.model import Model, format_label
from quorum.model_checker.trace import format_value

__all__ = ["FORMATS", "GraphPicture", "neighbourhood", "picture", "render"]

FORMATS = ("dot", "graphml", "svg")
WRAP = 56  # characters per line of a node's text


class GraphPicture:
    """The graph with what to highlight: violating nodes and the trace's nodes and edges."""

    def __init__(self, model: Model, g: StateGraph, bad: dict[int, str], trace: list[int],
                 drawn: list[int] | None = None) -> None:
        self.model, self.g, self.bad, self.trace = model, g, bad, trace
        self.trace_edges = set(zip(trace, trace[1:], strict=False))
        #: the nodes to draw, in BFS order (all of them unless :func:`neighbourhood` cut it)
        self.drawn = sorted(drawn) if drawn is not None else list(range(len(g.states)))
        self._drawn = set(self.drawn)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """The steps between drawn nodes."""
        return sorted((u, v) for u, v in self.g.graph.edges()
                      if u in self._drawn and v in self._drawn)

    @property
    def partial(self) -> bool:
        return len(self.drawn) < len(self.g.states)

    def node_text(self, i: int) -> str:
        shown = self.model.render(self.g.states[i])
        lines = [f"#{i + 1}"]
        for k, v in shown.items():  # long values wrapped, so that a node stays narrow
            lines += textwrap.wrap(f"{k} = {format_value(v)}", WRAP, subsequent_indent="    ",
                                   break_on_hyphens=False, break_long_words=False)
        if i in self.bad:
            lines.append(f"violates {self.bad[i]}")
        return "\n".join(lines)

    def edge_text(self, u: int, v: int) -> str:
        return "\n".join(format_label(lab, self.model) for lab in self.g.labels(u, v))


def picture(model: Model, *, properties: Iterable[str] | None = None,
            max_states: int = 2000) -> GraphPicture:
    """Explore the model (at most ``max_states`` states) and mark what to highlight."""
    props = Properties(model, properties)
    g = state_graph(model, max_states)
    bad: dict[int, str] = {}
    for i, s in enumerate(g.states):
        name = props.violated_invariant(s)
        if name is not None:
            bad[i] = name
    trace = g.path_to(min(bad)) if bad else []
    return GraphPicture(model, g, bad, trace)


def neighbourhood(p: GraphPicture, limit: int) -> GraphPicture:
    """The states worth drawing: the whole trace to the first violation, then up to two
    states one step off each of its states (choices the behaviour did not take) while
    fewer than ``limit`` are drawn; without a violation, the first ``limit`` states in
    BFS order."""
    if not p.trace:
        return GraphPicture(p.model, p.g, p.bad, p.trace, list(range(min(limit, len(p.g.states)))))
    keep = list(dict.fromkeys(p.trace))
    chosen = set(keep)
    for u in p.trace:  # two per trace state at most: every rank stays page-wide
        off = [v for v in sorted(p.g.graph.successors(u)) if v not in chosen]
        for v in off[:min(2, max(0, limit - len(keep)))]:
            chosen.add(v)
            keep.append(v)
    return GraphPicture(p.model, p.g, p.bad, p.trace, keep)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '\\l"'


def to_dot(p: GraphPicture) -> str:
    name = p.model.name.replace('"', "")
    out = [f'digraph "{name}" {{',
           # at most 7.5 inches wide (a page, or a browser window): dot scales a wider
           # drawing down, never up
           '  graph [size="7.5,100", ranksep=0.3, nodesep=0.25];',
           '  node [shape=box, fontname="monospace", fontsize=9];',
           '  edge [fontname="monospace", fontsize=8];']
    initial = set(p.g.initial)
    for i in p.drawn:
        attrs = [f"label={_quote(p.node_text(i))}"]
        if i in initial:
            attrs.append("peripheries=2")
        if i in p.bad:
            attrs.append('style=filled, fillcolor="#f4a6a6"')
        if i in p.trace:
            attrs.append('color=blue, penwidth=2.5')
        out.append(f"  n{i} [{', '.join(attrs)}];")
    for u, v in p.edges:
        attrs = [f"label={_quote(p.edge_text(u, v))}"]
        if (u, v) in p.trace_edges:
            attrs.append("color=blue, penwidth=2.5, fontcolor=blue")
        out.append(f"  n{u} -> n{v} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def to_graphml(p: GraphPicture) -> str:
    h = nx.DiGraph(name=p.model.name)
    initial = set(p.g.initial)
    for i in p.drawn:
        h.add_node(i, label=p.node_text(i), initial=i in initial,
                   violates=p.bad.get(i, ""), on_trace=i in p.trace)
    for u, v in p.edges:
        h.add_edge(u, v, label=p.edge_text(u, v), on_trace=(u, v) in p.trace_edges)
    return "\n".join(nx.generate_graphml(h)) + "\n"


def to_svg(p: GraphPicture) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise CheckError("--format svg needs Graphviz's dot program "
                         "(Debian: apt-get install graphviz); --format dot works without it")
    done = subprocess.run([dot, "-Tsvg"], input=to_dot(p), capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        raise CheckError(f"dot failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def render(p: GraphPicture, fmt: str) -> str:
    writers: dict[str, Any] = {"dot": to_dot, "graphml": to_graphml, "svg": to_svg}
    if fmt not in writers:
        raise CheckError(f"unknown graph format {fmt!r} (expected one of {', '.join(FORMATS)})")
    text: str = writers[fmt](p)
    return text
