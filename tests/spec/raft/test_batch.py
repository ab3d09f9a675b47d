"""raft.tla over arrays (``spec/raft/fast/batch.py``) is the compiled successor function's machine.

The vector engine runs :class:`~quorum.spec.raft.fast.batch.RaftBatch`; the other engines
run :func:`quorum.spec.raft.fast.actions.successor_function`, itself held to the readable
transcription by ``test_encodings.py``.  Here, on every state reached by a breadth-first
walk of several configurations: the same steps of the same actions in the same order,
equal successors (decoded from their rows), ``None`` and self-loops in the same places,
rows that decode and encode back unchanged; the invariants, the action property and the
bounds agree with the checker's own on the states and steps of every mutant (which
violate them); under symmetry a row's fingerprint is its orbit's.
"""

from __future__ import annotations

import random
from collections import deque
from itertools import permutations

import numpy as np
import pytest

from quorum.spec.raft import SPEC
from quorum.spec.raft.config import Config
from quorum.spec.raft.fast.batch import RaftBatch, supports
from quorum.spec.raft.model import RaftModel
from quorum.spec.raft.mutants import MUTANTS, RULES
from quorum.spec.raft.tla.rules import RAFT
from quorum.spec.raft.tla.symmetry import permute

CONFIGS = [
    {"servers": 3, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1},
    {"servers": 2, "values": 2, "max_term": 3, "max_log": 2, "max_msgs": 2},
    {"servers": 3, "values": 1, "max_term": 3, "max_log": 2, "max_msgs": 2},
    {"servers": 4, "values": 1, "max_term": 2, "max_log": 1, "max_msgs": 1},
    {"servers": 2, "values": 1, "max_term": 3, "max_log": 3, "max_msgs": 3},
]


def _walk(model: RaftModel, limit: int, walks: int = 300, depth: int = 80) -> list:
    """The first ``limit`` states of a breadth-first search, then the states of ``walks``
    random walks of ``depth`` steps (seeded; actions weighted as the simulator weighs
    them), which reach what a short search does not: commits, conflicting logs,
    truncations."""
    init = list(model.initial_states())
    seen, queue, states = set(init), deque(init), []
    while queue and len(states) < limit:
        s = queue.popleft()
        states.append(s)
        for _, t in model.successors_within(s):
            if t is not None and t not in seen and model.within_bounds(t):
                seen.add(t)
                queue.append(t)
    rng = random.Random(7)
    for _ in range(walks):
        s = init[0]
        for _ in range(depth):
            nxt = [(label, t) for label, t in model.successors_within(s)
                   if t is not None and t is not s and model.within_bounds(t)]
            if not nxt:
                break
            weights = [model.action_weights.get(label[0], 1.0) for label, _ in nxt]
            s = rng.choices(nxt, weights)[0][1]
            if s not in seen:
                seen.add(s)
                states.append(s)
    return states


def _steps(batch: RaftBatch, rows: np.ndarray) -> list[list[tuple[str, object]]]:
    """Per row, its steps as (action, decoded successor or None), in slot order."""
    out: list[list[tuple[str, object]]] = [[] for _ in range(len(rows))]
    for slot, enabled, parents, children in batch.expand(rows):
        assert (np.diff(parents) > 0).all() and enabled[parents].all()
        made = dict(zip(parents.tolist(), children, strict=True))
        for k in np.flatnonzero(enabled).tolist():
            out[k].append((batch.slots[slot], batch.decode(made[k]) if k in made else None))
    return out


@pytest.mark.parametrize("bounds", CONFIGS, ids=lambda b: "s{servers}v{values}t{max_term}l{max_log}m{max_msgs}".format(**b))
def test_every_step_is_the_compiled_functions_step(bounds):
    model = RaftModel(Config(**bounds))
    batch = model.batch_encoding()
    states = _walk(model, 6000)
    rows = np.stack([batch.encode(s) for s in states])
    assert all(batch.decode(r) == s for r, s in zip(rows, states, strict=True))
    assert (np.stack([batch.encode(batch.decode(r)) for r in rows]) == rows).all()
    kinds = set()
    for s, got in zip(states, _steps(batch, rows), strict=True):
        want = [(label[0], None if t is None or t is s else t) for label, t in model.successors_within(s)]
        assert got == want, s
        kinds.update((name, t is None) for name, t in got)
    # every action met, with and without a successor where it can go either way
    assert {name for name, _ in kinds} == set(batch.slots)
    assert {("Restart", True), ("Restart", False), ("Timeout", True), ("Timeout", False),
            ("AdvanceCommitIndex", True), ("AdvanceCommitIndex", False)} <= kinds


#: the mutants of raft.tla's variables (membership-without-fix needs --membership, whose
#: variables the batch encoding does not hold)
PLAIN_MUTANTS = sorted(m for m in RULES if not (SPEC.defaults(m).get("membership")
                                                or SPEC.defaults(m).get("snapshots")))


