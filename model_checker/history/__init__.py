"""Checkers of recorded histories, as opposed to searches of a model's states.

``linearizability.py`` judges a history of client operations against any sequential
specification (a ``SeqModel``); it knows no store (the key-value store's specification is
``quorum.spec.kv``, passed in by ``quorum.conformance.runner``).
"""
