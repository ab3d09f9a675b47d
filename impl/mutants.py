"""The store's mutant catalogue: every known bug kept behind a test-only switch.

One registry for the whole implementation.  Each :class:`Mutant` says which layer's code
holds its switch (:class:`Layer`), what goes wrong, and which check of ``quorum sim``
(``quorum.conformance.runner``: safety, invariants, refinement, linearizability) is
expected to catch it.  Its value is its name on the command line
(``quorum sim --mutant NAME``).

Every layer asks the same kind of switch, a set of members, with ``Mutant.X in
mutants``: the Raft core reads ``RaftConfig.mutants``, the Multi-Paxos core
``MultiPaxosConfig.mutants``, the storage
``DiskStorage.open(mutants=...)``, the Ready loop both drivers run
(``quorum.impl.driver.Driver``, so the server runs its bugs too) and the simulator's
driver and clients ``SimConfig.mutants``.  Each rejects at construction anything that is not a member of
its own layer (:func:`foreign`), so a misspelt or misplaced switch fails loudly instead
of silently testing nothing.  Nothing is ever switched on outside tests and
``quorum sim --mutant``; with no mutant, a switch costs one lookup in an empty set.

``tests/conformance/test_mutants.py`` keeps this table honest: every member is consulted
by the code of its layer and no other switch exists, every member is reachable from
``quorum sim --mutant``, and each is caught by its check.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

__all__ = ["Layer", "Mutant", "foreign", "names", "of_layer", "parse"]


class Layer(Enum):
    """The part of the store whose code holds a mutant's switch."""

    CORE = "core"  # quorum.impl.raft: RaftConfig.mutants
    STORAGE = "storage"  # quorum.impl.storage: DiskStorage.open(mutants=...)
    DRIVER = "driver"  # quorum.impl.driver (the shared Ready loop) and quorum.impl.sim
    MULTIPAXOS = "multipaxos"  # quorum.impl.multipaxos: MultiPaxosConfig.mutants


