"""Single-decree Paxos in a bit-set encoding: the state machine the checker runs.

The same modules as :mod:`quorum.spec.paxos.tla` (the readable transcription of
Paxos.tla): :mod:`.state` (the variables, as bit sets), :mod:`.actions` (``Next``),
:mod:`.properties` (the invariants, memoized on projections of the state), plus
:mod:`.symmetry` (an exact canonical form).  ``tests/spec/paxos/test_encodings.py``
proves the two encodings equal on states, steps and verdicts.
"""
