"""Rebuilding a concrete trace from the identities of the states along a path.

The search stores, per distinct state, only its identity (its canonical form under
symmetry, or its view) and a parent link.  Under symmetry the stored identities
belong to different members of an orbit, so the concrete states the search expanded
do not form a behaviour.  :func:`rebuild` replays the spec instead: from an initial
state with the first identity, it takes at each step the first successor (in the
model's order) whose identity is the next one.  Every step of the result is a real
step of the spec, so the trace can be replayed by anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from quorum.model_checker.model import Label, Model
from quorum.model_checker.result import Step, shown_steps

__all__ = ["identity_function", "rebuild"]

Accept = Callable[[Any, Label | None, Any], bool]


def identity_function(model: Model) -> Callable[[Any], Hashable] | None:
    """How the search identifies a state: canonical form, else view, else itself (None)."""
    return model.canonicalize or model.view


def rebuild(model: Model, path: Sequence[Hashable], accept_last: Accept | None = None,
            ident: Callable[[Any], Hashable] | None = None) -> tuple[Step, ...]:
    """A behaviour whose i-th state has identity ``path[i]``.

    ``accept_last(prev, label, state)`` must also hold of the last step (e.g. "this step
    violates the action property"), so that the trace shows the violation itself.
    ``ident`` maps a state to what ``path`` holds: by default its identity (canonical
    form, view, or itself); the fingerprint search passes the identity's fingerprint.
    The labels come as the model prints them too (``Step.shown``).
    """
    ident = ident or identity_function(model) or (lambda s: s)
    last = len(path) - 1
    current = None
    for s in model.initial_states():
        if ident(s) == path[0] and (last > 0 or accept_last is None or accept_last(None, None, s)):
            current = s
            break
    assert current is not None, "no initial state has the trace's first identity"
    steps = [Step(None, current)]
    for i in range(1, len(path)):
        nxt = None
        for label, t in model.successors(current):
            if ident(t) != path[i]:
                continue
            if i == last and accept_last is not None and not accept_last(current, label, t):
                continue
            nxt = (label, t)
            break
        assert nxt is not None, f"step {i} of the trace cannot be replayed"
        steps.append(Step(nxt[0], nxt[1]))
        current = nxt[1]
    return shown_steps(model, steps)
