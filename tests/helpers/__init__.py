"""Helpers shared by the tests (on the path through pytest's ``pythonpath = ["tests"]``).

- :mod:`helpers.cli`: running the ``quorum`` command as a user would;
- :mod:`helpers.specs`: building a spec's model with its defaults, walking its states;
- :mod:`helpers.cluster`: real ``quorum serve`` processes on loopback.
"""
