"""The replicated key-value store: sans-IO protocol cores, storage, state machine, runtime.

Imports neither the checker nor the specs: :mod:`quorum.conformance` maps this store's
state onto the specs and checks it (tests/test_layering.py enforces the rule).
"""
