"""The packed encoding the checker runs (spec/multipaxos/fast) is the readable
transcription (spec/multipaxos/tla), state for state and step for step."""

from __future__ import annotations

from collections import deque

import pytest

from quorum.model_checker.explicit.bfs import check
from quorum.spec.multipaxos import MultiPaxosModel
from quorum.spec.multipaxos.config import Config
from quorum.spec.multipaxos.fast import decode
from quorum.spec.multipaxos.tla import ReferenceModel

CONFIGS = [
    (Config(max_ballot=1), 4306),
    (Config(replicas=2, max_ballot=2), 1163),
    (Config(replicas=2, max_ballot=2, notice_ballot=True), 1163),
    (Config(replicas=2, max_ballot=2, mutant="ceil-quorum", notice_ballot=True), 15953),
    (Config(replicas=2, max_ballot=2, mutant="hole-without-noop"), 1163),
    (Config(replicas=2, max_ballot=2, mutant="skip-phase1-slots", any_request=True), 2303),
    pytest.param(Config(replicas=2, max_ballot=3, any_request=True, mutant="recover-by-arrival"),
                 40181, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("cfg,states", CONFIGS, ids=lambda x: repr(x) if isinstance(x, int) else
                         f"{x.replicas}r-b{x.max_ballot}-{x.mutant}-{x.notice_ballot}")
def test_same_states_same_labelled_steps_same_verdicts(cfg, states):
    packed, readable = MultiPaxosModel(cfg), ReferenceModel(cfg)
    init = next(iter(packed.initial_states()))
    assert decode(cfg, init) == next(iter(readable.initial_states()))
    seen, queue = {init}, deque([init])
    while queue:
        s = queue.popleft()
        d = decode(cfg, s)
        steps = list(packed.successors(s))
        assert [(label, decode(cfg, t)) for label, t in steps] == list(readable.successors(d))
        for name, holds in packed.invariants.items():
            assert holds(s) == readable.invariants[name](d), name
        for _, t in steps:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    assert len(seen) == states


@pytest.mark.parametrize("cfg", [Config(max_ballot=1), Config(max_ballot=2, reads=0)])
def test_same_orbit_counts_under_symmetry(cfg):
    a = check(MultiPaxosModel(cfg, use_symmetry=True))
    b = check(ReferenceModel(cfg, use_symmetry=True))
    assert a.ok and b.ok
    assert (a.distinct_states, a.generated_states, a.depth) == \
        (b.distinct_states, b.generated_states, b.depth)
