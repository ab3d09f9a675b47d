"""quorum: Paxos and Raft as executable specifications, a model checker, z3 proofs, and a
replicated key-value store refinement-tested against the specs.

One import root over the project's folders (see ``setup.py`` and docs/architecture.md):

- :mod:`quorum.spec`: the specifications (pure; imports nothing of ours);
- :mod:`quorum.model_checker`: the generic checker (knows no protocol);
- :mod:`quorum.impl`: the key-value store (imports neither the checker nor the specs);
- :mod:`quorum.conformance`: the implementation checked against the specs;
- :mod:`quorum.cli`: the ``quorum`` command, on top of everything.
"""

__version__ = "0.1.0"
