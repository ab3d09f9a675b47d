"""Message-sequence charts of a trace, as SVG text written here (no libraries, no assets).

Theory of operation.  A chart has one vertical *lane* per node and one horizontal *row*
per state of the trace (row 1 is the initial state).  Which node sends which message to
whom is protocol knowledge, so the model supplies it through two optional hooks (see
:mod:`quorum.model_checker.model`):

* ``chart_lanes() -> Sequence[str]``: the lanes' names, left to right;
* ``chart_events(state, label, next_state) -> Iterable[tuple]``: what one step does,
  as plain tuples (the spec imports nothing of ours):

  - ``("send", lane, key, caption, dest)``: ``lane`` sends a message; ``key`` is any
    hashable identity of it (two copies of one message share the key), ``dest`` the
    lane it is addressed to, or ``None`` for a message to whoever reads it;
  - ``("receive", lane, key)``: ``lane`` consumes one copy (a bag's delivery): the
    oldest copy still in flight is drawn as an arrow from its send to this row;
  - ``("read", lane, key)``: ``lane`` reads a message that stays (Paxos.tla's ``msgs``
    only grows): an arrow from its latest send, and the message may be read again;
  - ``("drop", key)``: the network loses the oldest copy in flight (drawn ending in x);
  - ``("local", lane, caption)``: a change inside the node (a box on its lane).

The renderer matches sends to receives and draws every message as an arrow from the row
of its send to the row of its receipt; a message never received is drawn dashed to its
destination at the bottom ("in flight"), or as a short dashed stub when it has none and
nobody read it.  The violating state's row is highlighted in red.  Elements carry
classes (``lane``, ``msg``, ``msg in-flight``, ``msg dropped``, ``local``, ``row``,
``violation``) so that tests and style sheets can find them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from quorum.model_checker.model import format_label, shown_label
from quorum.model_checker.result import Step, Violation

__all__ = ["Chart", "can_chart", "chart_svg", "collect", "explained_chart"]

LEFT, LANE, ROW, TOP, BOX = 290, 132, 38, 64, 124


@dataclass
class Arrow:
    src: int  # lane index
    row: int  # row of the send (0-based)
    caption: str
    dest: int | None
    end_row: int | None = None
    end_lane: int | None = None
    kind: str = "msg"  # msg, in-flight (never received), dropped, stub (nobody read it)


@dataclass
class Chart:
    """A trace's chart as data: lanes, rows (the action printed), arrows, local boxes."""

    lanes: list[str]
    rows: list[str] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    locals: list[tuple[int, int, str]] = field(default_factory=list)  # lane, row, caption
    violation: str | None = None
    notes: dict[int, str] = field(default_factory=dict)  # row -> a mark (a mutant's step)


def can_chart(model: object) -> bool:
    return callable(getattr(model, "chart_events", None)) and callable(
        getattr(model, "chart_lanes", None))


def explained_chart(model: Any, violation: Violation) -> Chart:
    """The chart of a counterexample: the violating state highlighted, and the steps where
    a known-bug variant departs from the protocol marked (the model's ``explain_step``)."""
    from quorum.model_checker.explain import step_notes

    notes = {k - 1: "\u2191 " + lines[0] for k, lines in step_notes(model, violation.trace).items()}
    shown = violation.property if violation.kind in ("invariant", "action-property") else None
    return collect(model, violation.trace, shown, notes)


def _action(model: Any, step: Step, before: Any = None) -> str:
    if step.label is None:
        return "Init"
    describe = getattr(model, "describe_step", None)
    if describe is not None and before is not None:
        text = describe(before, step.label, step.state)
        if text:
            return str(text)
    label = step.shown if step.shown is not None else shown_label(step.label, model)
    return format_label(label)


