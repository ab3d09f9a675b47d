"""`quorum explore SPEC ...`: prints its URL, opens a counterexample, stops on Ctrl-C;
bad input is one line and exit 2."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request

from helpers.cli import QUORUM, quorum


def test_explore_opens_a_counterexample_and_stops_on_ctrl_c(tmp_path):
    trace = tmp_path / "cex.json"
    p = quorum("check", "paxos", "--mutant", "ceil-quorum", "--quiet", "--json")
    assert p.returncode == 1
    trace.write_text(p.stdout)
    proc = subprocess.Popen([*QUORUM, "explore", "paxos", "--mutant", "ceil-quorum",
                             "--trace", str(trace)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("quorum explore paxos[ceil-quorum]: http://127.0.0.1:")
        url = line.split()[3]
        with urllib.request.urlopen(url + "api/start", timeout=60) as r:
            path = json.loads(r.read())["path"]
        with urllib.request.urlopen(url + "api/state?path=" + ",".join(map(str, path)),
                                    timeout=60) as r:
            state = json.loads(r.read())
        assert len(state["trace"]) == 13 and state["invariants"]["Agreement"] is False
        with urllib.request.urlopen(url, timeout=60) as r:
            assert b"<title>quorum explore</title>" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err


def test_explore_bad_input_is_one_line(tmp_path):
    p = quorum("explore", "paxos", "--trace", str(tmp_path / "none.json"))
    assert p.returncode == 2
    assert p.stderr.startswith("quorum explore: error: --trace: cannot read")
    bad = tmp_path / "bad.json"
    bad.write_text('{"states": [{"x": 1}]}')
    p = quorum("explore", "paxos", "--trace", str(bad))
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "is not the spec's initial state" in p.stderr
    bad.write_text("not json")
    p = quorum("explore", "paxos", "--trace", str(bad))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    p = quorum("explore", "paxos", "--port", "70000")
    assert p.returncode == 2 and "--port must be 0..65535" in p.stderr
