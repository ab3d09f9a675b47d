"""raft.tla compiled for the checker: what ``quorum check raft`` runs.

Each module computes exactly what the module of the same name in
:mod:`quorum.spec.raft.tla` computes, only faster: :mod:`~quorum.spec.raft.fast.actions`
the labelled successors (``Next``), :mod:`~quorum.spec.raft.fast.properties` the
invariants, the action property and the bounds, :mod:`~quorum.spec.raft.fast.symmetry`
the canonical form.  ``tests/spec/raft/test_encodings.py`` proves each pair equal.  Read
:mod:`quorum.spec.raft.tla` first; read this package to see how the checker gets its speed.
"""
