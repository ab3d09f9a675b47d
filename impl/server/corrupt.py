"""The corruption check: members compare hashes of their key space at one applied index,
and a member whose hash disagrees with the majority's gets a CORRUPT alarm (etcd's
``--experimental-initial-corrupt-check`` and ``--experimental-corrupt-check-time``).

Theory of operation.  Raft keeps the *logs* of members equal, and a deterministic state
machine then keeps their key spaces equal; neither protects against a member whose state
went wrong anyway (a forged or corrupted entry that Raft cannot see, a bug, a bit flip).
So a member (the *initiator*) picks a check point ``X``, its own commit index, and asks
every other member for the hash of its key space right after applying entry ``X``:

* a member that has not applied ``X`` yet remembers the request and answers once its
  state machine applies exactly ``X`` (the hash is taken between entries X and X+1, the
  same point on every member, because every member applies the same entries in order);
* a member that has already applied past ``X`` (or jumps past it by a snapshot) answers
  "past" and is left out of the comparison;
* the initiator takes its own hash the same way.

The hash is SHA-256 over the key space's snapshot encoding (keys, revisions, values and
the client session table: all of it derived from the log alone).  Once every member has
answered, or ``timeout`` seconds passed, the initiator groups the hashes: if one hash is
held by a majority of the cluster (floor(n/2)+1 members), every member with another hash
is corrupt; if none is, every member that answered is (nobody can tell who is right).
Each corrupt member is reported through ``on_corrupt(member_id, message)``, which the
node turns into a CORRUPT alarm.

When: every member runs one check once it has caught up after starting (the initial
check), and the leader runs one every ``--corrupt-check-time`` seconds when that is set.

Wire format: peer frames whose body starts with ``b"QH"`` (a Raft message is a msgpack
array and never starts with those bytes), then msgpack ``["req", check, X]`` or
``["resp", check, X, hash-or-None]``.  A malformed one is the peer's fault
(:class:`~quorum.impl.net.PeerError`: its connection is dropped).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from quorum.impl.net import PeerError

__all__ = ["HASH_PREFIX", "Checker", "decode", "encode", "verdict"]

log = logging.getLogger("quorum.server")

HASH_PREFIX = b"QH"
WAIT_LIMIT = 1024  # requests a member remembers while catching up (older ones are dropped)


def encode(*fields: Any) -> bytes:
    return HASH_PREFIX + msgpack.packb(list(fields), use_bin_type=True)


def decode(body: bytes) -> tuple[str, int, int, bytes | None]:
    """(kind, check id, index, hash) of a check frame; PeerError if malformed."""
    try:
        msg = msgpack.unpackb(body[len(HASH_PREFIX):], raw=False)
    except Exception:
        raise PeerError("hash check frame is not msgpack") from None
    ok = (isinstance(msg, list) and len(msg) in (3, 4) and msg[0] in ("req", "resp")
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                  for v in msg[1:3]))
    if ok and msg[0] == "resp":
        ok = len(msg) == 4 and (msg[3] is None or (isinstance(msg[3], bytes)
                                                   and len(msg[3]) == 32))
    if not ok or (msg[0] == "req" and len(msg) != 3):
        raise PeerError("malformed hash check frame")
    return msg[0], msg[1], msg[2], msg[3] if len(msg) == 4 else None


def verdict(hashes: dict[int, bytes], cluster_size: int) -> list[int]:
    """The members to alarm, given each answering member's hash (see the module doc)."""
    if len(set(hashes.values())) <= 1:
        return []
    (top, count), = Counter(hashes.values()).most_common(1)
    if count >= cluster_size // 2 + 1:
        return sorted(m for m, h in hashes.items() if h != top)
    return sorted(hashes)


@dataclass
class _Check:
    index: int
    members: frozenset[int]
    deadline: float
    hashes: dict[int, bytes] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)


