"""The replicated key-value store: sans-IO protocol cores, storage, state machine, runtime.

Never imports ``model_checker``; only ``impl/refinement/abstraction.py`` imports ``spec``.
"""
