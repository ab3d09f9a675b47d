"""raft.tla as Python: the readable transcription of Ongaro's spec, the one to read.

Start at :mod:`~quorum.spec.raft.tla.actions` (raft.tla's ``Next``, one small function per
action), then :mod:`~quorum.spec.raft.tla.properties` (the five properties of the Raft
paper's Figure 3).  :mod:`~quorum.spec.raft.tla.state` holds the variables,
:mod:`~quorum.spec.raft.tla.rules` the decisions the known bugs get wrong,
:mod:`~quorum.spec.raft.tla.symmetry` the canonical form under renaming of servers and
:mod:`~quorum.spec.raft.tla.render` the names a person reads (``s1``, ``v1``, ``Leader``).

:mod:`quorum.spec.raft.fast` computes the same thing faster, module for module
(``actions``, ``properties``, ``symmetry``); :mod:`quorum.spec.raft.etcd` adds etcd's
extensions on top of this ``Next`` for trace validation.
"""
