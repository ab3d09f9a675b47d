"""quorum.explore: the explorer's endpoints (in process) and the page in headless Chromium."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from helpers.specs import build
from quorum.explore.server import Explorer, TraceError, serve
from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.trace import result_json, to_itf
from quorum.spec.paxos import SPEC as PAXOS


@pytest.fixture()
def paxos_server():
    explorer = Explorer(build(PAXOS))
    server = serve(explorer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield explorer, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_state_actions_and_properties(paxos_server):
    _, base = paxos_server
    status, init = _get(base + "/api/state?path=")
    assert status == 200 and init["trace"] == ["Init"]
    assert [a["label"] for a in init["actions"]] == ["Phase1a(b=0)", "Phase1a(b=1)"]
    assert all(init["invariants"].values()) and "Agreement" in init["invariants"]
    status, nxt = _get(base + "/api/state?path=1")
    assert nxt["trace"] == ["Init", "Phase1a(b=1)"]
    assert nxt["state"][-1] == "msgs = {[type: 1a, bal: 1]}"
    assert nxt["chart"].startswith("<svg") and nxt["chart"].count('class="lane"') == 6
    status, err = _get(base + "/api/state?path=0,99")
    assert status == 400 and err == {"error": "step 2: no action 99 (state has 5)"}
    assert _get(base + "/api/state?path=x")[0] == 400


def test_loads_a_counterexample_as_json_and_itf():
    model = build(PAXOS, "vote-below-promise")
    result = check(model, properties=["Agreement"])
    explorer = Explorer(model)
    path = explorer.load(result_json(model, result, {}))
    assert len(path) == 12
    assert explorer.load(json.loads(json.dumps(to_itf(model, result.violation)))) == path
    shown = explorer.state(path)
    assert shown["invariants"]["Agreement"] is False
    assert "Agreement violated in state 13" in shown["chart"]
    assert shown["chart"].count('class="note"') == 2  # the two votes below a promise
    with pytest.raises(TraceError, match="not the spec's initial state"):
        Explorer(build(PAXOS, "ceil-quorum")).load(result_json(model, result, {}))
    with pytest.raises(TraceError, match="not a trace"):
        explorer.load({"foo": 1})


@pytest.mark.slow
def test_page_in_chromium(paxos_server, tmp_path):
    from helpers.browser import Browser

    _, base = paxos_server
    browser = Browser(tmp_path / "profile")
    try:
        browser.goto(base + "/")
        assert browser.wait_for("document.body.dataset.loaded === '1'")
        assert browser.js("document.getElementById('spec').textContent") == "paxos"
        buttons = browser.js("[...document.querySelectorAll('#actions button')]"
                             ".map(b => b.textContent)")
        assert buttons == ["Phase1a(b=0)", "Phase1a(b=1)"]
        browser.js("document.querySelectorAll('#actions button')[0].click()")
        assert browser.wait_for("document.body.dataset.loaded === '2'")
        assert browser.js("document.getElementById('state').textContent").endswith(
            "msgs = {[type: 1a, bal: 0]}")
        props = browser.js("[...document.querySelectorAll('#properties li')]"
                           ".map(li => li.textContent)")
        assert "Agreement: holds" in props
        lanes = browser.js("document.querySelectorAll('#chart svg line.lane').length")
        assert lanes == 6
        browser.js("document.querySelectorAll('#actions button')[2].click()")  # Phase1b a1
        assert browser.wait_for("document.body.dataset.loaded === '3'")
        assert browser.js("document.querySelector('#trace li.current').textContent") == \
            "Phase1b(a='a1', b=0)"
        # the 1a read by a1, and a1's 1b to p0 still unread (in flight)
        assert browser.js("document.querySelectorAll('#chart svg g.msg').length") == 2
        assert browser.js("document.querySelectorAll('#chart svg g.in-flight').length") == 1
        browser.js("document.getElementById('back').click()")
        assert browser.wait_for("document.body.dataset.loaded === '2'")
    finally:
        browser.close()
