"""The explorer's HTTP server (standard library only, bound to 127.0.0.1).

Endpoints (all JSON but ``/``):

* ``GET /``: the page;
* ``GET /api/state?path=0,3``: the state reached by taking successor 0 of the initial
  state, then successor 3: the trace so far (actions), the state (variables as printed in
  traces), its enabled actions (index, label), each property's value in it, and the
  trace's sequence chart (SVG) when the spec has chart hooks;
* ``GET /api/start``: the path the page opens on (a loaded counterexample, else ``[]``);
* ``POST /api/load``: a trace (``quorum check --json`` output or an ITF file) -> its path.

A bad path or file is answered with status 400 and ``{"error": "..."}``; the server
keeps running.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlparse

from quorum.model_checker.chart import can_chart, chart_svg, collect
from quorum.model_checker.explain import step_notes
from quorum.model_checker.model import format_label, shown_label
from quorum.model_checker.result import Step
from quorum.model_checker.trace import _itf, step_changes

__all__ = ["Explorer", "TraceError", "serve"]


class TraceError(ValueError):
    """A path or a trace file that does not fit the model."""


class Explorer:
    """A model seen through paths of successor indexes (pure: no HTTP here)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.start: list[int] = []

    def steps(self, path: Sequence[int]) -> list[Step]:
        inits = list(self.model.initial_states())
        trace = [Step(None, inits[0])]
        for k, i in enumerate(path):
            succ = list(self.model.successors(trace[-1].state))
            if not 0 <= i < len(succ):
                raise TraceError(f"step {k + 1}: no action {i} (state has {len(succ)})")
            label, t = succ[i]
            trace.append(Step(label, t))
        return trace

    def state(self, path: Sequence[int]) -> dict[str, Any]:
        trace = self.steps(path)
        s, model = trace[-1].state, self.model
        invariants = {name: bool(f(s)) for name, f in model.invariants.items()}
        reach = {name: bool(f(s)) for name, f in model.reachability.items()}
        actions = [{"index": i, "label": format_label(shown_label(lab, model))}
                   for i, (lab, _) in enumerate(model.successors(s))]
        out: dict[str, Any] = {
            "spec": model.name,
            "path": list(path),
            "trace": ["Init" if st.label is None else format_label(shown_label(st.label, model))
                      for st in trace],
            "state": step_changes(None, model.render(s)),
            "actions": actions,
            "invariants": invariants,
            "reachability": reach,
            "chart": None,
        }
        if can_chart(model):
            broken = next((n for n, ok in invariants.items() if not ok), None)
            notes = {k - 1: "\u2191 " + lines[0] for k, lines in step_notes(model, trace).items()}
            out["chart"] = chart_svg(collect(model, trace, broken, notes))
        return out

    def load(self, doc: Any) -> list[int]:
        """The path of a trace given as ``check --json`` output or as ITF."""
        states = _trace_states(doc)
        model = self.model
        init = next(iter(model.initial_states()))
        if _encoded(model, init) != states[0]:
            raise TraceError("state 1 of the file is not the spec's initial state "
                             "(other bounds or another spec?)")
        path, s = [], init
        for k, want in enumerate(states[1:], 2):
            for i, (_, t) in enumerate(model.successors(s)):
                if _encoded(model, t) == want:
                    path.append(i)
                    s = t
                    break
            else:
                raise TraceError(f"state {k} of the file is no successor of state {k - 1}")
        return path


def _encoded(model: Any, s: Any) -> dict[str, Any]:
    return json.loads(json.dumps({k: _itf(v) for k, v in model.render(s).items()}))


def _trace_states(doc: Any) -> list[dict[str, Any]]:
    states: list[Any]
    if isinstance(doc, dict) and isinstance(doc.get("states"), list):  # ITF
        states = [{k: v for k, v in st.items() if k != "#meta"} for st in doc["states"]
                  if isinstance(st, dict)]
    elif isinstance(doc, dict) and isinstance(doc.get("violation"), dict):  # check --json
        states = [st.get("state") for st in doc["violation"].get("trace", [])
                  if isinstance(st, dict)]
    else:
        raise TraceError("not a trace: expected ITF or the output of quorum check --json")
    if not states or not all(isinstance(s, dict) for s in states):
        raise TraceError("the trace has no states")
    # compare as JSON values (lists and tuples alike)
    return json.loads(json.dumps(states))


def _page() -> bytes:
    return resources.files("quorum.explore").joinpath("page.html").read_bytes()


def _handler(explorer: Explorer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            try:
                if url.path == "/":
                    self._send(200, _page(), "text/html; charset=utf-8")
                elif url.path == "/api/start":
                    self._json(200, {"path": explorer.start})
                elif url.path == "/api/state":
                    text = parse_qs(url.query).get("path", [""])[0]
                    try:
                        path = [int(x) for x in text.split(",") if x != ""]
                    except ValueError:
                        raise TraceError(f"bad path {text!r}: comma-separated numbers") from None
                    self._json(200, explorer.state(path))
                else:
                    self._json(404, {"error": f"no such page: {url.path}"})
            except TraceError as exc:
                self._json(400, {"error": str(exc)})

        def do_POST(self) -> None:  # noqa: N802
            if urlparse(self.path).path != "/api/load":
                self._json(404, {"error": "no such endpoint"})
                return
            try:
                size = int(self.headers.get("Content-Length") or 0)
                doc = json.loads(self.rfile.read(min(size, 64 << 20)) or b"null")
                self._json(200, {"path": explorer.load(doc)})
            except (TraceError, ValueError) as exc:
                self._json(400, {"error": str(exc)})

    return Handler


def serve(explorer: Explorer, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: any free one); call ``serve_forever`` on it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(explorer))
    server.daemon_threads = True
    return server