class Checker:
    """One member's side of the check, as initiator and as responder.

    ``me``: this member's id; ``send(peer, body)`` sends a peer frame; ``key_space()``
    returns the bytes to hash (called only right after an entry is applied);
    ``on_corrupt(member, message)`` raises the alarm; ``now()`` is the loop's clock.
    """

    def __init__(self, me: int, send: Callable[[int, bytes], Any],
                 key_space: Callable[[], bytes], on_corrupt: Callable[[int, str], None],
                 now: Callable[[], float], timeout: float = 10.0) -> None:
        self.me, self.send, self.key_space, self.on_corrupt = me, send, key_space, on_corrupt
        self.now, self.timeout = now, timeout
        self._waiting: list[tuple[int, int, int]] = []  # (index, requester, check id)
        self._checks: dict[int, _Check] = {}
        self._next_check = 1
        self.completed = 0  # checks evaluated by this member as initiator
        self.mismatches = 0  # of those, how many found a corrupt member

    def _hash(self) -> bytes:
        return hashlib.sha256(self.key_space()).digest()

    # --- initiator ------------------------------------------------------------------------
    def start(self, index: int, members: frozenset[int], applied: int) -> int:
        """Begin a check at ``index`` (at most our commit index) among ``members``."""
        check = self._next_check
        self._next_check += 1
        self._checks[check] = _Check(index, members, self.now() + self.timeout)
        for peer in sorted(members - {self.me}):
            self.send(peer, encode("req", check, index))
        self._request(self.me, check, index, applied)
        return check

    def _answer(self, member: int, check: int, index: int, digest: bytes | None) -> None:
        c = self._checks.get(check)
        if c is None or c.index != index or member not in c.members:
            return  # late, or not a member of that check
        c.answered.add(member)
        if digest is not None:
            c.hashes[member] = digest
        if c.answered == c.members:
            self._finish(check)

    def _finish(self, check: int) -> None:
        c = self._checks.pop(check)
        self.completed += 1
        bad = verdict(c.hashes, len(c.members))
        if not bad:
            log.info("corruption check at index %d: %d member(s) agree", c.index,
                     len(c.hashes))
            return
        self.mismatches += 1
        hashes = ", ".join(f"{m:x}={h.hex()[:12]}" for m, h in sorted(c.hashes.items()))
        for member in bad:
            msg = (f"member {member:x} has a different key space hash at index {c.index} "
                   f"({hashes})")
            log.error("CORRUPT: %s", msg)
            self.on_corrupt(member, msg)

    def expire(self) -> None:
        """Evaluate checks past their deadline with the answers they have; forget very old
        requests we still wait to apply."""
        now = self.now()
        for check in [k for k, c in self._checks.items() if c.deadline <= now]:
            self._finish(check)

    # --- responder ------------------------------------------------------------------------
    def on_frame(self, peer: int, body: bytes, applied: int) -> None:
        kind, check, index, digest = decode(body)
        if kind == "req":
            self._request(peer, check, index, applied)
        else:
            self._answer(peer, check, index, digest)

    def _request(self, requester: int, check: int, index: int, applied: int) -> None:
        if applied == index:
            self._reply(requester, check, index, self._hash())
        elif applied > index:
            self._reply(requester, check, index, None)
        else:
            if len(self._waiting) >= WAIT_LIMIT:
                self._waiting.pop(0)
            self._waiting.append((index, requester, check))

    def _reply(self, requester: int, check: int, index: int, digest: bytes | None) -> None:
        if requester == self.me:
            self._answer(self.me, check, index, digest)
        else:
            self.send(requester, encode("resp", check, index, digest))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def applied(self, index: int) -> None:
        """The state machine has just applied ``index`` (or jumped to it by a snapshot:
        call :meth:`skipped_to` instead)."""
        if not self._waiting:
            return
        digest: bytes | None = None
        keep = []
        for want, requester, check in self._waiting:
            if want == index:
                digest = digest or self._hash()
                self._reply(requester, check, want, digest)
            elif want < index:
                self._reply(requester, check, want, None)
            else:
                keep.append((want, requester, check))
        self._waiting = keep

    def skipped_to(self, index: int) -> None:
        """A snapshot moved the state machine to ``index``: points below it are lost."""
        keep = []
        for want, requester, check in self._waiting:
            if want <= index:
                self._reply(requester, check, want, None)
            else:
                keep.append((want, requester, check))
        self._waiting = keep
