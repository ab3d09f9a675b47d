"""The contract between a specification and the checker.

A specification hands the checker an object that satisfies :class:`Model`.  The
checker never imports a protocol: it only calls these methods.  ``spec/``
packages satisfy the protocol structurally (they do not import this module), so
the dependency rule "``spec/`` imports nothing of ours" holds.

Conventions a model must keep (the checker's verdicts rely on them):

* States are immutable and hashable (tuples, NamedTuples, frozensets of ints).
  Equal states must hash equally; no state may hold strings whose hash is
  randomised per process if successor order is to be reproducible.
* ``successors(s)`` yields ``(label, t)`` pairs in a fixed order.  A label is a
  plain tuple ``(action_name, ((param, value), ...))`` and carries every
  nondeterministic choice (the message received, too), so a trace can be
  replayed step by step.  Parameter values are the model's own hashable values
  (ints, tuples, the message itself), like states; how they read is the business of
  ``render_label`` (below).  Self-loops (a step that changes nothing) may be
  yielded; they count as enabled steps (for deadlock) and as generated states.
* Invariants are functions of the state's identity (``view(s)`` when a view is
  set); action properties are functions of one step ``(s, label, t)``;
  reachability ("sometimes") properties are predicates that some reachable
  state must satisfy.  None may depend on exploration history.
* ``within_bounds(s)`` is the state constraint (TLC's CONSTRAINT): a state that
  violates it is still checked against the invariants, but is neither counted
  as a distinct state nor expanded.
* ``canonicalize`` (when not ``None``) maps a state to the representative of its
  orbit under the model's symmetry group; two states share an orbit exactly when
  their canonical forms are equal.  It subsumes ``view``.
* ``render(s)`` returns a JSON-friendly description for traces: a ``dict`` of
  variable name to value, where values are ints, strings, bools, ``None``,
  tuples (sequences), frozensets (sets), dicts (functions/maps) and
  ``NamedTuple`` instances (records; hashable, so they can be set members).

Optional, for printing: ``render_label(label) -> Label``, the label as a person reads it:
the same action name and parameter names, each value rendered as ``render`` renders
states (``('Timeout', (('i', 0),))`` -> ``('Timeout', (('i', 's1'),))``).  The checker
applies it wherever it prints or exports a label: traces (``Step.action``, filled in by
every search that reports a violation), ``--json``, ITF, state graphs and trace-validation
reports (:func:`format_label` with the model, :func:`shown_label`).  Labels themselves
keep raw values, so code that reads a label never parses a printed one.  Read with
``getattr``; without it a label is printed as it is.

Optional, for printed traces only: ``render_brief(s)`` and ``render_label_brief(label)``,
as ``render`` and ``render_label`` without the fields that only proofs read (raft.tla's
``mlog``).  :func:`format_trace <quorum.model_checker.trace.format_trace>` prints them
unless asked for ``proof_fields`` (``quorum check --proof-fields``); ``--json``, ITF and
every other output keep ``render`` and ``render_label``, faithful to the TLA+ reference.

Optional attributes, for ``quorum check --liveness`` (:mod:`quorum.model_checker.explicit.liveness`).
The checker reads them with ``getattr`` and a default, so a model without them is a
model with no liveness properties and no fairness:

* ``liveness: Mapping[str, tuple[str, Callable[[state], bool]]]``: name to ``(kind,
  P)`` with kind ``"eventually"`` (``<>P``) or ``"always-eventually"`` (``[]<>P``);
* ``fairness: Sequence[tuple[str, Callable[[Label], Any]]]``: weak fairness
  conditions, each a name and a function of labels: ``True`` for the steps of one
  action instance, ``None``/``False`` for other steps, or a hashable *key* naming the
  instance a step belongs to (so one entry states TLA+'s ``\\A p : WF_vars(A(p))``, one
  condition per key).  An entry may accept several actions, as
  ``WF_vars(Phase1b(a) \\/ Phase2b(a))``.  A step that does not change the state never
  counts as a step of the action.

Optional, for guided simulation (``--simulate --strategy explore``,
:mod:`quorum.model_checker.simulation.explore`), read with ``getattr`` and a default like the above:

* ``explore_cell(s) -> Hashable``: a coarse abstraction of states (a few thousand
  cells, not millions); default: the state's identity;
* ``explore_cost(s)``: of two states in one cell, the one to keep (lower is better,
  values compared with ``<``; ties go to the state reached in fewer steps), typically
  how much of the bounds a state has used up; default: all states cost the same;
* ``action_weights: Mapping[str, float]``: the relative chance of choosing each action
  name (finite, >= 0; missing names weigh 1); default: all equal.

Optional, for speed: ``successors_within(s)``.  The searches call it instead of
``successors`` when a model has it, only on states within the bounds that satisfy
the invariants being checked.  It yields the same labels in the same order; each step
comes with its successor, or with ``None`` when the model vouches that the successor
is outside the bounds, satisfies every invariant that ``s`` satisfies, and that the step
satisfies every action property.  Such a step is counted (generated, coverage) and
nothing else: its state is never built, hashed or checked.  TLC would build and check
it, with the same verdicts, so counts and verdicts do not change.

Optional, for speed, read with ``getattr``: ``violated_invariant(s) -> str | None``, the
first invariant, in the order of ``invariants``, that ``s`` violates, or None; the
searches call it once per state instead of each invariant in turn when a run checks
every invariant (it must agree with them).  ``bounded_by_actions = True``:
``within_bounds`` is true of every reachable state (the actions themselves keep within
the bounds), so the parallel search does not call it.  ``may_leave_bounds``: a set of
action names such that every successor ``successors_within(s)`` returns (not None) for
an action outside the set is within the bounds; the parallel search asks
``within_bounds`` only of the others' successors.

Optional, for speed: ``batch_encoding() -> Batch | None``, the model's states as rows of
integers with a successor function and properties over whole arrays of rows, for the
vector engine (:mod:`quorum.model_checker.explicit.vector`, whose ``Batch`` protocol says
what it must offer; None where the model has none for its configuration).  Its steps
must be the model's own, slot for slot in the order of ``successors``, and its properties
the model's, mask for mask.

Optional, for charts and explained traces (:mod:`quorum.model_checker.chart`,
:mod:`quorum.model_checker.explain`; ``quorum check --chart FILE``), read with ``getattr``;
a model without them is printed without explanation and cannot be charted:

* ``chart_lanes() -> Sequence[str]``: one lane per node, left to right;
* ``chart_events(s, label, t) -> Iterable[tuple]``: what the step ``s -> t`` does, as
  ``("send", lane, key, caption, dest)``, ``("receive", lane, key)`` (consumes a copy),
  ``("read", lane, key)`` (the message stays), ``("drop", key)``, ``("local", lane,
  caption)`` (the chart module's docstring says how each is drawn);
* ``describe_step(s, label, t) -> str | None``: a short reading of a step for a chart's row;
* ``step_note(s, label, t) -> str | None``: a few words that :func:`format_trace
  <quorum.model_checker.trace.format_trace>` prints after the step's label, ``N: label ->
  note``, for what the label alone does not say (Raft: the handler a ``Receive`` runs);
  only printed traces show it, so labels in ``--json`` and ITF stay the model's own;
* ``explain_step(s, label, t) -> list[str]``: for a known-bug variant, why the correct
  protocol refuses this step (empty when the protocol takes it too);
* ``explain_violation(s, property) -> list[str]``: the witness of a violation in ``s``;
* ``milestones(steps) -> list[tuple[int, str]]``: ``(state number, text)`` for what a
  reader should notice in ``[(label, state), ...]`` (elections, proposals, commits).

Fingerprints: the fingerprint store (:mod:`quorum.model_checker.explicit.fpset`) fingerprints a state's
identity with Python's ``hash``, which maps the ints -1 and -2 to the same value; a
model should not use both as values of one field.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "ActionProperty",
    "Fairness",
    "Invariant",
    "Label",
    "LivenessProperty",
    "Model",
    "format_label",
    "label_params",
    "shown_label",
]

S = TypeVar("S")

#: ``(action_name, ((param_name, value), ...))``
Label = tuple[str, tuple[tuple[str, Any], ...]]
Invariant = Callable[[Any], bool]
ActionProperty = Callable[[Any, Label, Any], bool]
#: ``(kind, predicate)``, kind ``"eventually"`` or ``"always-eventually"``
LivenessProperty = tuple[str, Callable[[Any], bool]]
#: ``(name, function of labels)``: weak fairness of an action instance, or of one
#: instance per key the function returns
Fairness = tuple[str, Callable[[Label], Any]]


@runtime_checkable
class Model(Protocol):
    """What the checker needs from a specification (see the module docstring)."""

    name: str
    invariants: Mapping[str, Invariant]
    action_properties: Mapping[str, ActionProperty]
    reachability: Mapping[str, Invariant]
    canonicalize: Callable[[Any], Hashable] | None
    view: Callable[[Any], Hashable] | None

    def initial_states(self) -> Iterable[Any]: ...

    def successors(self, state: Any) -> Iterable[tuple[Label, Any]]: ...

    def within_bounds(self, state: Any) -> bool: ...

    def render(self, state: Any) -> dict[str, Any]: ...


def shown_label(label: Label, model: object) -> Label:
    """``label`` as ``model`` prints it: its ``render_label(label)``, or the label as it is."""
    render: Callable[[Label], Label] | None = getattr(model, "render_label", None)
    return label if render is None else render(label)


def format_label(label: Label, model: object = None) -> str:
    """``('Phase2a', (('b', 1), ('v', 'v2')))`` -> ``Phase2a(b=1, v='v2')``; given the
    model the label comes from, its values are first rendered by it (:func:`shown_label`)."""
    name, params = label if model is None else shown_label(label, model)
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in params)})"


def label_params(label: Label) -> dict[str, Any]:
    return dict(label[1])
