"""The explicit Paxos spec and the symbolic one describe the same protocol.

For a small instance (3 acceptors, 2 values, ballots 0..1: Paxos.tla's reference
model, 3,921 states) every reachable state of ``spec/paxos/fast/``, translated
into a finite first-order structure, satisfies the symbolic invariant of
``spec/paxos/symbolic.py`` and its Agreement, and every explicit step satisfies the
transition formula of the symbolic action of the same name, with the label's
arguments (the quorum, absent from the label, existentially); and every symbolic
action enabled with some label arguments is an explicit step with that label.  If
either model drifts (a guard changed on one side only) a state, a step or an enabled
action stops matching; the known-bug mutants and a weakened symbolic Phase2b show
that the test notices.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import z3

from quorum.model_checker.model import Label
from quorum.model_checker.symbolic.structure import compile_formula
from quorum.model_checker.symbolic.system import TransitionSystem, symbols_of
from quorum.spec.paxos import PaxosModel, symbolic
from quorum.spec.paxos.config import Config, acceptor_name, value_name

TS = TransitionSystem.from_data(symbolic.system())
#: the action parameters that explicit labels carry (Phase2a's quorum is not one)
LABEL_PARAMS = ("a", "b", "v")


def ballot(b: int) -> str:
    return "neg" if b < 0 else f"b{b}"


def value(v: int) -> str:
    return "none" if v < 0 else value_name(v)  # value_name(-1) is Paxos.tla's "None"


def quorum(q: frozenset[int]) -> str:
    return "q" + "".join(str(a + 1) for a in sorted(q))


def universe(cfg: Config) -> dict[str, tuple[str, ...]]:
    return {
        "acceptor": tuple(acceptor_name(a) for a in range(cfg.acceptors)),
        "ballot": tuple(ballot(b) for b in range(-1, cfg.max_ballot + 1)),
        "value": tuple(value(v) for v in range(-1, cfg.values)),
        "quorum": tuple(quorum(q) for q in cfg.quorum_sets()),
    }


def rigid(cfg: Config) -> dict[str, Any]:
    bs = range(-1, cfg.max_ballot + 1)
    return {
        "le": frozenset((ballot(x), ballot(y)) for x in bs for y in bs if x <= y),
        "member": frozenset((acceptor_name(a), quorum(q)) for q in cfg.quorum_sets() for a in q),
        "neg": "neg", "none": "none",
    }


def translate(model: PaxosModel, s: Any) -> dict[str, Any]:
    """The explicit state, as Paxos.tla's records (``render``), as symbolic relations."""
    r = model.render(s)
    msgs: dict[str, list[Any]] = {"1a": [], "1b": [], "2a": [], "2b": []}
    for m in r["msgs"]:
        msgs[m.type].append(m)
    return {
        "left": frozenset((a, ballot(x)) for a, top in r["maxBal"].items()
                          for x in range(-1, top)),
        "msg1a": frozenset((ballot(m.bal),) for m in msgs["1a"]),
        "msg1b": frozenset((m.acc, ballot(m.bal)) for m in msgs["1b"]),
        "msg2a": frozenset((ballot(m.bal), m.val) for m in msgs["2a"]),
        "msg2b": frozenset((m.acc, ballot(m.bal), m.val) for m in msgs["2b"]),
    }


def label_args(label: Label) -> dict[str, str]:
    """Label parameters as symbolic elements: acceptor and value names pass through."""
    return {k: ballot(v) if k == "b" else str(v) for k, v in label[1]}


def reachable(model: PaxosModel) -> Iterator[tuple[Any, list[Any]]]:
    """Every reachable state (BFS over the model's own successors) with its steps."""
    start = list(model.initial_states())
    seen, frontier = set(start), start
    while frontier:
        nxt = []
        for s in frontier:
            steps = list(model.successors(s))
            yield s, steps
            for _, t in steps:
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt


