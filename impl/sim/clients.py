"""Client sessions of the simulator, and the history they record.

Each client has at most one operation outstanding (as a Jepsen/Porcupine client
process).  An operation is sent to a contact node: a write or compare-and-swap is
proposed there (a follower forwards it to its leader), a read asks the node for a
ReadIndex and is served from its state machine once that index is applied.  The
history records, per operation, the client, the times of call and return (the
simulator's event numbers, so real-time order is event order), the input and the
output:

* ``("read", key)`` -> the value (``None`` when absent);
* ``("write", key, value)`` -> ``None``;
* ``("cas", key, old, new)`` -> ``True`` when it swapped.

Writes and compare-and-swaps carry a client session ``(session_id, seq)`` (Raft thesis
6.3, :mod:`quorum.impl.kv.sessions`), so a proposal the network duplicates executes once.  A client
that gives up on an operation starts a new session, as the store requires.

Values are small ints standing for ``b"v<int>"``.  An operation refused on the spot
(no known leader) took no effect and is not recorded.  One whose contact node crashed,
or that got no answer within the client timeout, is recorded with ``ret=None``: it may
or may not have taken effect.  The history is plain data (dicts); the linearizability
checker lives in ``model_checker/`` and this package does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quorum.impl.kv import Compare, Put, Txn, encode
from quorum.impl.kv.commands import CompareResult, CompareTarget
from quorum.impl.kv.results import KVError, RangeResult, Result, TxnResult

__all__ = ["Client", "OpRecord", "key_bytes", "make_command", "output_of", "value_bytes"]

OP_KINDS = ("read", "write", "cas")


def key_bytes(k: int) -> bytes:
    return b"k%d" % k


def value_bytes(v: int) -> bytes:
    return b"v%d" % v


@dataclass
class OpRecord:
    """One operation of the history (see the module docstring)."""

    client: int
    call: int
    input: tuple[Any, ...]
    request_id: int
    node: int
    deadline: int
    ret: int | None = None
    output: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"client": self.client, "call": self.call, "ret": self.ret,
                "input": list(self.input), "output": self.output}


@dataclass
class Client:
    id: int
    leader_hint: int
    seq: int = 0
    current: OpRecord | None = None
    history: list[OpRecord] = field(default_factory=list)
    session: int = 1  # the store's client id is (id + 1) << 32 | session
    session_seq: int = 0  # last seq proposed in this session

    def next_request_id(self) -> int:
        self.seq += 1
        return (self.id + 1) << 24 | self.seq

    def session_id(self) -> int:
        return (self.id + 1) << 32 | self.session

    def new_session(self) -> None:
        """Called when the client gives up on an operation (it may still be applied)."""
        self.session, self.session_seq = self.session + 1, 0


def make_command(kind: int, key: int, value: int, request_id: int, values: int,
                 session: tuple[int, int] = (0, 0)) -> tuple[tuple[Any, ...], bytes | None]:
    """The history input of an operation and, for writes, its log entry bytes (with the
    client session ``(client_id, seq)``; ``(0, 0)``: none)."""
    k = key_bytes(key)
    if kind == 0:
        return ("read", key), None
    if kind == 1:
        return ("write", key, value), encode(Put(k, value_bytes(value)), request_id, *session)
    old, new = value, (value + 1) % values
    txn = Txn(compare=(Compare(k, CompareTarget.VALUE, CompareResult.EQUAL, value_bytes(old)),),
              success=(Put(k, value_bytes(new)),))
    return ("cas", key, old, new), encode(txn, request_id, *session)


def output_of(op: OpRecord, result: Result | None) -> Any:
    """The history output for a result of the store (``None`` result: an early write ack)."""
    kind = op.input[0]
    if isinstance(result, KVError):
        raise AssertionError(f"the store refused a well-formed request: {result}")
    if kind == "read":
        assert isinstance(result, RangeResult)
        return int(result.kvs[0].value[1:]) if result.kvs else None
    if kind == "cas":
        assert isinstance(result, TxnResult)
        return result.succeeded
    return None