@pytest.mark.parametrize("mutant", PLAIN_MUTANTS)
def test_properties_and_bounds_agree_on_every_mutants_states_and_steps(mutant):
    """Mutants reach states that violate the invariants and steps that violate Leader
    Append-Only: the masks must say so exactly where the checker's functions do."""
    values = SPEC.defaults(mutant)
    model = SPEC.build(values, mutant, False)
    values = {k: values[k] for k in ("servers", "values", "max_term", "max_log", "max_msgs")}
    batch = RaftBatch(Config(**values))
    states = _walk(model, 3000)
    pairs = [(s, label, t) for s in states for label, t in model.successors_within(s)
             if t is not None and max(map(len, t.log)) <= batch.cap]
    assert pairs
    before = np.stack([batch.encode(s) for s, _, _ in pairs])
    after = np.stack([batch.encode(t) for _, _, t in pairs])
    for name, holds in model.invariants.items():
        want = np.array([holds(t) for _, _, t in pairs])
        assert (batch.invariants[name](after) == want).all(), name
    for name, holds in model.action_properties.items():
        want = np.array([holds(s, label, t) for s, label, t in pairs])
        assert (batch.action_properties[name](before, np.arange(len(before)), after) == want).all(), name
    assert (batch.within(after) == np.array([model.within_bounds(t) for _, _, t in pairs])).all()
    for name, holds in model.reachability.items():
        assert (batch.reachability[name](after) == np.array([holds(t) for _, _, t in pairs])).all()


def test_the_mutants_reach_violations_the_masks_report():
    """The test above compares verdicts; this shows that it compared failing ones: every
    invariant and the action property fail on some mutant's states or steps."""
    failing = set()
    for mutant in ("ceil-quorum", "commit-old-term", "no-truncate", "stale-append",
                   "follower-writes", "no-up-to-date-check"):
        model = SPEC.build(SPEC.defaults(mutant), mutant, False)
        batch = RaftBatch(model.config)
        states = _walk(model, 2000, walks=400)
        rows = np.stack([batch.encode(s) for s in states])
        failing |= {name for name, holds in batch.invariants.items() if not holds(rows).all()}
        pairs = [(s, t) for s in states for _, t in model.successors_within(s)
                 if t is not None and max(map(len, t.log)) <= batch.cap]
        before = np.stack([batch.encode(s) for s, _ in pairs])
        after = np.stack([batch.encode(t) for _, t in pairs])
        if not batch.leader_append_only(before, np.arange(len(before)), after).all():
            failing.add("LeaderAppendOnly")
    assert failing == {"ElectionSafety", "LogMatching", "LeaderCompleteness",
                       "StateMachineSafety", "LeaderAppendOnly"}, failing


def test_fingerprints_are_the_orbits():
    """Under symmetry every renaming of the servers has the state's fingerprint, and two
    states get one fingerprint exactly when the checker's canonical forms are equal."""
    model = RaftModel(Config(servers=3, values=1, max_term=2, max_log=1, max_msgs=2), symmetry=True)
    batch = model.batch_encoding()
    states = _walk(RaftModel(model.config), 8000)
    fps = batch.fingerprints(np.stack([batch.encode(s) for s in states]))
    for s, fp in zip(states[::7], fps[::7], strict=True):
        images = [permute(s, p) for p in permutations(range(3))]
        assert set(batch.fingerprints(np.stack([batch.encode(t) for t in images])).tolist()) == {int(fp)}
    forms = {}
    for s, fp in zip(states, fps.tolist(), strict=True):
        forms.setdefault(model.canonicalize(s), set()).add(fp)
    assert all(len(v) == 1 for v in forms.values())
    assert len(set(fps.tolist())) == len(forms)
    assert batch.fingerprint(states[-1]) == int(fps[-1]) and (fps != 0).all()


#: the mutants the batch encoding runs (a rule of VARIANTS, or the quorum size)
BATCH_MUTANTS = ["ceil-quorum", "commit-old-term", "follower-writes", "forget-vote",
                 "no-truncate", "no-up-to-date-check"]


@pytest.mark.parametrize("mutant", BATCH_MUTANTS[1:])
def test_every_step_of_a_mutant_is_the_compiled_functions_step(mutant):
    """Each rule of VARIANTS, on the states its mutant reaches (at the mutant's own
    bounds, where it breaks a property): the same steps as the compiled function."""
    values = SPEC.defaults(mutant)
    model = SPEC.build(values, mutant, False)
    batch = model.batch_encoding()
    assert batch is not None and sum(batch.variant.values()) == 1
    states = _walk(model, 3000, walks=300, depth=60)
    rows = np.stack([batch.encode(s) for s in states])
    for s, got in zip(states, _steps(batch, rows), strict=True):
        want = [(label[0], None if t is None or t is s else t) for label, t in model.successors_within(s)]
        assert got == want, s


def test_which_models_have_a_batch_encoding():
    """raft.tla's own rules, any quorum size and the mutants' rules of VARIANTS; not
    stale-append's branch, no extension, no symmetry over more servers than it can afford."""
    base = Config(servers=3, values=1, max_term=2, max_log=1, max_msgs=1)
    assert supports(RAFT, base, True)
    assert [m for m in sorted(RULES) if supports(RULES[m], base, False)] == BATCH_MUTANTS
    assert not supports(RAFT, Config(servers=6, values=1, max_term=2, max_log=1, max_msgs=1), True)
    assert supports(RAFT, Config(servers=6, values=1, max_term=2, max_log=1, max_msgs=1), False)
    assert RaftModel(base, RULES["stale-append"]).batch_encoding() is None
    assert RaftModel(Config(servers=3, values=1, max_term=2, max_log=1, max_msgs=1, snapshots=True)
                     ).batch_encoding() is None
    assert sorted(MUTANTS) == sorted(RULES) and len(PLAIN_MUTANTS) == len(RULES) - 1