class Mutant(Enum):
    """A known bug of the store: its name, layer, catching check and one-line story."""

    layer: Layer
    check: str
    doc: str

    def __new__(cls, name: str, layer: Layer, check: str, doc: str) -> Mutant:
        member = object.__new__(cls)
        member._value_ = name
        member.layer, member.check, member.doc = layer, check, doc
        return member

    def __str__(self) -> str:
        return str(self.value)

    COMMIT_OLD_TERM = (
        "commit-old-term", Layer.CORE, "safety",
        "a leader commits an entry of an earlier term by counting replicas (Figure 8)")
    NO_TRUNCATE = (
        "no-truncate", Layer.CORE, "safety",
        "a follower appends without deleting conflicting entries (Figure 2, receiver rule 3)")
    STALE_APPEND = (
        "stale-append", Layer.CORE, "safety",
        "a follower accepts AppendEntries from a leader of an older term (Figure 2, rule 1)")
    LOCAL_READ = (
        "local-read", Layer.CORE, "linearizability",
        "a leader answers ReadIndex at once, without confirming its leadership (thesis 6.4)")
    PRE_VOTE_ADOPTS_TERM = (
        "pre-vote-adopts-term", Layer.CORE, "refinement",
        "a pre-vote request makes its receiver adopt the proposed term, the disruption "
        "pre-vote exists to prevent (thesis 9.6; needs --profile tla-prevote)")
    NO_FSYNC_VOTE = (
        "no-fsync-vote", Layer.STORAGE, "safety",
        "the hard state is written after the batch's fsync, so a crash may forget a vote "
        "and the restarted node vote twice in one term")
    ACK_BEFORE_COMMIT = (
        "ack-before-commit", Layer.DRIVER, "linearizability",
        "a write is acknowledged once durable on its contact node, before it is committed")
    REPLY_BEFORE_FSYNC = (
        "reply-before-fsync", Layer.DRIVER, "safety",
        "the Ready loop sends every message, votes and acknowledgements included, before "
        "the save that makes its hard state and entries durable")
    EARLY_READ_RELEASE = (
        "early-read-release", Layer.DRIVER, "linearizability",
        "the Ready loop answers a ReadIndex read once its read index is known, before the "
        "state machine has applied it (thesis 6.4)")
    NO_SESSIONS = (
        "no-sessions", Layer.DRIVER, "linearizability",
        "writes are proposed without a client session, so a duplicated proposal executes "
        "twice (thesis 6.3)")
    # --- found by the wide profile (generate_wide: even sizes, leader partitions, retries) ---
    UP_TO_DATE_INDEX_FIRST = (
        "up-to-date-index-first", Layer.CORE, "invariants",
        "a voter compares last log indexes before last terms, so a longer log of an older "
        "term wins an election (section 5.4.1 done wrong)")
    SNAPSHOT_KEEPS_CONFLICT = (
        "snapshot-keeps-conflict", Layer.CORE, "safety",
        "a follower whose log reaches a snapshot's index keeps it, even when its entry "
        "there conflicts with the snapshot's last term (section 7)")
    CEIL_MAJORITY = (
        "ceil-majority", Layer.CORE, "safety",
        "a majority of n voters is ceil(n/2): two disjoint halves of an even cluster "
        "both elect a leader (the tutorial's bug)")
    STALE_VOTE_COUNTED = (
        "stale-vote-counted", Layer.CORE, "safety",
        "a candidate counts a vote granted in an earlier term (section 5.1)")
    RETRY_APPLIED_TWICE = (
        "retry-applied-twice", Layer.DRIVER, "linearizability",
        "the driver runs its store without the session check, so a client's retry (or a "
        "duplicated proposal) that reaches the log twice executes twice (thesis 6.3)")
    # --- issue 13: membership, storage faults, the remaining rules of Figure 2 ---------------
    MATCH_INDEX_BACKWARDS = (
        "match-index-backwards", Layer.CORE, "invariants",
        "a leader lowers a follower's matchIndex on a stale (reordered or duplicated) "
        "AppendEntries response")
    SECOND_CONF_CHANGE = (
        "second-conf-change", Layer.CORE, "safety",
        "a leader accepts a configuration change while another is still pending (or before "
        "an entry of its term is applied), so two single-server changes are in flight at "
        "once (thesis 4.1)")
    WAL_SKIPS_BAD_RECORD = (
        "wal-skips-bad-record", Layer.STORAGE, "safety",
        "recovery skips a corrupt record in the middle of the WAL and starts from what "
        "remains, instead of refusing to start")
    # --- issue 13, item 3: snapshots in step refinement (the tla-snap profile) --------------
    SNAPSHOT_KEEPS_SUFFIX = (
        "snapshot-keeps-suffix", Layer.CORE, "refinement",
        "a follower installing a snapshot whose last entry conflicts with its log keeps "
        "its entries after the snapshot's index (Figure 5.3 keeps them only when it holds "
        "that entry; needs --profile tla-snap)")

    # --- issue 17: the Multi-Paxos core (quorum sim --protocol multipaxos) -------------------
    MP_CHOSEN_ANY_BALLOT = (
        "mp-chosen-any-ballot", Layer.MULTIPAXOS, "safety",
        "a Multi-Paxos follower takes a slot as chosen on the leader's notice whatever "
        "ballot its own vote there has (a notice must say which ballot was chosen; needs "
        "--protocol multipaxos)")
    MP_RECOVERY_BY_ARRIVAL = (
        "mp-recovery-by-arrival", Layer.MULTIPAXOS, "refinement",
        "a new Multi-Paxos leader recovers each slot from the last PROMISE to arrive that "
        "reports a vote there, not from the vote of the highest ballot (Paxos's phase 2a "
        "rule; needs --protocol multipaxos)")


#: name -> mutant
_BY_NAME: dict[str, Mutant] = {m.value: m for m in Mutant}


def names(layer: Layer | None = None) -> list[str]:
    """The names of every mutant (of ``layer`` only, when given), in registry order."""
    return [m.value for m in Mutant if layer is None or m.layer is layer]


def parse(name: str) -> Mutant:
    """The mutant called ``name``; ValueError naming the known ones otherwise."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown mutant {name!r}; known: {', '.join(names())}")
    return _BY_NAME[name]


def foreign(mutants: Iterable[object], layer: Layer) -> list[str]:
    """The items of ``mutants`` that are not mutants of ``layer``, as text for an error."""
    return sorted(f"{m} (a {m.layer.value} mutant)" if isinstance(m, Mutant) else repr(m)
                  for m in mutants if not (isinstance(m, Mutant) and m.layer is layer))


def of_layer(mutants: Iterable[Mutant], layer: Layer) -> frozenset[Mutant]:
    """The members of ``mutants`` whose switch lives in ``layer``."""
    return frozenset(m for m in mutants if m.layer is layer)
