"""The readable reference spec and the fast encoding are the same state machine.

``spec/paxos/tla/`` is Paxos.tla transcribed (the one to read); ``spec/paxos/fast/``
encodes the same state in bit sets for speed.  Both are explored here and translated into
one vocabulary: their sets of reachable states, of labelled steps, and their verdicts on
every property must be equal, for the correct protocol and for every mutant.
"""

from __future__ import annotations

from collections import deque
from dataclasses import fields, make_dataclass

import pytest

from quorum.spec.common import Unsupported
from quorum.spec.paxos import SPEC, tla
from quorum.spec.paxos.config import Config
from quorum.spec.paxos.fast import state as fast
from quorum.spec.paxos.fast.actions import SUPPORTED, require_supported
from quorum.spec.paxos.rules import Rules
from quorum.spec.paxos.tla import state as reference


def to_reference(cfg: Config, s: fast.PaxosState) -> reference.PaxosState:
    lay = fast.layout(cfg)
    accs = fast.acceptors(s)
    msgs: set[reference.Message] = {reference.Msg1a(reference.MSG_1A, b)
                                    for b in lay.bits(fast.sent1a(s))}
    msgs |= {reference.Msg1b(reference.MSG_1B, *m) for m in lay.messages_1b(s)}
    msgs |= {reference.Msg2a(reference.MSG_2A, b, v) for b, v in lay.proposals(s)}
    msgs |= {reference.Msg2b(reference.MSG_2B, *vote) for vote in lay.votes(s)}
    return reference.PaxosState(tuple(map(fast.max_bal, accs)), tuple(map(fast.max_v_bal, accs)),
                                tuple(map(fast.max_val, accs)), frozenset(msgs))


def graph(model, translate=lambda s: s):
    init = list(model.initial_states())
    seen, queue, edges = set(init), deque(init), set()
    while queue:
        s = queue.popleft()
        for label, t in model.successors(s):
            edges.add((translate(s), label, translate(t)))
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return {translate(s) for s in seen}, edges, seen


@pytest.mark.parametrize("mutant,bounds", [
    (None, {}),
    (None, {"acceptors": 2, "values": 3, "max_ballot": 2}),
    ("ignore-1b-votes", {}),
    pytest.param("vote-below-promise", {}, marks=pytest.mark.slow),  # ~1 min
    pytest.param("ceil-quorum", {"acceptors": 4, "values": 1, "max_ballot": 1},
                 marks=pytest.mark.slow),  # ~3 min: the reference invariants are slow
])
def test_same_states_steps_and_verdicts(mutant, bounds):
    values = {**SPEC.defaults(mutant), **bounds}
    model = SPEC.build(values, mutant, False)
    cfg = model.cfg
    ref = tla.ReferenceModel(cfg)
    fast_states, fast_edges, raw = graph(model, lambda s: to_reference(cfg, s))
    ref_states, ref_edges, _ = graph(ref)
    assert fast_states == ref_states
    assert fast_edges == ref_edges
    for name, holds in model.invariants.items():
        ref_holds = ref.invariants[name]
        assert all(holds(s) == ref_holds(to_reference(cfg, s)) for s in raw), name
    chosen_somewhere = [ref.reachability["ValueChosen"](s) for s in ref_states]
    assert any(chosen_somewhere) == any(model.reachability["ValueChosen"](s) for s in raw)


def test_fast_declares_the_rules_it_implements_and_refuses_others():
    """The checker's encoding lists the decisions it compiles (today every one) and
    refuses rules that change a decision it does not list, rather than run Paxos.tla's."""
    assert set(SUPPORTED) == {f.name for f in fields(Rules)}
    for mutant in SPEC.mutants.values():
        require_supported(mutant.rules)
    wider = make_dataclass("Wider", [("new_decision", bool, False)], bases=(Rules,), frozen=True)
    require_supported(wider())
    with pytest.raises(Unsupported, match="does not implement the rules new_decision"):
        require_supported(wider(new_decision=True))


@pytest.mark.parametrize("mutant", [None, *SPEC.mutants])
def test_violated_invariant_is_the_first_failing_invariant(mutant: str | None) -> None:
    """The checker's one-call hook agrees with the invariants asked in turn, on every
    reachable state (fresh state objects: the per-object cache is not what answers)."""
    from tests.helpers.specs import build, reachable

    model = build(SPEC, mutant, max_ballot=1)
    names = list(model.invariants)
    counts: dict[str | None, int] = {}
    for s in reachable(model):
        first = next((n for n in names if not model.invariants[n](tuple(s))), None)
        assert model.violated_invariant(tuple(s)) == first
        counts[first] = counts.get(first, 0) + 1
    assert counts == {
        None: {None: 3921},
        "ceil-quorum": {None: 91985, "Agreement": 5808},
        "vote-below-promise": {None: 14905, "Agreement": 2848, "MsgInv": 1544},
        "ignore-1b-votes": {None: 4113, "Agreement": 512, "MsgInv": 704},
    }[mutant]
