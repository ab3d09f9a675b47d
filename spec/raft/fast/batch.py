"""raft.tla over arrays of states: ``Next``, the properties and server symmetry, batched.

:mod:`quorum.spec.raft.fast.actions` computes the successors of one state at a time;
this module computes them for a whole array of states with NumPy, which is what the
vector engine (:mod:`quorum.model_checker.explicit.vector`) runs.  It implements
raft.tla's own rules with any quorum size, and the mutants whose rule is one of
:data:`VARIANTS` (:func:`supports`); ``stale-append``, etcd's extensions, snapshots and
membership changes run on the other encodings.

A state is a row of small integers, in this layout (``n`` servers, ``cap = max_log + 1``
entries per log: a client request may lengthen a log one entry past the bound, and that
state is checked, never expanded):

==========================  ===================================================
``ct[i]``, ``ro[i]``        currentTerm, state (0 follower, 1 candidate, 2 leader)
``vf[i]``                   votedFor (-1: Nil)
``ll[i]``, ``lg[i][k]``     log length; entry k as ``term * values + value + 1``
                            (0: no entry)
``ci[i]``, ``vr[i]``,       commitIndex; votesResponded and votesGranted as bit
``vg[i]``                   sets (bit j: server j)
``ni[i][j]``, ``mi[i][j]``  nextIndex, matchIndex
``msg[k]``, ``cnt[k]``      the bag: ``max_msgs`` slots of (message code, count),
                            sorted by code, empty slots (code 0) last
==========================  ===================================================

A message's code is a mixed-radix number over its fields in the order of its
``NamedTuple`` (a log field as one digit per entry), its type first, so that codes
compare as the messages do: the slots hold the bag in the order of
:mod:`~quorum.spec.raft.tla.state`'s sorted tuple, and ``Receive(m)``,
``DuplicateMessage(m)`` and ``DropMessage(m)`` come in the same order as there.

:meth:`RaftBatch.expand` yields, per *slot* (an action with its parameters: ``Restart(i)``
for each i, ``RequestVote(i, j)`` for each pair, ..., ``Receive`` of the k-th message
of the bag, ...), which rows it is enabled in and the successors it builds, in the
order in which :func:`quorum.spec.raft.fast.actions.successor_function` (with
``vouch``) lists the steps of one state.  A step enabled without a successor is one
that function yields as ``None`` (it leaves the bounds and violates nothing) or as the
state itself (a self-loop: ``Restart`` of a server with nothing to lose,
``AdvanceCommitIndex`` that commits nothing new).  ``tests/spec/raft/test_batch.py``
checks every step of every reachable state of several configurations against that
function, and the properties and fingerprints against the readable ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from itertools import chain, permutations
from typing import Any

import numpy as np

from quorum.spec.raft.config import Config
from quorum.spec.raft.mutants import RULES as MUTANT_RULES
from quorum.spec.raft.tla import rules as raft_rules
from quorum.spec.raft.tla.rules import Rules
from quorum.spec.raft.tla.state import (
    APPEND_ENTRIES_REQUEST,
    APPEND_ENTRIES_RESPONSE,
    CANDIDATE,
    FOLLOWER,
    LEADER,
    NIL,
    REQUEST_VOTE_REQUEST,
    REQUEST_VOTE_RESPONSE,
    AppendEntriesRequest,
    AppendEntriesResponse,
    RequestVoteRequest,
    RequestVoteResponse,
    State,
)

__all__ = ["MAX_SYMMETRY_SERVERS", "RaftBatch", "supports"]

RVQ, RVP, AEQ, AEP = (REQUEST_VOTE_REQUEST, REQUEST_VOTE_RESPONSE, APPEND_ENTRIES_REQUEST,
                      APPEND_ENTRIES_RESPONSE)
_CLASSES = {RVQ: RequestVoteRequest, RVP: RequestVoteResponse, AEQ: AppendEntriesRequest,
            AEP: AppendEntriesResponse}
MAX_SYMMETRY_SERVERS = 5  # n! renamings hashed per state: 120 at 5 servers
Slot = tuple[int, np.ndarray, np.ndarray, np.ndarray]  # slot, enabled, parents, children
Step = tuple[np.ndarray, np.ndarray, np.ndarray]  # enabled, parents, children


#: the mutants' rules this encoding implements besides raft.tla's: rule -> the function
VARIANTS: dict[str, Any] = {
    "vote_log_ok": MUTANT_RULES["no-up-to-date-check"].vote_log_ok,  # grant whatever the log
    "entry_present": MUTANT_RULES["no-truncate"].entry_present,  # any entry at the index
    "commit_term_ok": MUTANT_RULES["commit-old-term"].commit_term_ok,  # of any term
    "vote_after_restart": MUTANT_RULES["forget-vote"].vote_after_restart,  # votedFor lost
    "may_take_requests": MUTANT_RULES["follower-writes"].may_take_requests,  # any role
}


def supports(rules: Rules, config: Config, symmetry: bool) -> bool:
    """Whether :class:`RaftBatch` implements this model: each rule raft.tla's (as in
    :data:`~quorum.spec.raft.tla.rules.RAFT`) or its variant in :data:`VARIANTS`, any
    quorum size, raft.tla's variables only (no snapshots, no membership changes) and,
    with symmetry, at most :data:`MAX_SYMMETRY_SERVERS` servers."""
    same = all(getattr(rules, f.name) == getattr(raft_rules.RAFT, f.name)
               or getattr(rules, f.name) is VARIANTS.get(f.name)
               for f in fields(rules) if f.name != "quorum_size")
    return same and not config.extended and (not symmetry or config.servers <= MAX_SYMMETRY_SERVERS)


class _Codes:
    """Message codes: ``1 + type * span + digits`` (see the module docstring)."""

    def __init__(self, n: int, values: int, max_term: int, max_log: int) -> None:
        t, idx, er = max_term + 1, max_log + 1, (max_term + 1) * values + 1
        log = [(("mlog", k), er) for k in range(max_log)]
        self.layout: dict[int, list[tuple[Any, int]]] = {
            RVQ: [("mterm", t), ("mlast_log_term", t), ("mlast_log_index", idx),
                  ("msource", n), ("mdest", n)],
            RVP: [("mterm", t), ("mvote_granted", 2), *log, ("msource", n), ("mdest", n)],
            AEQ: [("mterm", t), ("mprev_log_index", idx), ("mprev_log_term", t),
                  ("mentries", er), *log, ("mcommit_index", idx), ("msource", n),
                  ("mdest", n)],
            AEP: [("mterm", t), ("msuccess", 2), ("mmatch_index", idx), ("msource", n),
                  ("mdest", n)],
        }
        self.place: dict[int, dict[Any, tuple[int, int]]] = {}
        span = 1
        for mtype, digits in self.layout.items():
            place, table = 1, {}
            for name, radix in reversed(digits):
                table[name] = (place, radix)
                place *= radix
            self.place[mtype] = table
            span = max(span, place)
        self.span = span
        self.top = 1 + 4 * span  # every code is below this
        self.max_log, self.values = max_log, values

    def code(self, mtype: int, digits: dict[Any, Any]) -> Any:
        """The code of messages of this type with these digits (ints or arrays)."""
        out: Any = 1 + mtype * self.span
        for name, value in digits.items():
            out = out + value * self.place[mtype][name][0]
        return out

    def digit(self, codes: Any, mtype: int, name: Any) -> Any:
        """One field's digit of messages of this type."""
        place, radix = self.place[mtype][name]
        return (codes - 1) % self.span // place % radix

    def mtype(self, codes: Any) -> Any:
        return (codes - 1) // self.span

    def entry(self, e: int) -> tuple[int, int]:
        return divmod(e - 1, self.values)

    def encode(self, m: Any) -> int:
        digits: dict[Any, Any] = {}
        for name, _ in self.layout[m.mtype]:
            if isinstance(name, tuple):  # one entry of the log
                k = name[1]
                digits[name] = self._entry_code(m.mlog[k]) if k < len(m.mlog) else 0
            elif name == "mentries":
                digits[name] = self._entry_code(m.mentries[0]) if m.mentries else 0
            else:
                digits[name] = int(getattr(m, name))
        return int(self.code(m.mtype, digits))

    def decode(self, code: int) -> Any:
        mtype = int(self.mtype(code))
        d = {name: int(self.digit(code, mtype, name)) for name, _ in self.layout[mtype]}
        log = tuple(self.entry(d[("mlog", k)]) for k in range(self.max_log) if d.get(("mlog", k)))
        fields_: dict[str, Any] = {"mtype": mtype}
        if mtype in (RVP, AEQ):
            fields_["mlog"] = log
        for name, _ in self.layout[mtype]:
            if isinstance(name, tuple):
                continue
            if name == "mentries":
                fields_[name] = (self.entry(d[name]),) if d[name] else ()
            elif name in ("mvote_granted", "msuccess"):
                fields_[name] = bool(d[name])
            else:
                fields_[name] = d[name]
        return _CLASSES[mtype](**fields_)

    def _entry_code(self, entry: tuple[int, int]) -> int:
        return entry[0] * self.values + entry[1] + 1