class Checker:
    """The symbolic formulas compiled once over the instance's universes."""

    def __init__(self, model: PaxosModel, ts: TransitionSystem = TS) -> None:
        self.model, self.universe, self.rigid = model, universe(model.cfg), rigid(model.cfg)
        compile_ = self._compile
        self.invariant = {k: compile_(f) for k, f in ts.invariant.items()}
        self.safety = {k: compile_(f) for k, f in ts.safety.items()}
        self.actions: dict[str, Callable[..., Any]] = {}
        self.guards: dict[str, tuple[list[tuple[str, tuple[str, ...]]], Callable[..., Any]]] = {}
        post = {d.name() for d in ts.post}
        for name, action in ts.actions.items():
            shown = [p for p in action.params if p.decl().name() in LABEL_PARAMS]
            hidden = [p for p in action.params if p.decl().name() not in LABEL_PARAMS]
            self.actions[name] = compile_(z3.Exists(hidden, action.formula) if hidden
                                          else action.formula)
            # the guard: the conjuncts that do not mention the post-state
            guard = z3.And([c for c in action.formula.children() if not symbols_of(c) & post])
            domains = [(p.decl().name(), self.universe[p.sort().name()]) for p in shown]
            self.guards[name] = (domains, compile_(z3.Exists(hidden, guard) if hidden
                                                   else guard))

    def _compile(self, formula: z3.ExprRef) -> Callable[..., Any]:
        return compile_formula(formula, self.universe)

    def broken_conjuncts(self, s: Any) -> list[str]:
        interp = {**self.rigid, **translate(self.model, s)}
        checks = {**self.invariant, **self.safety}
        return [k for k, f in checks.items() if not f(interp, ())]

    def step_matches(self, s: Any, label: Label, t: Any) -> bool:
        post = {k + "'": v for k, v in translate(self.model, t).items()}
        interp = {**self.rigid, **translate(self.model, s), **post, **label_args(label)}
        return bool(self.actions[label[0]](interp, ()))

    def enabled(self, s: Any) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        """Every (action, label arguments) whose symbolic guard holds in s."""
        interp = {**self.rigid, **translate(self.model, s)}
        out = set()
        for name, (domains, guard) in self.guards.items():
            names = [n for n, _ in domains]
            for values in itertools.product(*(d for _, d in domains)):
                binding = dict(zip(names, values, strict=True))
                if guard({**interp, **binding}, ()):
                    out.add((name, tuple(sorted(binding.items()))))
        return out


def crosscheck(cfg: Config, ts: TransitionSystem = TS) -> tuple[int, int, list[Any]]:
    """(states, steps, mismatches): the first few states or steps that do not match.

    Both directions: every explicit step is a symbolic step, and every symbolic action
    enabled with some label arguments is an explicit step with that label.
    """
    model = PaxosModel(cfg)
    checker = Checker(model, ts)
    states = steps = 0
    bad: list[Any] = []
    for s, succ in reachable(model):
        states += 1
        broken = checker.broken_conjuncts(s)
        if broken:
            bad.append(("state", s, broken))
        for label, t in succ:
            steps += 1
            if not checker.step_matches(s, label, t):
                bad.append(("step", s, label))
        explicit = {(label[0], tuple(sorted(label_args(label).items()))) for label, _ in succ}
        extra = checker.enabled(s) - explicit
        if extra:
            bad.append(("enabled", s, sorted(extra)[0]))
        if len(bad) >= 3:
            break
    return states, steps, bad


def test_small_instance_every_state_and_step_matches():
    states, steps, bad = crosscheck(Config(acceptors=2, values=2, max_ballot=1))
    assert bad == []
    assert (states, steps) == (145, 608)


@pytest.mark.slow
def test_reference_instance_every_state_and_step_matches():
    """3 acceptors, 2 values, ballots 0..1: Paxos.tla's reference bounds."""
    states, steps, bad = crosscheck(Config(acceptors=3, values=2, max_ballot=1))
    assert bad == []
    assert (states, steps) == (3921, 22994)


@pytest.mark.parametrize("mutant, kind, action", [
    ("vote-below-promise", "step", "Phase2b"),
    ("ignore-1b-votes", "step", "Phase2a"),
])
def test_a_drifted_explicit_model_is_caught(mutant, kind, action):
    cfg = Config(acceptors=2, values=2, max_ballot=1, mutant=mutant)
    _, _, bad = crosscheck(cfg)
    assert bad and bad[0][0] == kind and bad[0][2][0] == action


def test_ballots_beyond_the_reference_still_match():
    states, steps, bad = crosscheck(Config(acceptors=2, values=1, max_ballot=2))
    assert bad == []
    assert (states, steps) == (729, 3834)


def test_a_drifted_symbolic_model_is_caught():
    """Phase2b without its guard "a has not left b": every explicit step still matches,
    but the symbolic model now enables votes the explicit spec does not make."""
    sym = symbolic
    weak = z3.And(sym.msg2a(sym.b, sym.v), sym.leave_below(sym.b),
                  sym.insert(sym.MSG_2B, sym.a, sym.b, sym.v),
                  sym.unchanged(sym.MSG_1A, sym.MSG_1B, sym.MSG_2A))
    data = symbolic.system()
    data["actions"] = {**data["actions"], "Phase2b": ((sym.a, sym.b, sym.v), weak)}
    _, _, bad = crosscheck(Config(acceptors=2, values=2, max_ballot=1),
                           TransitionSystem.from_data(data))
    assert bad and bad[0][0] == "enabled" and bad[0][2][0] == "Phase2b"
