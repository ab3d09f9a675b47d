"""Checkers of recorded histories, as opposed to searches of a model's states.

``operations.py`` is the record: one ``Operation`` per client call (returned with an
output, returned with an unknown outcome, or never returned) and its JSON form.
``linearizability.py`` judges such a history against any sequential specification (a
``SeqModel``); it knows no store (the key-value store's specification is
``quorum.spec.kv``, passed in by ``quorum.conformance.runner``).
"""