def collect(model: Any, trace: Sequence[Step], violation: str | None = None,
            notes: dict[int, str] | None = None) -> Chart:
    """The chart of ``trace`` from the model's hooks (``notes``: row -> a short mark)."""
    lanes = list(model.chart_lanes())
    index = {name: i for i, name in enumerate(lanes)}
    chart = Chart(lanes, violation=violation, notes=dict(notes or {}))
    open_: dict[Any, list[Arrow]] = {}  # key -> copies in flight, oldest first
    sent: dict[Any, Arrow] = {}  # key -> its latest send (for reads)
    for row, step in enumerate(trace):
        chart.rows.append(_action(model, step, trace[row - 1].state if row else None))
        if row == 0:
            continue
        before = trace[row - 1].state
        for ev in model.chart_events(before, step.label, step.state):
            _apply(chart, index, ev, row, open_, sent)
    last = len(trace) - 1
    for copies in open_.values():
        for a in copies:
            if a.dest is not None:
                a.kind, a.end_row, a.end_lane = "in-flight", last + 1, a.dest
    for copies in open_.values():
        for a in copies:
            if a.dest is None:
                a.kind = "stub"
    return chart


def _apply(chart: Chart, index: dict[str, int], ev: tuple, row: int,
           open_: dict[Any, list[Arrow]], sent: dict[Any, Arrow]) -> None:
    kind = ev[0]
    if kind == "send":
        _, lane, key, caption, dest = ev
        a = Arrow(index[lane], row, caption, None if dest is None else index[dest])
        chart.arrows.append(a)
        open_.setdefault(key, []).append(a)
        sent[key] = a
    elif kind == "receive" and open_.get(ev[2]):
        a = open_[ev[2]].pop(0)
        a.end_row, a.end_lane = row, index[ev[1]]
    elif kind == "read" and ev[2] in sent:
        first = sent[ev[2]]
        if first.end_row is None:  # the first read ends the send's own arrow
            first.end_row, first.end_lane = row, index[ev[1]]
            open_[ev[2]].remove(first)
        else:
            chart.arrows.append(Arrow(first.src, first.row, "", index[ev[1]], row, index[ev[1]]))
    elif kind == "drop" and open_.get(ev[1]):
        a = open_[ev[1]].pop(0)
        a.kind, a.end_row = "dropped", row
        a.end_lane = a.dest if a.dest is not None else a.src
    elif kind == "local":  # one box per lane and row: captions joined
        lane = index[ev[1]]
        if chart.locals and chart.locals[-1][:2] == (lane, row):
            chart.locals[-1] = (lane, row, f"{chart.locals[-1][2]}, {ev[2]}")
        else:
            chart.locals.append((lane, row, ev[2]))


# -- SVG ------------------------------------------------------------------------------------
def _x(lane: float) -> float:
    return LEFT + LANE * lane + LANE / 2


def _y(row: float) -> float:
    return TOP + ROW * row + ROW / 2


def _text(x: float, y: float, s: str, cls: str, anchor: str = "start") -> str:
    return (f'<text class="{cls}" x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">'
            f"{escape(s)}</text>")


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"


_STYLE = """
text { font-family: sans-serif; font-size: 11px; fill: #222; }
.lane-label { font-weight: bold; font-size: 13px; }
.lane { stroke: #999; stroke-width: 1.5; }
.row-label { font-family: monospace; font-size: 11px; }
.msg line { stroke: #1f5fa8; stroke-width: 1.4; }
.msg text { fill: #1f5fa8; font-size: 10px; }
.in-flight line, .stub line { stroke-dasharray: 5 4; }
.dropped line { stroke: #a06000; stroke-dasharray: 2 3; }
.local rect { fill: #f4f4f4; stroke: #777; }
.local text { font-size: 10px; }
.violation rect { fill: #fde2e2; stroke: #c00; stroke-width: 2; }
.violation text { fill: #c00; font-weight: bold; }
.note text { fill: #b00060; font-weight: bold; }
"""


