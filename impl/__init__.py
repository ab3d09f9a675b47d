"""The replicated key-value store: sans-IO protocol cores, storage, state machine, runtime.

Never imports ``model_checker``; only ``quorum/conformance/abstraction.py`` imports ``spec``.
"""
