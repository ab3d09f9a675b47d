"""Executable specifications.  Pure: this package imports nothing of quorum's.

Each protocol is a subpackage exposing ``SPEC`` (a :class:`spec.common.SpecInfo`):
its name, parameters, mutants and a ``build`` function returning a model that
satisfies ``model_checker.model.Model`` structurally.
"""
