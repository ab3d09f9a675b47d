"""A Jepsen-style harness: real `quorum serve` processes, faults, clients, a verdict.

Where :mod:`quorum.conformance` runs the store's code in a deterministic simulator,
this package runs the store as users do: ``members`` operating-system processes on
loopback, each with its own data directory on the real disk, driven through the etcd
gRPC API by concurrent clients while a nemesis crashes (SIGKILL), pauses
(SIGSTOP/SIGCONT), restarts and replaces members.  The recorded history (reads, writes,
compare-and-swaps; indeterminate operations marked) is judged by the project's
linearizability checker against :class:`quorum.spec.kv.KVModel`.  After Kingsbury's
Jepsen: a nemesis schedule, per-operation timeouts, ``:info`` operations, a final quiet
read phase, the history checked per key.

Start reading at :func:`quorum.harness.run.torture`; ``quorum torture`` is its command.

* ``processes.py``: the members as processes (start, kill -9, pause, restart, add, remove);
* ``clients.py``: the client threads and the history recorder;
* ``nemesis.py``: the seeded fault schedule and its injection, heal;
* ``verdict.py``: checking, the report of a violation, the history file;
* ``run.py``: one run, phase by phase.
"""

from quorum.harness.run import Run, Settings, torture

__all__ = ["Run", "Settings", "torture"]
