"""Executable specifications.  Pure: this package imports nothing of quorum's.

Each protocol is a subpackage exposing ``SPEC`` (a :class:`quorum.spec.common.SpecInfo`):
its name, parameters, mutants and a ``build`` function returning a model that
satisfies ``quorum.model_checker.model.Model`` structurally.  ``kv.py`` is not a
protocol but the key-value store's sequential specification, the one the store's client
histories are judged linearizable against.
"""
