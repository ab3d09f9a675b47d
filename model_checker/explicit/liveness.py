r"""Liveness under weak fairness: "eventually P" and "always eventually P" on the state graph.

Theory of operation.  The whole reachable state graph is built (a networkx ``DiGraph``;
states are nodes, each edge carries the labels of the steps between its two states).
A behaviour of a TLA+ spec may stutter (repeat its state) at any point, so every node
also has an implicit stuttering self-loop.  A behaviour that violates

* ``<>P`` (``("eventually", P)``) never visits a P-state: it stays in the ¬P states
  reachable from an initial ¬P state through ¬P states, and ends in a cycle there;
* ``[]<>P`` (``("always-eventually", P)``) eventually stays in ¬P states forever: it
  ends in a cycle of ¬P states, reached by any path.

Such a behaviour must also be *fair*.  The model's fairness conditions are weak
fairness of actions, one per action instance (``WF_vars(A(p))`` for each p).  Each
entry is a function of a label: ``True`` for a step of its (single) action instance,
``None``/``False`` for other steps, or any other value as the *key* of the instance the
step belongs to, so that one entry can state ``\A p : WF_vars(A(p))`` without listing
the p (e.g. ``lambda lab: lab if lab[0] == "Receive" else None``: one condition per
message received).  A step is an A-step when it also changes the state (a
``<<A>>_vars`` step).  Enabledness is judged within the state constraint, as TLC does:
a step to a state outside it is no step of the graph.  A cycle is weakly fair to A when it
takes an A-step or passes through a state where A is not enabled.  Both conditions
only get easier on a larger set of states, so it suffices to test the maximal strongly
connected components (SCCs) of the ¬P subgraph: a component C is fair when, for every
condition, C has an internal A-edge or a state where A is disabled.  The counterexample
is a *lasso*: the shortest prefix from an initial state into a fair component, then a
cycle in it that takes each needed A-step or visits each needed disabling state and
returns (or stutters forever, when nothing needs to happen).

Symmetry reduction is refused: a cycle of orbits need not be a cycle of states, so the
verdict can be wrong (TLC's documented pitfall).  Views are refused for the same reason.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import networkx as nx

from quorum.model_checker.errors import CheckError, UnknownProperty
from quorum.model_checker.model import Label, Model
from quorum.model_checker.result import Result, Step, Violation, shown_steps

__all__ = ["LIVENESS_KINDS", "StateGraph", "check_liveness", "fairness_of", "liveness_of",
           "state_graph"]

LIVENESS_KINDS = ("eventually", "always-eventually")
Fairness = Sequence[tuple[str, Callable[[Label], bool]]]


def liveness_of(model: Model) -> dict[str, tuple[str, Callable[[Any], bool]]]:
    """The model's liveness properties (an optional attribute; none if absent)."""
    return dict(getattr(model, "liveness", None) or {})


def fairness_of(model: Model) -> list[tuple[str, Callable[[Label], bool]]]:
    """The model's weak-fairness conditions (an optional attribute; none if absent)."""
    return list(getattr(model, "fairness", None) or ())


class StateGraph:
    """The reachable states (node i is ``states[i]``, in BFS order) and their steps."""

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.states: list[Any] = []
        self.index: dict[Hashable, int] = {}
        self.initial: list[int] = []
        self.parent: list[int] = []  # the node whose step first reached it (-1: initial)
        self.generated = 0  # steps computed, self-loops included
        self.depth = 0  # BFS levels, the initial states being level 1

    def node(self, state: Any) -> tuple[int, bool]:
        """The node of a state, and whether it is new."""
        i = self.index.get(state)
        if i is not None:
            return i, False
        i = self.index[state] = len(self.states)
        self.states.append(state)
        self.parent.append(-1)
        self.graph.add_node(i)
        return i, True

    def path_to(self, v: int) -> list[int]:
        """The BFS path to node v: shortest, and the first one the search found."""
        path = [v]
        while self.parent[path[-1]] >= 0:
            path.append(self.parent[path[-1]])
        return path[::-1]

    def labels(self, u: int, v: int) -> list[Label]:
        labels: list[Label] = self.graph.edges[u, v]["labels"]
        return labels


