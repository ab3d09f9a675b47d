"""The harness's checking pieces without processes: verdicts, the report of a violation,
the history file (quorum.harness.verdict)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quorum.harness.verdict import describe, judge, load, save, window
from quorum.model_checker.history.operations import Operation


def _op(client: int, call: float, ret: float | None, *inp: object, out: object = None,
        unknown: bool = False) -> Operation:
    return Operation(client, call, ret, tuple(inp), out, unknown)


#: a write, a compare-and-swap that swaps, a stale read after both returned
STALE = [
    _op(0, 0.0, 1.0, "write", "k0", "a"),
    _op(1, 2.0, 3.0, "cas", "k0", "a", "b", out=True),
    _op(2, 4.0, 5.0, "read", "k0", out="a"),
    _op(3, 0.5, 0.6, "read", "k1", out=None),
]


def test_a_stale_read_after_a_swap_is_illegal_and_named() -> None:
    result = judge(STALE)
    assert result.verdict == "illegal"
    assert result.unlinearizable == STALE[2]
    assert [op.input[0] for op in window(result)] == ["write", "cas", "read"]
    text = describe(result)
    assert text[0] == "NOT linearizable: key 'k0': no order of its history explains"
    assert text[1] == "  client 2 ('read', 'k0') -> 'a' [called 4.0, returned 5.0]"
    assert text[-1].startswith("  * client 2 ('read', 'k0') -> 'a'")
    assert sum(line.startswith("  + ") for line in text) == 2  # the write and the swap


def test_an_indeterminate_cas_may_have_swapped() -> None:
    """A timed-out swap (Jepsen's :info) explains a later read of its new value; the
    same swap recorded as failed (False) does not."""
    ops = [_op(0, 0.0, 1.0, "write", "k0", "a"),
           _op(1, 2.0, 3.0, "cas", "k0", "a", "b", unknown=True),
           _op(2, 4.0, 5.0, "read", "k0", out="b")]
    assert judge(ops).verdict == "ok"
    failed = [ops[0], _op(1, 2.0, 3.0, "cas", "k0", "a", "b", out=False), ops[2]]
    assert judge(failed).verdict == "illegal"


def test_a_cas_on_a_missing_key_compares_with_none() -> None:
    ops = [_op(0, 0.0, 1.0, "cas", "k0", None, "x", out=True),
           _op(1, 2.0, 3.0, "cas", "k0", None, "y", out=False),
           _op(2, 4.0, 5.0, "read", "k0", out="x")]
    result = judge(ops)
    assert result.verdict == "ok" and result.partitions == 1
    assert describe(result)[0].startswith("linearizable: 3 operations on 1 keys")


def test_the_history_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    events = [{"t": 1.5, "kind": "kill", "phase": "start", "member": "n2", "ok": True,
               "detail": "SIGKILL"}]
    save(path, STALE, events, {"members": 3, "seed": 7})
    ops, ev, settings = load(path)
    assert ops == STALE and ev == events and settings == {"members": 3, "seed": 7}
    assert judge(ops).unlinearizable == STALE[2]


@pytest.mark.parametrize("text, why", [
    ("{", "JSONDecodeError"),
    ('{"events": []}', "KeyError"),
    ('{"history": [{"client": 0, "call": 0, "ret": 1, "input": ["incr", "k"]}]}',
     "is not a read, write or cas"),
    ('{"history": [{"client": 0, "call": 0, "ret": 1, "input": ["cas", "k", 1]}]}',
     "is not a read, write or cas"),
    ('{"history": [7]}', "TypeError"),
])
def test_a_file_that_is_not_a_history_is_a_clear_error(tmp_path: Path, text: str,
                                                       why: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=why) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: not a torture history")
    assert "\n" not in str(info.value)


def test_json_of_a_saved_history_names_every_field(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    save(path, STALE[:1], [], {})
    doc = json.loads(path.read_text())
    assert doc == {"settings": {}, "events": [], "history": [
        {"client": 0, "call": 0.0, "ret": 1.0, "input": ["write", "k0", "a"], "output": None}]}