class RaftBatch:
    """raft.tla's ``Next``, properties and server symmetry over arrays of rows."""

    def __init__(self, config: Config, rules: Rules = raft_rules.RAFT,
                 symmetry: bool = False) -> None:
        n, values = config.servers, config.values
        self.n, self.values = n, values
        self.max_term, self.max_log, self.max_msgs = config.max_term, config.max_log, config.max_msgs
        self.quorum = rules.quorum_size(n)
        self.symmetry = symmetry
        #: which of the VARIANTS the rules take
        self.variant = {name: getattr(rules, name) is f for name, f in VARIANTS.items()}
        self.codes = codes = _Codes(n, values, config.max_term, config.max_log)
        self.cap = cap = config.max_log + 1
        self.dtype = np.int32 if codes.top < 2**31 else np.int64
        m = config.max_msgs
        self.CT, self.RO, self.VF, self.LL = 0, n, 2 * n, 3 * n
        self.LG = 4 * n
        self.CI = self.LG + n * cap
        self.VR, self.VG = self.CI + n, self.CI + 2 * n
        self.NI = self.CI + 3 * n
        self.MI = self.NI + n * n
        self.MSG = self.MI + n * n
        self.CNT = self.MSG + m
        self.width = self.CNT + m
        self.popcount = np.array([bin(b).count("1") for b in range(1 << n)], dtype=self.dtype)
        #: the action of each slot, in the order of one state's steps
        self.slots: list[str] = self._slot_names()
        self.invariants: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "ElectionSafety": self.election_safety,
            "LogMatching": self.log_matching,
            "LeaderCompleteness": self.leader_completeness,
            "StateMachineSafety": self.state_machine_safety,
        }
        self.action_properties: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
            "LeaderAppendOnly": self.leader_append_only}
        self.reachability: dict[str, Callable[[np.ndarray], Any]] = {
            "LeaderElected": lambda r: (r[:, self.RO:self.RO + n] == LEADER).any(axis=1),
            "EntryCommitted": lambda r: (r[:, self.CI:self.CI + n] > 0).any(axis=1),
        }
        #: the actions whose successors may lie outside the bounds
        self.may_leave_bounds = frozenset({"ClientRequest", "Receive"})
        rng = np.random.default_rng(0x5EED_0F_4A57)
        self._keys = rng.integers(1, 2**63, size=self.width, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._tables(list(permutations(range(n))) if symmetry else [tuple(range(n))])

    # -- layout ----------------------------------------------------------------------
    def lg(self, i: int, k: int = 0) -> int:
        return self.LG + i * self.cap + k

    def _slot_names(self) -> list[str]:
        n, m = self.n, self.max_msgs
        return (["Restart"] * n + ["Timeout"] * n + ["RequestVote"] * (n * n)
                + ["BecomeLeader"] * n + ["ClientRequest"] * (n * self.values)
                + ["AdvanceCommitIndex"] * n + ["AppendEntries"] * (n * (n - 1))
                + ["Receive"] * m + ["DuplicateMessage"] * m + ["DropMessage"] * m)

    # -- encoding --------------------------------------------------------------------
    def encode(self, s: State) -> np.ndarray:
        """The row of a state within the bounds (or one entry past ``max_log``);
        ValueError for a state whose logs or bag the layout cannot hold."""
        n, row = self.n, np.zeros(self.width, dtype=self.dtype)
        if max(map(len, s.log)) > self.cap or len(s.messages) > self.max_msgs:
            raise ValueError("the state's logs or bag exceed the row layout")
        for i in range(n):
            row[self.CT + i], row[self.RO + i], row[self.VF + i] = (
                s.current_term[i], s.role[i], s.voted_for[i])
            row[self.LL + i] = len(s.log[i])
            for k, entry in enumerate(s.log[i]):
                row[self.lg(i, k)] = self.codes._entry_code(entry)
            row[self.CI + i], row[self.VR + i], row[self.VG + i] = (
                s.commit_index[i], s.votes_responded[i], s.votes_granted[i])
            for j in range(n):
                row[self.NI + i * n + j] = s.next_index[i][j]
                row[self.MI + i * n + j] = s.match_index[i][j]
        for k, (m, c) in enumerate(s.messages):
            row[self.MSG + k], row[self.CNT + k] = self.codes.encode(m), c
        return row

    def decode(self, row: np.ndarray) -> State:
        n, r = self.n, [int(x) for x in row]
        entry = self.codes.entry
        return State(
            current_term=tuple(r[self.CT:self.CT + n]),
            role=tuple(r[self.RO:self.RO + n]),
            voted_for=tuple(r[self.VF:self.VF + n]),
            log=tuple(tuple(entry(r[self.lg(i, k)]) for k in range(r[self.LL + i]))
                      for i in range(n)),
            commit_index=tuple(r[self.CI:self.CI + n]),
            votes_responded=tuple(r[self.VR:self.VR + n]),
            votes_granted=tuple(r[self.VG:self.VG + n]),
            next_index=tuple(tuple(r[self.NI + i * n:self.NI + i * n + n]) for i in range(n)),
            match_index=tuple(tuple(r[self.MI + i * n:self.MI + i * n + n]) for i in range(n)),
            messages=tuple((self.codes.decode(r[self.MSG + k]), r[self.CNT + k])
                           for k in range(self.max_msgs) if r[self.MSG + k]),
        )

    # -- helpers over rows -------------------------------------------------------------
    def _terms(self, entries: np.ndarray) -> np.ndarray:
        """The terms of entry codes (-1 where there is no entry)."""
        return np.where(entries > 0, (entries - 1) // self.values, -1)

    def _entry_at(self, rows: np.ndarray, i: Any, k: np.ndarray) -> np.ndarray:
        """Entry code of server i's log at 0-based index k (per row; 0 outside the log)."""
        n_rows = len(rows)
        base = self.LG + np.asarray(i) * self.cap
        kk = np.clip(k, 0, self.cap - 1)
        got = rows[np.arange(n_rows), base + kk]
        return np.where((k >= 0) & (k < self.cap), got, 0)

    def _last_term(self, rows: np.ndarray, i: Any) -> np.ndarray:
        ll = rows[np.arange(len(rows)), self.LL + np.asarray(i)]
        return np.where(ll > 0, (self._entry_at(rows, i, ll - 1) - 1) // self.values, 0)

    def _log_digits(self, rows: np.ndarray, i: Any) -> dict[Any, np.ndarray]:
        """The mlog digits of server i's log, as a message carries it."""
        return {("mlog", k): self._entry_at(rows, i, np.full(len(rows), k)) for k in range(self.max_log)}

    def _full(self, rows: np.ndarray) -> np.ndarray:
        return rows[:, self.CNT:self.CNT + self.max_msgs].sum(axis=1) >= self.max_msgs

    def _sort_bag(self, rows: np.ndarray) -> None:
        if self.max_msgs == 1 or not len(rows):
            return
        msgs = rows[:, self.MSG:self.MSG + self.max_msgs]
        cnts = rows[:, self.CNT:self.CNT + self.max_msgs]
        order = np.argsort(np.where(msgs == 0, self.codes.top, msgs), axis=1, kind="stable")
        msgs[...] = np.take_along_axis(msgs, order, axis=1)
        cnts[...] = np.take_along_axis(cnts, order, axis=1)

    def _bag_with(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """``WithMessage`` in place, for bags that are not full."""
        msgs = rows[:, self.MSG:self.MSG + self.max_msgs]
        cnts = rows[:, self.CNT:self.CNT + self.max_msgs]
        hit = msgs == codes[:, None]
        cnts += hit
        fresh = np.flatnonzero(~hit.any(axis=1))
        if len(fresh):
            slot = (msgs[fresh] != 0).sum(axis=1)  # the first empty slot
            msgs[fresh, slot] = codes[fresh]
            cnts[fresh, slot] = 1
            self._sort_bag(rows)

    def _bag_without(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """``WithoutMessage`` in place, of messages in the bags."""
        msgs = rows[:, self.MSG:self.MSG + self.max_msgs]
        cnts = rows[:, self.CNT:self.CNT + self.max_msgs]
        cnts -= msgs == codes[:, None]
        gone = (cnts == 0) & (msgs != 0)
        if gone.any():
            msgs[gone] = 0
            self._sort_bag(rows)

    # -- Next ------------------------------------------------------------------------
    def expand(self, rows: np.ndarray) -> Iterator[Slot]:
        """Per slot, in the order of one state's steps: ``(slot, enabled, parents,
        children)``: the rows it is enabled in (a mask), the rows it leads out of (their
        indexes, ascending) and the successors (one row each)."""
        full = self._full(rows)
        actions = (self._restarts(rows), self._timeouts(rows), self._request_votes(rows, full),
                   self._become_leaders(rows), self._client_requests(rows),
                   self._advance_commit_indexes(rows), self._append_entries(rows, full),
                   self._messages(rows, full))
        for slot, (enabled, parents, children) in enumerate(chain.from_iterable(actions)):
            yield slot, enabled, parents, children

    def _restarts(self, rows: np.ndarray) -> Iterator[Step]:
        """Restart(i): votedFor stays (raft.tla; forget-vote: it is lost); a server with
        nothing to lose builds no successor (a self-loop)."""
        n, forget = self.n, self.variant["vote_after_restart"]
        for i in range(n):
            ni_i = rows[:, self.NI + i * n:self.NI + i * n + n]
            mi_i = rows[:, self.MI + i * n:self.MI + i * n + n]
            changed = ((rows[:, self.RO + i] != FOLLOWER) | (rows[:, self.CI + i] != 0)
                       | (rows[:, self.VR + i] != 0) | (rows[:, self.VG + i] != 0)
                       | (ni_i != 1).any(axis=1) | (mi_i != 0).any(axis=1))
            if forget:
                changed |= rows[:, self.VF + i] != NIL
            parents = np.flatnonzero(changed)
            c = rows[parents]
            if forget:
                c[:, self.VF + i] = NIL
            c[:, self.RO + i] = FOLLOWER
            c[:, self.CI + i] = c[:, self.VR + i] = c[:, self.VG + i] = 0
            c[:, self.NI + i * n:self.NI + i * n + n] = 1
            c[:, self.MI + i * n:self.MI + i * n + n] = 0
            yield np.ones(len(rows), dtype=bool), parents, c

    def _timeouts(self, rows: np.ndarray) -> Iterator[Step]:
        """Timeout(i) of a server that does not lead; none built at ``max_term``."""
        for i in range(self.n):
            enabled = rows[:, self.RO + i] != LEADER
            parents = np.flatnonzero(enabled & (rows[:, self.CT + i] < self.max_term))
            c = rows[parents]
            c[:, self.CT + i] += 1
            c[:, self.RO + i] = CANDIDATE
            c[:, self.VF + i] = NIL
            c[:, self.VR + i] = c[:, self.VG + i] = 0
            yield enabled, parents, c

    def _request_votes(self, rows: np.ndarray, full: np.ndarray) -> Iterator[Step]:
        """RequestVote(i, j) of a candidate not yet answered by j; none built into a full bag."""
        for i in range(self.n):
            candidate = rows[:, self.RO + i] == CANDIDATE
            last_term = self._last_term(rows, i)
            for j in range(self.n):
                enabled = candidate & ((rows[:, self.VR + i] >> j) & 1 == 0)
                parents = np.flatnonzero(enabled & ~full)
                c = rows[parents]
                code = self.codes.code(RVQ, {
                    "mterm": c[:, self.CT + i], "mlast_log_term": last_term[parents],
                    "mlast_log_index": c[:, self.LL + i], "msource": i, "mdest": j})
                self._bag_with(c, code.astype(self.dtype))
                yield enabled, parents, c

    def _become_leaders(self, rows: np.ndarray) -> Iterator[Step]:
        n = self.n
        for i in range(n):
            enabled = ((rows[:, self.RO + i] == CANDIDATE)
                       & (self.popcount[rows[:, self.VG + i]] >= self.quorum))
            parents = np.flatnonzero(enabled)
            c = rows[parents]
            c[:, self.RO + i] = LEADER
            c[:, self.NI + i * n:self.NI + i * n + n] = (c[:, self.LL + i] + 1)[:, None]
            c[:, self.MI + i * n:self.MI + i * n + n] = 0
            yield enabled, parents, c

    def _client_requests(self, rows: np.ndarray) -> Iterator[Step]:
        """ClientRequest(i, v) of a leader (follower-writes: of any server): may lengthen
        a log one entry past the bound."""
        values, anyone = self.values, self.variant["may_take_requests"]
        for i in range(self.n):
            leads = (np.ones(len(rows), dtype=bool) if anyone
                     else rows[:, self.RO + i] == LEADER)
            for v in range(values):
                parents = np.flatnonzero(leads)
                c = rows[parents]
                at = c[:, self.LL + i]
                c[np.arange(len(c)), self.lg(i) + at] = c[:, self.CT + i] * values + v + 1
                c[:, self.LL + i] += 1
                yield leads, parents, c

    def _advance_commit_indexes(self, rows: np.ndarray) -> Iterator[Step]:
        """AdvanceCommitIndex(i): the highest index a quorum holds, if its entry is of the
        leader's term; committing nothing new builds no successor (a self-loop)."""
        n, any_term = self.n, self.variant["commit_term_ok"]
        for i in range(n):
            leads = rows[:, self.RO + i] == LEADER
            lead = np.flatnonzero(leads)
            sub = rows[lead]
            new = sub[:, self.CI + i].copy()
            decided = np.zeros(len(sub), dtype=bool)
            match = sub[:, self.MI + i * n:self.MI + i * n + n]
            others = [k for k in range(n) if k != i]
            for index in range(self.cap, 0, -1):
                agree = 1 + (match[:, others] >= index).sum(axis=1)
                hit = ~decided & (index <= sub[:, self.LL + i]) & (agree >= self.quorum)
                term_ok = any_term | (
                    (sub[:, self.lg(i, index - 1)] - 1) // self.values == sub[:, self.CT + i])
                new = np.where(hit & term_ok, index, new)
                decided |= hit
            moved = new != sub[:, self.CI + i]
            c = sub[moved]
            c[:, self.CI + i] = new[moved]
            yield leads, lead[moved], c

    def _append_entries(self, rows: np.ndarray, full: np.ndarray) -> Iterator[Step]:
        """AppendEntries(i, j), j != i: at most one entry; none built into a full bag."""
        n = self.n
        for i in range(n):
            leads = rows[:, self.RO + i] == LEADER
            for j in range(n):
                if j == i:
                    continue
                parents = np.flatnonzero(leads & ~full)
                c = rows[parents]
                nxt = c[:, self.NI + i * n + j]
                length = c[:, self.LL + i]
                prev = nxt - 1
                last = np.minimum(length, nxt)
                prev_term = np.where((prev > 0) & (prev <= length),
                                     self._terms(self._entry_at(c, i, prev - 1)), 0)
                entries = np.where(nxt <= length, self._entry_at(c, i, nxt - 1), 0)
                commit = np.minimum(c[:, self.CI + i], last)
                code = self.codes.code(AEQ, {
                    "mterm": c[:, self.CT + i], "mprev_log_index": prev, "mprev_log_term": prev_term,
                    "mentries": entries, **self._log_digits(c, i), "mcommit_index": commit,
                    "msource": i, "mdest": j})
                self._bag_with(c, code.astype(self.dtype))
                yield leads, parents, c

    def _messages(self, rows: np.ndarray, full: np.ndarray) -> Iterator[Step]:
        """Receive, then DuplicateMessage (none built into a full bag), then DropMessage,
        each of the bag's k-th message, k in order."""
        occupied = [rows[:, self.MSG + k] != 0 for k in range(self.max_msgs)]
        for k in range(self.max_msgs):
            yield self._receive(rows, k, occupied[k])
        for k in range(self.max_msgs):
            parents = np.flatnonzero(occupied[k] & ~full)
            c = rows[parents]
            c[:, self.CNT + k] += 1
            yield occupied[k], parents, c
        for k in range(self.max_msgs):
            parents = np.flatnonzero(occupied[k])
            c = rows[parents]
            self._bag_without(c, c[:, self.MSG + k].copy())
            yield occupied[k], parents, c

    def _receive(self, rows: np.ndarray, k: int, occupied: np.ndarray) -> Step:
        """``Receive`` of the k-th message of each bag: UpdateTerm, DropStaleResponse or
        the handler of its type (a step that raft.tla does not enable leaves its row out)."""
        idx = np.flatnonzero(occupied)
        x = _Inbox(self, rows[idx], k)
        up = x.mterm > x.term
        u = np.flatnonzero(up)  # UpdateTerm: m stays in the bag, to be handled next
        x.c[u, self.CT + x.i[u]] = x.mterm[u]
        x.c[u, self.RO + x.i[u]] = FOLLOWER
        x.c[u, self.VF + x.i[u]] = NIL
        stale = ~up & ((x.mtype == RVP) | (x.mtype == AEP)) & (x.mterm < x.term)
        x.drop |= stale
        for mtype, handle in ((RVQ, self._vote_request), (RVP, self._vote_response),
                              (AEQ, self._append_request), (AEP, self._append_response)):
            r = np.flatnonzero(~up & ~stale & (x.mtype == mtype))
            if len(r):
                handle(x, r)
        self._settle_bag(x)
        enabled = occupied.copy()
        enabled[idx[~x.ok]] = False
        return enabled, idx[x.ok], x.c[x.ok]

    def _vote_request(self, x: _Inbox, r: np.ndarray) -> None:
        """HandleRequestVoteRequest: grant if the term is current, the log up to date and
        no other vote given this term; reply either way."""
        i, j = x.i[r], x.j[r]
        last_term = self._last_term(x.c[r], i)
        mlt = self.codes.digit(x.m[r], RVQ, "mlast_log_term")
        mli = self.codes.digit(x.m[r], RVQ, "mlast_log_index")
        vote = x.c[r, self.VF + i]
        log_ok = ((mlt > last_term) | ((mlt == last_term) & (mli >= x.length[r]))
                  | self.variant["vote_log_ok"])
        grant = (x.mterm[r] == x.term[r]) & log_ok & ((vote == NIL) | (vote == j))
        x.reply[r] = self.codes.code(RVP, {
            "mterm": x.term[r], "mvote_granted": grant.astype(x.m.dtype),
            **self._log_digits(x.c[r], i), "msource": i, "mdest": j})
        g = r[grant]
        x.c[g, self.VF + x.i[g]] = x.j[g]

    def _vote_response(self, x: _Inbox, r: np.ndarray) -> None:
        """HandleRequestVoteResponse: note the answer (and the vote, if granted)."""
        i, bit = x.i[r], (1 << x.j[r]).astype(x.m.dtype)
        granted = self.codes.digit(x.m[r], RVP, "mvote_granted").astype(bool)
        x.c[r, self.VR + i] |= bit
        x.c[r, self.VG + i] |= np.where(granted, bit, 0).astype(x.m.dtype)
        x.drop[r] = True

    def _append_request(self, x: _Inbox, r: np.ndarray) -> None:
        """HandleAppendEntriesRequest: reject, return to follower, or accept (§5.3): reply
        if already done, else drop the conflicting last entry, else append."""
        codes, c, i = self.codes, x.c, x.i[r]
        length, m = x.length[r], x.m[r]
        prev = codes.digit(m, AEQ, "mprev_log_index")
        log_ok = (prev == 0) | ((prev > 0) & (prev <= length) & (
            self._terms(self._entry_at(c[r], i, prev - 1)) == codes.digit(m, AEQ, "mprev_log_term")))
        role = x.role[r]
        reject = (x.mterm[r] < x.term[r]) | ((role == FOLLOWER) & ~log_ok)
        accept = ~reject & (role == FOLLOWER)
        rr = r[reject]
        x.reply[rr] = codes.code(AEP, {"mterm": x.term[rr], "msuccess": 0, "mmatch_index": 0,
                                       "msource": x.i[rr], "mdest": x.j[rr]})
        sd = r[~reject & (role == CANDIDATE)]
        c[sd, self.RO + x.i[sd]] = FOLLOWER
        entry = codes.digit(m, AEQ, "mentries")
        index = prev + 1
        present = (length >= index) & (
            self.variant["entry_present"]
            | (self._terms(self._entry_at(c[r], i, index - 1)) == self._terms(entry)))
        done = accept & ((entry == 0) | present)
        dr = r[done]
        c[dr, self.CI + x.i[dr]] = codes.digit(x.m[dr], AEQ, "mcommit_index")
        x.reply[dr] = codes.code(AEP, {"mterm": x.term[dr], "msuccess": 1,
                                       "mmatch_index": index[done] - 1 + (entry[done] != 0),
                                       "msource": x.i[dr], "mdest": x.j[dr]})
        conflict = accept & ~done & (length >= index)
        cr = r[conflict]  # drop the last entry
        c[cr, self.LG + x.i[cr] * self.cap + x.length[cr] - 1] = 0
        c[cr, self.LL + x.i[cr]] -= 1
        append = accept & ~done & ~conflict & (length == prev)
        ap = r[append]
        c[ap, self.LG + x.i[ap] * self.cap + x.length[ap]] = entry[append]
        c[ap, self.LL + x.i[ap]] += 1
        # a leader of the request's term, or an entry it can neither match nor append
        x.ok[r[(~reject & (role == LEADER)) | (accept & ~done & ~conflict & ~append)]] = False

    def _append_response(self, x: _Inbox, r: np.ndarray) -> None:
        """HandleAppendEntriesResponse: advance nextIndex and matchIndex, or back off."""
        col = x.i[r] * self.n + x.j[r]
        success = self.codes.digit(x.m[r], AEP, "msuccess").astype(bool)
        match = self.codes.digit(x.m[r], AEP, "mmatch_index")
        s_, f_ = r[success], r[~success]
        x.c[s_, self.NI + col[success]] = match[success] + 1
        x.c[s_, self.MI + col[success]] = match[success]
        x.c[f_, self.NI + col[~success]] = np.maximum(x.c[f_, self.NI + col[~success]] - 1, 1)
        x.drop[r] = True

    def _settle_bag(self, x: _Inbox) -> None:
        """The bag after the step: m removed, and a reply's response added."""
        d = np.flatnonzero(x.drop | (x.reply != 0))
        if not len(d):
            return
        sub = x.c[d]
        self._bag_without(sub, x.m[d])
        sends = np.flatnonzero(x.reply[d] != 0)
        if len(sends):
            sent = sub[sends]
            self._bag_with(sent, x.reply[d][sends].astype(x.c.dtype))
            sub[sends] = sent
        x.c[d] = sub

    # -- properties ------------------------------------------------------------------
    def _logs(self, rows: np.ndarray, i: int) -> np.ndarray:
        return rows[:, self.lg(i):self.lg(i) + self.cap]

    def within(self, rows: np.ndarray) -> np.ndarray:
        """TLC's CONSTRAINT: terms, log lengths and messages in flight within the bounds."""
        n = self.n
        return ((rows[:, self.CNT:self.CNT + self.max_msgs].sum(axis=1) <= self.max_msgs)
                & (rows[:, self.CT:self.CT + n].max(axis=1) <= self.max_term)
                & (rows[:, self.LL:self.LL + n].max(axis=1) <= self.max_log))

    def election_safety(self, rows: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rows), dtype=bool)
        n = self.n
        for a in range(n):
            for b in range(a + 1, n):
                ok &= ~((rows[:, self.RO + a] == LEADER) & (rows[:, self.RO + b] == LEADER)
                        & (rows[:, self.CT + a] == rows[:, self.CT + b]))
        return ok

    def log_matching(self, rows: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rows), dtype=bool)
        n, cap = self.n, self.cap
        pos = np.arange(cap)
        for a in range(n):
            for b in range(a + 1, n):
                x, y = self._logs(rows, a), self._logs(rows, b)
                both = (pos < np.minimum(rows[:, self.LL + a], rows[:, self.LL + b])[:, None])
                same_term = both & (self._terms(x) == self._terms(y))
                # the last index where both hold an entry of the same term
                upto = np.where(same_term.any(axis=1), cap - np.argmax(same_term[:, ::-1], axis=1), 0)
                ok &= ~((x != y) & (pos < upto[:, None])).any(axis=1)
        return ok

    def state_machine_safety(self, rows: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rows), dtype=bool)
        n = self.n
        pos = np.arange(self.cap)
        known = [np.minimum(rows[:, self.CI + i], rows[:, self.LL + i]) for i in range(n)]
        for a in range(n):
            for b in range(a + 1, n):
                upto = np.minimum(known[a], known[b])
                ok &= ~((self._logs(rows, a) != self._logs(rows, b)) & (pos < upto[:, None])).any(axis=1)
        return ok

    def leader_completeness(self, rows: np.ndarray) -> np.ndarray:
        ok = np.ones(len(rows), dtype=bool)
        n = self.n
        pos = np.arange(self.cap)
        for lead in range(n):
            is_leader = rows[:, self.RO + lead] == LEADER
            for i in range(n):
                if i == lead:
                    continue
                committed = rows[:, self.CI + i]
                older = is_leader & (committed > 0) & (rows[:, self.CT + i] < rows[:, self.CT + lead])
                differ = ((self._logs(rows, lead) != self._logs(rows, i)) & (pos < committed[:, None])).any(axis=1)
                ok &= ~(older & differ)
        return ok

    def leader_append_only(self, rows: np.ndarray, parent: np.ndarray, after: np.ndarray
                           ) -> np.ndarray:
        """Of the steps from ``rows[parent]`` to ``after``: a leader of the same term before
        and after only appends (only the steps that change some log are looked at)."""
        logs = slice(self.LG, self.LG + self.n * self.cap)
        ok = np.ones(len(after), dtype=bool)
        moved = np.flatnonzero((rows[:, logs][parent] != after[:, logs]).any(axis=1))
        if len(moved):
            ok[moved] = self._append_only(rows[parent[moved]], after[moved])
        return ok

    def _append_only(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        ok = np.ones(len(before), dtype=bool)
        pos = np.arange(self.cap)
        for i in range(self.n):
            kept = ((before[:, self.RO + i] == LEADER) & (after[:, self.RO + i] == LEADER)
                    & (before[:, self.CT + i] == after[:, self.CT + i]))
            changed = ((self._logs(before, i) != self._logs(after, i))
                       & (pos < before[:, self.LL + i][:, None])).any(axis=1)
            ok &= ~(kept & changed)
        return ok

    # -- fingerprints ------------------------------------------------------------------
    def _tables(self, perms: list[tuple[int, ...]]) -> None:
        """Per renaming ``i -> perm[i]``, what the hash of the renamed row needs, so that
        the renamed rows are never built.  The hash of a row is

            mix(sum over the plain columns c of key[c] * row[c]
                + sum over servers i of a term for votedFor[i], votesResponded[i] and
                  votesGranted[i] (a key of the column times the value)
                + sum over the bag's slots of scramble(code, count))

        The slots are summed, so the order of the bag does not matter.  A renaming moves
        each plain column to another one, so its part is the row times a permuted key
        vector (one matrix product for every renaming at once). The columns that hold
        server ids or sets of them are looked up in tables of their renamed values, and
        the message codes get their source and destination digits renamed."""
        n, w = self.n, self.width
        remapped = set(range(self.VF, self.VF + n)) | set(range(self.VR, self.VG + n)) | set(
            range(self.MSG, self.width))
        plain = np.array([c not in remapped for c in range(w)])
        keys = self._keys
        self._kp = np.zeros((w, len(perms)), dtype=np.uint64)
        self._tvf = np.zeros((len(perms), n, n + 1), dtype=np.uint64)
        self._tvr = np.zeros((len(perms), n, 1 << n), dtype=np.uint64)
        self._tvg = np.zeros((len(perms), n, 1 << n), dtype=np.uint64)
        self._target = np.array(perms, dtype=np.int64)
        for k, perm in enumerate(perms):
            moved = np.arange(w)  # moved[c]: the column that column c of the row goes to
            for i in range(n):
                p = perm[i]
                for base in (self.CT, self.RO, self.LL, self.CI):
                    moved[base + i] = base + p
                moved[self.lg(i):self.lg(i) + self.cap] = np.arange(self.lg(p), self.lg(p) + self.cap)
                for j in range(n):
                    moved[self.NI + i * n + j] = self.NI + p * n + perm[j]
                    moved[self.MI + i * n + j] = self.MI + p * n + perm[j]
            self._kp[plain, k] = keys[moved[plain]]
            bits = [sum(1 << perm[j] for j in range(n) if b >> j & 1) for b in range(1 << n)]
            for i in range(n):
                p = perm[i]
                # votedFor v at column i (v + 1 indexes the table: Nil = -1 first)
                votes = np.array([2 + (perm[v] if v >= 0 else -1) for v in range(-1, n)],
                                 dtype=np.uint64)
                self._tvf[k, i] = keys[self.VF + p] * votes
                self._tvr[k, i] = keys[self.VR + p] * np.array(bits, dtype=np.uint64)
                self._tvg[k, i] = keys[self.VG + p] * np.array(bits, dtype=np.uint64)

    @staticmethod
    def _mix(h: np.ndarray) -> np.ndarray:
        """splitmix64's finalizer, in place (a bijection of 64-bit words)."""
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        return h

    def fingerprints(self, rows: np.ndarray) -> np.ndarray:
        """64-bit fingerprints (never 0) of the rows; under symmetry, of their orbits (the
        least hash over every renaming of the servers)."""
        n = self.n
        h = (rows.astype(np.uint64) @ self._kp).T  # renamings x rows
        for i in range(n):
            h += self._tvf[:, i, rows[:, self.VF + i] + 1]
            h += self._tvr[:, i, rows[:, self.VR + i]]
            h += self._tvg[:, i, rows[:, self.VG + i]]
        target = self._target
        for k in range(self.max_msgs):
            code = rows[:, self.MSG + k].astype(np.int64)
            rest = code - 1
            src, dst = rest // n % n, rest % n
            renamed = code + (target[:, src] - src) * n + (target[:, dst] - dst)
            renamed[:, code == 0] = 0
            slot = renamed.astype(np.uint64) * np.uint64(self.max_msgs + 1) + rows[:, self.CNT + k].astype(np.uint64)
            h += self._mix(slot)
        out = self._mix(h).min(axis=0)
        out[out == 0] = 1
        return out

    def fingerprint(self, s: State) -> int:
        """The fingerprint of one state (what the search's trace rebuild compares), or 0,
        which no row has, for a state the layout cannot hold (a step out of the bounds
        that the search never builds: one message too many, a term past ``max_term``)."""
        try:
            row = self.encode(s)
        except (ValueError, OverflowError):
            return 0
        if self.decode(row) != s:
            return 0
        return int(self.fingerprints(row[None, :])[0])


class _Inbox:
    """The rows whose bag holds a k-th message, being received: the successors ``c``
    (copies, changed in place by the handlers), the message, its fields common to every
    type, the receiver's term, role and log length, and what each step does to the bag."""

    def __init__(self, batch: RaftBatch, c: np.ndarray, k: int) -> None:
        codes, n = batch.codes, batch.n
        self.c = c
        rows = np.arange(len(c))
        self.m = m = c[:, batch.MSG + k].copy()
        self.mtype = codes.mtype(m)
        rest = (m - 1) % codes.span
        self.i, self.j = rest % n, rest // n % n  # mdest, msource: every type's last digits
        self.mterm = np.zeros(len(c), dtype=m.dtype)
        for t in (RVQ, RVP, AEQ, AEP):
            at = self.mtype == t
            self.mterm[at] = codes.digit(m[at], t, "mterm")
        self.term = c[rows, batch.CT + self.i]
        self.role = c[rows, batch.RO + self.i]
        self.length = c[rows, batch.LL + self.i]
        self.ok = np.ones(len(c), dtype=bool)  # raft.tla enables the step
        self.drop = np.zeros(len(c), dtype=bool)  # the step removes m and adds nothing
        self.reply = np.zeros(len(c), dtype=np.int64)  # the response the step sends, if any