def state_graph(model: Model, max_states: int | None = None) -> StateGraph:
    """Breadth-first, the states within the constraint and every step between them.

    Raises CheckError when the graph exceeds ``max_states`` (a partial graph would give
    no sound liveness verdict)."""
    g = StateGraph()
    queue: deque[int] = deque()
    level: list[int] = []
    for s in model.initial_states():
        g.generated += 1
        if model.within_bounds(s):
            i, new = g.node(s)
            if new:
                g.initial.append(i)
                queue.append(i)
                level.append(1)
    while queue:
        u = queue.popleft()
        g.depth = max(g.depth, level[u])
        for label, t in model.successors(g.states[u]):
            g.generated += 1
            if not model.within_bounds(t):
                continue
            v, new = g.node(t)
            if new:
                g.parent[v] = u
                queue.append(v)
                level.append(level[u] + 1)
                if max_states is not None and len(g.states) > max_states:
                    raise CheckError(f"the state graph has more than {max_states:,} states "
                                     "(--max-states); this needs the whole graph")
            if g.graph.has_edge(u, v):
                g.labels(u, v).append(label)
            else:
                g.graph.add_edge(u, v, labels=[label])
    return g


class _Fairness:
    """Per edge, the conditions its steps belong to; per node, the conditions enabled."""

    def __init__(self, g: StateGraph, conditions: Fairness) -> None:
        self.bits: dict[tuple[int, Hashable], int] = {}  # (entry, instance) -> bit
        self.edge: dict[tuple[int, int], int] = {}
        self.enabled = [0] * len(g.states)
        for u, v, labels in g.graph.edges(data="labels"):
            if u == v:
                continue  # a stuttering step is no <<A>>_vars step
            mask = 0
            for lab in labels:
                for i, (_, fair) in enumerate(conditions):
                    key = instance(fair(lab))
                    if key is not None:
                        mask |= 1 << self.bits.setdefault((i, key), len(self.bits))
            self.edge[u, v] = mask
            self.enabled[u] |= mask
        self.n = len(self.bits)
        self.full = (1 << self.n) - 1

    def unmet(self, component: set[int], g: StateGraph) -> int:
        """Conditions that a behaviour cycling through all of ``component`` violates."""
        taken, always = 0, self.full
        for u in component:
            always &= self.enabled[u]
            for v in g.graph.successors(u):
                if v in component and v != u:
                    taken |= self.edge[u, v]
        return always & ~taken


def instance(answer: Any) -> Hashable | None:
    """A fairness entry's answer for a label: None or False (not its action), True (its
    single instance) or any other value (the key of the instance: WF per key)."""
    if answer is None or answer is False:
        return None
    return True if answer is True else answer


def _bfs_path(g: StateGraph, sources: Iterable[int], allowed: Callable[[int], bool],
              goal: Callable[[int], bool]) -> list[int] | None:
    """Shortest path (node list) from a source to a goal node, through allowed nodes."""
    parent: dict[int, int | None] = {}
    queue: deque[int] = deque()
    for s in sources:
        if allowed(s) and s not in parent:
            parent[s] = None
            queue.append(s)
    while queue:
        u = queue.popleft()
        if goal(u):
            path = [u]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for v in sorted(g.graph.successors(u)):
            if v not in parent and allowed(v):
                parent[v] = u
                queue.append(v)
    return None


def _cycle(g: StateGraph, fair: _Fairness, comp: set[int], entry: int) -> list[int]:
    """A cycle from ``entry`` through ``comp`` meeting every fairness condition (nodes,
    ending back at ``entry``), or ``[entry]`` when stuttering there meets them all."""
    inside = comp.__contains__
    always = fair.full
    for u in comp:
        always &= fair.enabled[u]
    path, here = [entry], entry
    for i in range(fair.n):
        bit = 1 << i
        if not always & bit:  # some state of comp disables A: visit one
            if any(not fair.enabled[u] & bit for u in path):
                continue
            def disabled(u: int, b: int = bit) -> bool:
                return not fair.enabled[u] & b
            leg = _bfs_path(g, [here], inside, disabled)
            assert leg is not None
        else:  # A is enabled all along: take an internal A-step
            def has_step(u: int, b: int = bit) -> bool:
                return any(v in comp and v != u and fair.edge[u, v] & b
                           for v in g.graph.successors(u))
            leg = _bfs_path(g, [here], inside, has_step)
            assert leg is not None, "an unfair component was taken for fair"
            u = leg[-1]
            leg.append(min(v for v in g.graph.successors(u)
                           if v in comp and v != u and fair.edge[u, v] & bit))
        path += leg[1:]
        here = path[-1]
    if here != entry:
        back = _bfs_path(g, [here], inside, lambda u: u == entry)
        assert back is not None
        path += back[1:]
    return path


