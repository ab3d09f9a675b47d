"""The linearizability checker on known histories, and against brute force.

Scenarios follow Herlihy & Wing (1990) and the classic Jepsen/Porcupine examples:
a stale read, a value that flips back, two successful CAS from the same value.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.model_checker.history.linearizability import (
    ILLEGAL,
    OK,
    UNKNOWN,
    Operation,
    check,
    history_from_json,
    history_to_json,
)
from quorum.spec.kv import KVModel

KV = KVModel()  # the store's sequential specification


def W(c, call, ret, k, v):
    return Operation(c, call, ret, ("write", k, v), None)


def W_info(c, call, ret, k, v):
    """A write that returned at ``ret`` without an outcome (a timeout: Jepsen's :info)."""
    return Operation(c, call, ret, ("write", k, v), None, unknown=True)


def R(c, call, ret, k, out):
    return Operation(c, call, ret, ("read", k), out)


def CAS(c, call, ret, k, old, new, out):
    return Operation(c, call, ret, ("cas", k, old, new), out)


def A(c, call, ret, k, v):
    return Operation(c, call, ret, ("append", k, v), None)


def test_empty_history_is_linearizable():
    assert check([], KV).verdict == OK


def test_sequential_write_then_read():
    h = [W(0, 0, 1, "x", 1), R(1, 2, 3, "x", 1)]
    res = check(h, KV)
    assert res.verdict == OK
    assert res.witness == [h]


def test_stale_read_after_completed_write_is_illegal():
    h = [W(0, 0, 1, "x", 1), R(1, 2, 3, "x", None)]
    res = check(h, KV)
    assert res.verdict == ILLEGAL
    assert res.partition == h
    assert res.longest_prefix == [h[0]]
    assert res.unlinearizable == h[1]
    assert str(h[1]) == "client 1 ('read', 'x') -> None [called 2, returned 3]"


def test_concurrent_read_may_see_old_or_new():
    for out in (None, 1):
        assert check([W(0, 0, 10, "x", 1), R(1, 1, 2, "x", out)], KV).verdict == OK


def test_value_flipping_back_is_illegal():
    # two writes overlapping sequential reads 1, 2, 1: each write takes effect once
    h = [
        W(0, 0, 20, "x", 1),
        W(1, 0, 20, "x", 2),
        R(2, 6, 7, "x", 1),
        R(2, 8, 9, "x", 2),
        R(2, 10, 11, "x", 1),
    ]
    res = check(h, KV)
    assert res.verdict == ILLEGAL
    # write 1, read 1, write 2, read 2 is as far as any order gets: the third read fails
    assert res.longest_prefix == [h[0], h[2], h[1], h[3]]
    assert res.unlinearizable == h[4]
    assert check(h[:4], KV).verdict == OK


def test_two_successful_cas_from_the_same_value_is_illegal():
    h = [
        W(0, 0, 1, "x", 0),
        CAS(1, 2, 5, "x", 0, 1, True),
        CAS(2, 2, 5, "x", 0, 2, True),
    ]
    res = check(h, KV)
    assert res.verdict == ILLEGAL
    assert (res.longest_prefix, res.unlinearizable) == (h[:2], h[2])
    h_ok = h[:2] + [CAS(2, 2, 5, "x", 0, 2, False)]
    assert check(h_ok, KV).verdict == OK


def test_failed_cas_must_see_a_different_value():
    h = [W(0, 0, 1, "x", 0), CAS(1, 2, 3, "x", 0, 1, False)]
    assert check(h, KV).verdict == ILLEGAL


def test_read_of_a_value_never_written_is_illegal():
    h = [R(0, 0, 1, "x", 7)]
    res = check(h, KV)
    assert (res.verdict, res.longest_prefix, res.unlinearizable) == (ILLEGAL, [], h[0])


def test_the_failing_operation_is_never_one_that_may_not_take_effect():
    # the pending write cannot explain the read after it returned None: the read fails
    h = [W(0, 0, None, "x", 1), R(1, 5, 6, "x", 1), R(1, 7, 8, "x", None)]
    res = check(h, KV)
    assert (res.longest_prefix, res.unlinearizable) == (h[:2], h[2])
    assert str(h[0]) == "client 0 ('write', 'x', 1) [called 0, never returned]"
    assert str(W_info(0, 0, 2, "x", 1)) == "client 0 ('write', 'x', 1) -> unknown [called 0, returned 2]"


def test_pending_write_may_or_may_not_take_effect():
    pending = W(0, 0, None, "x", 1)
    assert check([pending, R(1, 5, 6, "x", 1)], KV).verdict == OK
    assert check([pending, R(1, 5, 6, "x", None)], KV).verdict == OK
    # ...but once seen, it cannot be unseen
    h = [pending, R(1, 5, 6, "x", 1), R(1, 7, 8, "x", None)]
    assert check(h, KV).verdict == ILLEGAL


def test_pending_write_cannot_take_effect_before_its_call():
    h = [R(1, 0, 1, "x", 1), W(0, 2, None, "x", 1)]
    assert check(h, KV).verdict == ILLEGAL


def test_pending_cas_takes_effect_only_when_its_guard_holds():
    h = [W(0, 0, 1, "x", 5), CAS(1, 2, None, "x", 4, 9, None), R(2, 3, 4, "x", 9)]
    assert check(h, KV).verdict == ILLEGAL
    h2 = [W(0, 0, 1, "x", 4), CAS(1, 2, None, "x", 4, 9, None), R(2, 3, 4, "x", 9)]
    assert check(h2, KV).verdict == OK


def test_a_write_of_unknown_outcome_may_take_effect_after_it_returned():
    # the client gave up at 2, but the request was still in flight: applied after 4
    h = [W_info(0, 0, 2, "x", 1), R(1, 3, 4, "x", None), R(1, 5, 6, "x", 1)]
    assert check(h, KV).verdict == OK
    completed = [W(0, 0, 2, "x", 1)] + h[1:]
    assert check(completed, KV).verdict == ILLEGAL


def test_a_write_of_unknown_outcome_may_never_take_effect_but_cannot_be_unseen():
    assert check([W_info(0, 0, 2, "x", 1), R(1, 5, 6, "x", None)], KV).verdict == OK
    h = [W_info(0, 0, 2, "x", 1), R(1, 3, 4, "x", 1), R(1, 5, 6, "x", None)]
    assert check(h, KV).verdict == ILLEGAL


def test_an_operation_of_unknown_outcome_cannot_take_effect_before_its_call():
    h = [R(1, 0, 1, "x", 1), W_info(0, 2, 3, "x", 1)]
    assert check(h, KV).verdict == ILLEGAL


def test_the_output_of_an_operation_of_unknown_outcome_is_ignored():
    # recorded as False, but the outcome is unknown: it may have swapped
    cas = Operation(1, 2, 3, ("cas", "x", 4, 9), False, unknown=True)
    h = [W(0, 0, 1, "x", 4), cas, R(2, 5, 6, "x", 9)]
    assert check(h, KV).verdict == OK
    assert check(h[:1] + [CAS(1, 2, 3, "x", 4, 9, False)] + h[2:], KV).verdict == ILLEGAL


def test_an_operation_that_never_returned_has_no_unknown_outcome():
    with pytest.raises(ValueError, match="never returned cannot have returned"):
        Operation(0, 0, None, ("write", "x", 1), unknown=True)
    assert W(0, 0, None, "x", 1).indeterminate and W(0, 0, None, "x", 1).pending
    assert W_info(0, 0, 1, "x", 1).indeterminate and not W_info(0, 0, 1, "x", 1).pending
    assert not W(0, 0, 1, "x", 1).indeterminate


def test_concurrent_appends_are_seen_in_one_order_by_everyone():
    # Jepsen's list-append on one key: appends 1 and 2 overlap; reads fix their order
    appends = [A(0, 0, 10, "x", 1), A(1, 0, 10, "x", 2)]
    for seen, verdict in (((1, 2), OK), ((2, 1), OK), ((1,), ILLEGAL), ((2, 2), ILLEGAL)):
        assert check(appends + [R(2, 11, 12, "x", seen)], KV).verdict == verdict
    assert check(appends + [R(2, 5, 6, "x", (2,)), R(2, 11, 12, "x", (2, 1))], KV).verdict == OK
    flipped = appends + [R(2, 5, 6, "x", (1, 2)), R(2, 11, 12, "x", (2, 1))]
    assert check(flipped, KV).verdict == ILLEGAL


def test_a_lost_append_is_illegal():
    h = [A(0, 0, 1, "x", 1), A(1, 2, 3, "x", 2), R(2, 4, 5, "x", (2,))]
    assert check(h, KV).verdict == ILLEGAL
    assert check(h[:2] + [R(2, 4, 5, "x", (1, 2))], KV).verdict == OK
    assert check(h[:2] + [R(2, 4, 5, "x", (2, 1))], KV).verdict == ILLEGAL  # out of order


def test_an_append_of_unknown_outcome_may_appear_once_at_most():
    info = Operation(0, 0, 1, ("append", "x", 1), None, unknown=True)
    later = A(1, 2, 3, "x", 2)
    assert check([info, later, R(2, 4, 5, "x", (2,))], KV).verdict == OK
    assert check([info, later, R(2, 4, 5, "x", (2, 1))], KV).verdict == OK  # applied late
    assert check([info, later, R(2, 4, 5, "x", (1, 2, 1))], KV).verdict == ILLEGAL


def test_keys_are_checked_independently():
    h = [W(0, 0, 1, "x", 1), W(0, 2, 3, "y", 2), R(1, 4, 5, "y", 2), R(1, 6, 7, "x", None)]
    res = check(h, KV)
    assert res.verdict == ILLEGAL
    assert res.partitions == 2
    assert [op.input[1] for op in res.partition] == ["x", "x"]


def test_touching_operations_are_concurrent():
    # a returns at 5 and b is called at 5: not ordered, so b may precede a
    h = [W(0, 0, 5, "x", 1), R(1, 5, 6, "x", None)]
    assert check(h, KV).verdict == OK


def _hard_history(n_ops: int) -> list[Operation]:
    """Many overlapping writes and reads on one key: a large search."""
    rng = random.Random(7)
    ops = []
    for i in range(n_ops):
        t = i * 0.5
        if i % 3:
            ops.append(W(i % 40, t, t + 30, "x", rng.randrange(3)))
        else:
            ops.append(R(i % 40, t, t + 30, "x", rng.randrange(3)))
    return ops


def test_time_limit_gives_unknown_never_ok():
    res = check(_hard_history(3000), KV, timeout=0.0)
    assert res.verdict == UNKNOWN
    assert res.witness == []
    assert res.reason == "time limit of 0.0 s reached; undecided partitions: 0"


def _pathological(key: str, writers: int = 16, readers: int = 8) -> list[Operation]:
    """Mutually concurrent writes of distinct values and reads of them, then a read of a
    value nobody wrote: illegal, but only after trying about writers * 2**writers orders."""
    ops = [W(c, c * 0.01, 100, key, c) for c in range(writers)]
    ops += [R(writers + c, 1 + c * 0.01, 100, key, c % writers) for c in range(readers)]
    return ops + [R(99, 101, 102, key, -1)]


def _long_stale_read(key: str, writes: int = 1000) -> list[Operation]:
    """Sequential writes, then a read of the first value: illegal after some 4,000 steps
    (more than one slice of the search)."""
    ops = [W(0, 2 * i, 2 * i + 1, key, i) for i in range(writes)]
    return ops + [R(1, 2 * writes, 2 * writes + 1, key, 0)]


def test_a_pathological_key_cannot_hide_a_later_illegal_one():
    # "a" comes first in the key order; searched alone it exhausts any time limit
    assert check(_pathological("a"), KV, timeout=0.5).verdict == UNKNOWN
    for h in (_pathological("a") + _long_stale_read("b"), _long_stale_read("b") + _pathological("a")):
        res = check(h, KV, timeout=5.0)
        assert res.verdict == ILLEGAL
        assert {op.input[1] for op in res.partition} == {"b"}
        assert res.seconds < 1.0  # a few rounds of both searches, far from the limit
        assert res.unlinearizable == R(1, 2000, 2001, "b", 0)
        assert res.longest_prefix == _long_stale_read("b")[:-1]


def test_an_illegal_key_that_needs_several_rounds_is_found_behind_a_pathological_one():
    # "b" alone takes 84 slices of the search, 3 in round 0: found in round 5, when "a"
    # (6 slices in round 0) has taken 192
    res = check(_pathological("a") + _pathological("b", writers=9, readers=4), KV, timeout=10.0)
    assert res.verdict == ILLEGAL
    assert {op.input[1] for op in res.partition} == {"b"}


def test_ok_needs_every_partition_decided():
    res = check(_pathological("a") + _long_stale_read("b", 10)[:-1], KV, timeout=0.5)
    assert res.verdict == UNKNOWN and res.witness == []
    assert res.reason == "time limit of 0.5 s reached; undecided partitions: 0"


def test_the_memo_cap_stops_a_search_undecided_never_ok():
    res = check(_hard_history(3000), KV, max_memo=100)  # linearizable, but not within 100
    assert res.verdict == UNKNOWN and res.witness == []
    assert res.reason == "partition 0: memo cap of 100 entries reached (547 entries)"


def test_the_memo_cap_stops_the_largest_memo_first():
    # "a" fills the memo in round 0 and is stopped; "b" (at most 1,001 entries) goes on
    res = check(_pathological("a") + _long_stale_read("b"), KV, max_memo=3000)
    assert res.verdict == ILLEGAL
    assert {op.input[1] for op in res.partition} == {"b"}
    res = check(_pathological("a") + _long_stale_read("b")[:-1], KV, max_memo=3000)
    assert res.verdict == UNKNOWN
    assert res.reason.startswith("partition 0: memo cap of 3,000 entries reached")


def _out_of_memory_on(key: str, model: KVModel) -> KVModel:
    """``model``, whose steps on ``key`` raise MemoryError (as an exhausted heap would)."""
    step = model.step

    def step_or_fail(state, input, output):
        if input[1] == key:
            raise MemoryError
        return step(state, input, output)

    model.step = step_or_fail  # type: ignore[method-assign]
    return model


def test_a_memory_error_leaves_its_partition_undecided_and_the_others_go_on():
    ok_b = _long_stale_read("b", 10)[:-1]
    res = check([W(0, 0, 1, "a", 1)] + ok_b, _out_of_memory_on("a", KVModel()))
    assert res.verdict == UNKNOWN and res.witness == []
    assert res.reason == "partition 0: out of memory (MemoryError)"
    res = check([W(0, 0, 1, "a", 1)] + _long_stale_read("b"), _out_of_memory_on("a", KVModel()))
    assert res.verdict == ILLEGAL
    assert {op.input[1] for op in res.partition} == {"b"}


def test_a_memory_error_outside_the_searches_is_unknown_too(monkeypatch):
    def no_memory(self, ops):
        raise MemoryError

    monkeypatch.setattr(KVModel, "partition", no_memory)
    res = check([W(0, 0, 1, "a", 1)], KVModel())
    assert res.verdict == UNKNOWN
    assert res.reason == "out of memory (MemoryError)"


class Counter:
    """Another sequential specification: one counter, ``("inc",)`` and ``("get",)``."""

    def init(self):
        return 0

    def step(self, state, input, output):
        return (True, state + 1) if input == ("inc",) else (output == state, state)

    def step_unknown(self, state, input):
        return state + 1 if input == ("inc",) else state

    def partition(self, ops):
        return [list(ops)]

    def read_only(self, op):
        return op.input == ("get",)


def test_the_checker_takes_any_sequential_model():
    inc, get = ("inc",), ("get",)
    h = [Operation(0, 0, 1, inc), Operation(1, 0, 1, inc), Operation(2, 2, 3, get, 2)]
    assert check(h, Counter()).verdict == OK
    stale = h[:2] + [Operation(2, 2, 3, get, 1)]  # both increments returned before the get
    assert check(stale, Counter()).verdict == ILLEGAL


def test_json_round_trip():
    h = [W(0, 0, 1, "x", 1), CAS(1, 2, None, "x", 1, 2, None), W_info(2, 3, 4, "x", 3),
         A(3, 5, 6, "y", (1, 2)), R(3, 7, 8, "y", ((1, 2),))]  # tuples as values come back
    data = history_to_json(h)
    assert history_from_json(json.loads(json.dumps(data))) == h
    # only an operation of unknown outcome carries the key (older histories stay as they were)
    assert [sorted(d) for d in data[1:3]] == [
        ["call", "client", "input", "output", "ret"],
        ["call", "client", "input", "output", "ret", "unknown"],
    ]


# --- against brute force -------------------------------------------------------------


def _brute_force(ops: list[Operation]) -> bool:
    done = [o for o in ops if not o.indeterminate]
    pending = [o for o in ops if o.indeterminate]
    for k in range(len(pending) + 1):
        for chosen in itertools.combinations(pending, k):
            cand = done + list(chosen)
            for perm in itertools.permutations(cand):
                if _respects_time(perm) and _legal(KV, perm):
                    return True
    return False


def _respects_time(perm) -> bool:
    for i, a in enumerate(perm):
        for b in perm[:i]:
            if not a.indeterminate and a.ret < b.call:
                return False
    return True


def _legal(model: KVModel, perm) -> bool:
    s = model.init()
    for o in perm:
        if o.indeterminate:
            s = model.step_unknown(s, o.input)
            continue
        ok, s = model.step(s, o.input, o.output)
        if not ok:
            return False
    return True


@st.composite
def small_histories(draw):
    n = draw(st.integers(1, 5))
    ops = []
    for c in range(n):
        call = draw(st.integers(0, 6))
        ret = draw(st.one_of(st.none(), st.integers(call, 8)) if c == 0 else st.integers(call, 8))
        kind = draw(st.sampled_from(["read", "write", "cas", "append"]))
        v = draw(st.sampled_from([None, 1, 2, (1,), (2,), (1, 2), (2, 1), (2, 1, 2)]))
        if kind == "read":
            op = R(c, call, ret, "k", v)
        elif kind == "write":
            op = W(c, call, ret, "k", draw(st.sampled_from([1, 2])))
        elif kind == "append":
            op = A(c, call, ret, "k", draw(st.sampled_from([1, 2])))
        else:
            op = CAS(c, call, ret, "k", v, draw(st.sampled_from([1, 2])), draw(st.booleans()))
        if ret is not None and c == 1 and draw(st.booleans()):  # returned, outcome unknown
            op = dataclasses.replace(op, unknown=True)
        ops.append(op)
    return ops


@settings(max_examples=400, deadline=None)
@given(small_histories())
def test_agrees_with_brute_force(ops):
    res = check(ops, KV)
    assert (res.verdict == OK) == _brute_force(ops)
    if res.verdict == ILLEGAL:  # the report: a legal prefix, then a determinate operation
        assert _respects_time(res.longest_prefix) and _legal(KV, res.longest_prefix)
        op = res.unlinearizable
        assert op in ops and op not in res.longest_prefix and not op.indeterminate