def chart_svg(chart: Chart) -> str:
    """The chart as an SVG document (UTF-8 text)."""
    n, rows = len(chart.lanes), len(chart.rows)
    width = LEFT + LANE * n + 120
    height = TOP + ROW * (rows + 1) + (30 if chart.violation else 10)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" class="sequence-chart">',
           f"<style>{_STYLE}</style>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#1f5fa8"/></marker>'
           '<marker id="open" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10" fill="none" '
           'stroke="#1f5fa8"/></marker></defs>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>']
    if chart.violation is not None and rows:
        y = TOP + ROW * (rows - 1)
        out.append(f'<g class="violation"><rect x="2" y="{y}" width="{width - 4}" '
                   f'height="{ROW}" rx="4"/>'
                   + _text(8, y + ROW + 16, f"\u2717 {chart.violation} violated in state {rows}",
                           "violation-label") + "</g>")
    for r, action in enumerate(chart.rows):
        out.append(f'<g class="row"><title>{r + 1}: {escape(action)}</title>'
                   + _text(8, _y(r) + 4, _short(f"{r + 1}: {action}", 44), "row-label") + "</g>")
        if r in chart.notes:
            out.append(f'<g class="note"><title>{escape(chart.notes[r])}</title>'
                       + _text(8, _y(r) + 16, _short(chart.notes[r], 44),
                                                  "note-label") + "</g>")
    for i, name in enumerate(chart.lanes):
        x = _x(i)
        out.append(_text(x, TOP - 22, name, "lane-label", "middle"))
        out.append(f'<line class="lane" x1="{x}" y1="{TOP - 14}" x2="{x}" '
                   f'y2="{TOP + ROW * rows + 6}"/>')
    for lane, row, caption in chart.locals:
        out.append(_local(lane, row, caption))
    for a in chart.arrows:
        out.append(_arrow(a))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow(a: Arrow) -> str:
    x1, y1 = _x(a.src), _y(a.row)
    if a.kind == "stub":
        x2, y2 = x1 + LANE * 0.45, y1 + ROW * 0.6
    else:
        assert a.end_lane is not None and a.end_row is not None
        x2, y2 = _x(a.end_lane), _y(a.end_row)
        if a.kind == "in-flight":
            y2 = _y(a.end_row - 1) + ROW * 0.7
        if a.kind == "dropped":
            x2 = (x1 + x2) / 2 if x2 != x1 else x1 + LANE * 0.35
    cls = "msg" if a.kind == "msg" else f"msg {a.kind}"
    marker = {"msg": "url(#arrow)", "in-flight": "url(#open)", "stub": "url(#open)"}.get(a.kind)
    line = (f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}"'
            + (f' marker-end="{marker}"' if marker else "") + "/>")
    extra = ""
    if a.kind == "dropped":
        extra = (f'<path d="M{x2 - 5:.0f},{y2 - 5:.0f} L{x2 + 5:.0f},{y2 + 5:.0f} '
                 f'M{x2 - 5:.0f},{y2 + 5:.0f} L{x2 + 5:.0f},{y2 - 5:.0f}" stroke="#a06000" '
                 'stroke-width="2"/>')
    label = ""
    if a.caption:
        right = x2 >= x1
        tx = x1 + (8 if right else -8)
        label = _text(tx, y1 - 4, _short(a.caption, 24), "msg-label",
                      "start" if right else "end")
    title = f"<title>{escape(a.caption)}</title>" if a.caption else ""
    return f'<g class="{cls}">{title}{line}{extra}{label}</g>'


def _local(lane: int, row: int, caption: str) -> str:
    x, y = _x(lane), _y(row)
    text = _short(caption, 21)
    w = min(BOX, 10 + 5.6 * len(text))
    return (f'<g class="local"><title>{escape(caption)}</title>'
            f'<rect x="{x - w / 2:.0f}" y="{y - 9:.0f}" width="{w:.0f}" height="17" rx="3"/>'
            + _text(x, y + 4, text, "local-label", "middle") + "</g>")
