"""`quorum prove`: exit codes, JSON shape, the CTI printed on --drop."""

from __future__ import annotations

import json

from quorum.cli import main


def test_prove_paxos_json_lists_every_check_as_proved(capsys):
    assert main(["prove", "paxos", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["result"] == "proved" and out["cti"] is None
    assert out["conjuncts"] == ["proposal_real", "one_proposal_per_ballot",
                                "votes_are_proposed", "one_b_left_below", "choosable"]
    assert len(out["checks"]) == 32
    assert all(c["result"] == "proved" and c["seconds"] >= 0 for c in out["checks"])
    assert {"conjunct", "action", "result", "seconds"} <= set(out["checks"][0])


def test_prove_paxos_prints_a_table_and_the_verdict(capsys):
    assert main(["prove", "paxos"]) == 0
    out = capsys.readouterr().out
    assert "conjunct                 init     Phase1a  Phase1b  Phase2a  Phase2b" in out
    assert "paxos: Agreement PROVED for all sizes: 5 conjuncts are inductive (32 checks" in out


def test_drop_prints_the_cti_and_exits_1(capsys):
    assert main(["prove", "paxos", "--drop", "one_b_left_below", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("paxos: REFUTED (without one_b_left_below)")
    assert "Counterexample to induction: Phase2a(b=" in out
    assert "breaks 'choosable'" in out and "msg1b(acceptor, ballot)" in out


def test_drop_json_carries_the_cti(capsys):
    assert main(["prove", "paxos", "--drop", "choosable", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["dropped"] == ["choosable"]
    assert out["cti"]["kind"] == "safety" and out["cti"]["conjunct"] == "Agreement"
    assert len(out["cti"]["pre"]["msg2b"]) == 2


def test_usage_errors_exit_2_in_one_line(capsys):
    assert main(["prove", "paxos", "--drop", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("quorum prove: error: no conjunct 'nope' in paxos") and err.count("\n") == 1
    assert main(["prove", "quorums", "--drop", "x"]) == 2
    assert main(["prove", "paxos", "--timeout", "0"]) == 2


def test_prove_quorums(capsys):
    assert main(["prove", "quorums"]) == 0
    out = capsys.readouterr().out
    assert "refuted  ceil_quorums_intersect" in out and "n=2" in out
    assert "quorums: 31 of 31 lemmas as expected" in out
