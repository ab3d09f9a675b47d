"""The Multi-Paxos machine of :mod:`quorum.spec.multipaxos.tla` in a packed encoding: what
the checker runs.

Same variables, same actions, same labels; only the representation differs, so that a
step allocates little and symmetry renames ints:

* a message is one int: bits 0-2 its type, 3-5 ``src``, 6-8 ``bal``, then for an
  Accept or AcceptReply bits 9-11 ``slot`` and 12-14 ``cmd``; a PrepareReply carries from
  bit 9 one 6-bit vote per slot (``vbal`` then ``vcmd``, 3 bits each); a CommitNotice its
  ``upto`` in bits 9-11 and its ``bal`` in 6-8;
* a slot's instance is one int: bits 0-1 the status, 2-4 ``cmd``, 5-7 ``vbal``, 8-10
  ``vcmd``, so ``inst >> 5`` is the vote a PrepareReply carries;
* a node is the tuple ``(leader, kvalue, commitUpTo, balPrepared, balMaxKnown, insts)``.

:func:`decode` maps a packed state to the readable one;
``tests/spec/multipaxos/test_encodings.py`` checks that both encodings reach the same
states (through :func:`decode`) with the same labelled steps and the same verdicts.
"""

from quorum.spec.multipaxos.fast.encoding import (
    FastState,
    canonicalizer,
    decode,
    decode_message,
    initial_state,
    successor_function,
)

__all__ = ["FastState", "canonicalizer", "decode", "decode_message", "initial_state",
           "successor_function"]
