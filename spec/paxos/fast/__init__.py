"""Single-decree Paxos in a bit-set encoding: the state machine the checker runs.

The same modules as :mod:`quorum.spec.paxos.tla` (the readable transcription of
Paxos.tla): :mod:`.state` (the variables, as bit sets), :mod:`.actions` (``Next``),
:mod:`.properties` (the invariants, memoized on projections of the state), plus
:mod:`.symmetry` (an exact canonical form).  ``tests/spec/paxos/test_encodings.py``
proves the two encodings equal on states, steps and verdicts.

It runs the decisions of :class:`~quorum.spec.paxos.rules.Rules` listed in
:data:`.actions.SUPPORTED` (today all of them) and refuses rules that change another
(:class:`~quorum.spec.common.Unsupported`).  Its symmetry reduction assumes, as every
mutant's rules do, that no rule tells one acceptor or one value from another.
"""
