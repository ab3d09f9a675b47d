"""The store's sequential specification (quorum.spec.kv): one register per key."""

from __future__ import annotations

import pytest

from quorum.model_checker.history.linearizability import Operation
from quorum.spec.kv import KVModel

KV = KVModel()


def test_a_key_never_written_reads_none():
    assert KV.step(KV.init(), ("read", "x"), None) == (True, None)
    assert KV.step(KV.init(), ("read", "x"), 1) == (False, None)


def test_a_write_sets_the_value_whatever_its_output():
    assert KV.step(None, ("write", "x", 3), "anything") == (True, 3)


def test_cas_swaps_only_from_the_expected_value():
    assert KV.step(1, ("cas", "x", 1, 2), True) == (True, 2)
    assert KV.step(1, ("cas", "x", 1, 2), False) == (False, 2)
    assert KV.step(5, ("cas", "x", 1, 2), False) == (True, 5)
    assert KV.step(5, ("cas", "x", 1, 2), True) == (False, 5)


def test_an_operation_of_unknown_output_takes_effect_as_its_guard_allows():
    assert KV.step_unknown(1, ("write", "x", 7)) == 7
    assert KV.step_unknown(1, ("cas", "x", 1, 2)) == 2
    assert KV.step_unknown(5, ("cas", "x", 1, 2)) == 5
    assert KV.step_unknown(5, ("read", "x")) == 5


def test_append_adds_to_the_keys_list_and_a_read_returns_it_in_order():
    s = KV.init()
    for v in (1, 2, 1):
        ok, s = KV.step(s, ("append", "x", v), None)
        assert ok
    assert s == (1, 2, 1)
    assert KV.step(s, ("read", "x"), (1, 2, 1)) == (True, s)
    assert KV.step(s, ("read", "x"), [1, 2, 1]) == (True, s)  # a list answer compares as a tuple
    assert KV.step(s, ("read", "x"), (1, 2)) == (False, s)
    assert KV.step(s, ("read", "x"), (2, 1, 1)) == (False, s)


def test_append_to_a_plain_value_makes_it_the_first_item():
    assert KV.step(7, ("append", "x", 8), None) == (True, (7, 8))
    assert KV.step_unknown(None, ("append", "x", 8)) == (8,)
    assert KV.step_unknown((8,), ("append", "x", 9)) == (8, 9)


def test_reads_and_failed_cas_are_read_only():
    assert KV.read_only(Operation(0, 0, 1, ("read", "x"), 1))
    assert KV.read_only(Operation(0, 0, 1, ("cas", "x", 1, 2), False))
    assert not KV.read_only(Operation(0, 0, None, ("cas", "x", 1, 2), None))  # pending
    # returned, outcome unknown: it may have swapped, whatever its output says
    assert not KV.read_only(Operation(0, 0, 1, ("cas", "x", 1, 2), False, unknown=True))
    assert KV.read_only(Operation(0, 0, 1, ("read", "x"), None, unknown=True))
    assert not KV.read_only(Operation(0, 0, 1, ("cas", "x", 1, 2), True))
    assert not KV.read_only(Operation(0, 0, 1, ("write", "x", 1)))
    assert not KV.read_only(Operation(0, 0, 1, ("append", "x", 1)))


def test_a_history_splits_by_key_in_a_fixed_order():
    ops = [Operation(0, 0, 1, ("write", k, 1)) for k in ("y", "x", "y")]
    assert KV.partition(ops) == [[ops[1]], [ops[0], ops[2]]]


def test_an_unknown_operation_is_an_error():
    with pytest.raises(ValueError, match="unknown KV operation 'incr'"):
        KV.step(None, ("incr", "x"), 1)