def _label(g: StateGraph, fair: _Fairness, conditions: Fairness, u: int, v: int) -> Label:
    """The label shown for the step u -> v: one of a fairness condition's, if any."""
    labels = g.labels(u, v)
    if u != v and fair.edge.get((u, v)):
        for lab in labels:
            if any(instance(f(lab)) is not None for _, f in conditions):
                return lab
    return labels[0]


def _lasso(g: StateGraph, fair: _Fairness, conditions: Fairness, name: str,
           prefix: list[int], cycle: list[int]) -> Violation:
    nodes = prefix + cycle[1:]
    steps = [Step(None, g.states[nodes[0]])]
    steps += [Step(_label(g, fair, conditions, u, v), g.states[v])
              for u, v in zip(nodes, nodes[1:], strict=False)]
    lasso = ({"stutters_in_state": len(prefix)} if len(cycle) == 1
             else {"cycle_returns_to_state": len(prefix)})
    return Violation("liveness", name, tuple(steps), lasso)


def _check_one(g: StateGraph, fair: _Fairness, conditions: Fairness, name: str, kind: str,
               holds: Callable[[Any], bool]) -> Violation | None:
    bad = [not holds(s) for s in g.states]
    if kind == "eventually":  # never P: only ¬P states, from an initial one
        region = _reachable(g, [i for i in g.initial if bad[i]], bad.__getitem__)

        def prefix_ok(u: int) -> bool:
            return u in region
    elif kind == "always-eventually":  # finally always ¬P
        region = {i for i, b in enumerate(bad) if b}

        def prefix_ok(u: int) -> bool:
            return True
    else:
        raise CheckError(f"liveness property {name}: unknown kind {kind!r} "
                         f"(expected one of {', '.join(LIVENESS_KINDS)})")
    fair_comp: dict[int, set[int]] = {}
    for comp in nx.strongly_connected_components(g.graph.subgraph(region)):
        if not fair.unmet(comp, g):
            fair_comp.update(dict.fromkeys(comp, comp))
    if not fair_comp:
        return None
    prefix = _bfs_path(g, g.initial, prefix_ok, fair_comp.__contains__)
    assert prefix is not None
    cycle = _cycle(g, fair, fair_comp[prefix[-1]], prefix[-1])
    return _lasso(g, fair, conditions, name, prefix, cycle)


def _reachable(g: StateGraph, sources: list[int], allowed: Callable[[int], bool]) -> set[int]:
    seen = set(sources)
    queue = deque(sources)
    while queue:
        for v in g.graph.successors(queue.popleft()):
            if v not in seen and allowed(v):
                seen.add(v)
                queue.append(v)
    return seen


def check_liveness(model: Model, *, properties: Iterable[str] | None = None,
                   fairness: bool = True, max_states: int | None = None) -> Result:
    """Check the model's liveness properties (all, or those named) on its state graph,
    under its weak-fairness conditions (none when ``fairness`` is False)."""
    if model.canonicalize is not None or model.view is not None:
        raise CheckError("liveness checking refuses symmetry reduction (and views): a cycle "
                         "of symmetric states need not be a cycle of states, so the verdict "
                         "could be wrong; drop --symmetry")
    table = liveness_of(model)
    names = list(table) if properties is None else list(properties)
    for name in names:
        if name not in table:
            raise UnknownProperty(f"{model.name} has no liveness property {name!r} "
                                  f"(it has: {', '.join(table) or 'none'})")
    conditions = fairness_of(model) if fairness else []
    start = time.perf_counter()
    g = state_graph(model, max_states)
    fair = _Fairness(g, conditions)
    violation = None
    for name in names:
        kind, holds = table[name]
        violation = _check_one(g, fair, conditions, name, kind, holds)
        if violation is not None:
            violation = replace(violation, trace=shown_steps(model, violation.trace))
            break
    return Result(
        model=model.name, mode="liveness", violation=violation,
        distinct_states=len(g.states), generated_states=g.generated, depth=g.depth, seconds=time.perf_counter() - start, properties_checked=tuple(names),
        extra={"fairness": ", ".join(n for n, _ in conditions) or "none"},
    )
