"""Conformance: the store's own code, run in the simulator, checked against the specs.

Theory of operation.  :func:`quorum.impl.sim.run_schedule` runs a schedule on the real
Raft core, WAL and key-value store and calls *observers* after every event; this package
supplies them, and judges the clients' history at the end.  Four checks, each reporting
a :class:`~quorum.conformance.failure.Failure` that names it:

* ``safety`` (:mod:`~quorum.conformance.ghost`): the implementation's own safety, read
  from the concrete cluster plus ghost (history) state, as raft.tla's history variables
  (one leader per term, one entry per applied index, committed entries durable on a
  majority, the commit rule, restarts, stale messages).  It needs no spec;
* ``invariants`` (:mod:`~quorum.conformance.invariants`): the Raft spec's own invariant
  functions on the abstract image of the cluster after every event;
* ``refinement`` (:mod:`~quorum.conformance.steps`): every event is a short path of the
  spec's steps from the abstract pre-state to the abstract post-state (tla profiles);
* ``linearizability`` (:mod:`~quorum.conformance.runner`): the client history against
  the store's sequential specification (``quorum.spec.kv``), by the generic history
  checker of ``quorum.model_checker.history``.

The abstract image is :mod:`~quorum.conformance.abstraction`'s: the one mapping of
implementation state (nodes, durable logs, messages in flight) onto ``quorum.spec.raft``'s
``State``.  :mod:`~quorum.conformance.runner` wires it together (:func:`check_schedule`,
:func:`shrink`); ``quorum sim`` and the tests call it.  :mod:`~quorum.conformance.sweep`
runs many generated schedules over worker processes, for ``quorum verify-impl`` and
``benchmarks/soak.py``.

Start reading at :mod:`~quorum.conformance.failure` (what a check reports), then
:mod:`~quorum.conformance.runner` (how the checks run), then the check you care about.
``docs/refinement.md`` explains each check and the mapping variable by variable.  This
package may import ``spec``, ``impl`` and ``model_checker``; none of them imports it.
"""

from quorum.conformance.failure import ALL_CHECKS, Check, Failure
from quorum.conformance.runner import CheckedRun, ChecksError, check_schedule, shrink

__all__ = ["ALL_CHECKS", "Check", "CheckedRun", "ChecksError", "Failure", "check_schedule",
           "shrink"]
