"""Single-server membership changes (Ongaro's dissertation, §4.1): a layer on raft.tla's ``Next``.

raft.tla has a fixed set of servers, every one a voter.  This layer, switched on by
``Config.membership`` (``quorum check raft --membership``), lets the configuration
change one server at a time, the way :mod:`quorum.spec.raft.etcd` adds etcd's steps: it
composes a ``Next`` underneath with its own steps and restricts the steps underneath.

* A configuration is a set of servers (a bit mask).  It travels in the log: a
  configuration entry is an entry whose value is ``~members`` (negative; client values
  are >= 0; :func:`quorum.spec.raft.tla.rules.is_config_entry`).  The initial
  configuration is ``Context.members`` (the first ``--members`` servers); the others
  exist but are outside it until added.
* Server i uses the latest configuration in its log, committed or not (the
  dissertation, §4.1), or with ``Rules.config_on_apply`` the latest it has applied
  (committed; etcd's rule, for trace validation of an etcd-style store).
* ``AddServer(i, j)`` and ``RemoveServer(i, j)``: leader i appends a configuration
  entry with j added to or removed from its configuration, when
  ``Rules.may_change_config`` allows it: no configuration entry of its log is
  uncommitted, and it has committed an entry of its own term (Ongaro's fix of July
  2015; the mutant ``membership-without-fix`` drops it).  A leader does not remove
  itself (the dissertation's leader steps down once that entry commits), unless
  ``Rules.leader_removes_itself`` (etcd's, below); a configuration never loses its last
  voter.
* With ``Rules.learners`` (etcd's, for trace validation; the dissertation's non-voting
  members of §4.2.1) a configuration is voters plus learners: a learner is replicated to
  (``AppendEntries``, ``Heartbeat``, ``InstallSnapshot``) but never times out, is never
  asked for its vote and never counts in a quorum.  The mask then holds the learners
  above bit :data:`LEARNERS`; ``AddLearner(i, j)`` adds j as a learner, ``AddServer(i, j)``
  of a learner promotes it, ``RemoveServer(i, j)`` removes a voter or a learner.
* With ``Rules.leader_removes_itself`` (etcd's), ``RemoveServer(i, i)``: the leader
  proposes its own removal, and keeps leading without counting itself in quorums once
  the entry takes effect (§4.2.2: it manages a configuration it is not part of); etcd's
  operator then stops it, which this spec sees as a ``Restart``.
* Quorums are majorities (floor(n/2) + 1) of the configuration of the server that
  counts: ``BecomeLeader(i)`` counts the votes of i's configuration's members,
  ``AdvanceCommitIndex(i)`` the matchIndex of its members (the leader counts itself if
  it is a member).
* Only a member of its own configuration times out and starts an election; a candidate
  asks, and a leader replicates to, the members of its configuration only
  (``RequestVote``, ``AppendEntries``, ``Heartbeat``, ``InstallSnapshot``).  Any server
  answers any message, member or not (a new server must vote and take entries before
  it learns the configuration that holds it, §4.2.1).

Everything else is raft.tla's.  The layer composes with :mod:`quorum.spec.raft.snapshots`
(the compacted prefix keeps its configuration entries, so the configuration is always
read from the whole log).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from quorum.spec.common import majority
from quorum.spec.raft.tla.actions import Context, Label, Step, label
from quorum.spec.raft.tla.rules import is_config_entry
from quorum.spec.raft.tla.state import CANDIDATE, LEADER, replace_at

__all__ = ["LEARNERS", "SENDS", "add_remove", "allowed", "advance_commit_index", "become_leader", "config_entry",
           "config_of", "initial_members", "layer", "learners_of", "members", "voters_of"]

#: steps whose label names a sender i and a destination j that must be in i's configuration
SENDS = frozenset({"RequestVote", "AppendEntries", "Heartbeat", "InstallSnapshot"})
#: the bit where a configuration mask's learners begin (Rules.learners; servers < 16)
LEARNERS = 16


def voters_of(mask: int) -> int:
    """The voters of a configuration mask."""
    return mask & ((1 << LEARNERS) - 1)


def learners_of(mask: int) -> int:
    """The learners of a configuration mask (Rules.learners), as a mask of servers."""
    return mask >> LEARNERS


def initial_members(c: Context) -> int:
    """The initial configuration's bit mask (every server when ``Context.members`` is 0)."""
    return c.members or (1 << c.n) - 1


def config_entry(term: int, mask: int) -> tuple[int, int]:
    """The log entry of term ``term`` that sets the configuration ``mask``."""
    return term, ~mask


def config_of(s: Any, c: Context, i: int) -> int:
    """The configuration server i uses: the latest in its log (or, under
    ``Rules.config_on_apply``, the latest it has committed), else the initial one."""
    log = s.log[i]
    upto = s.commit_index[i] if c.rules.config_on_apply else len(log)
    for k in range(upto - 1, -1, -1):
        if is_config_entry(log[k]):
            return ~log[k][1]
    return initial_members(c)


def members(mask: int) -> list[int]:
    return [j for j in range(mask.bit_length()) if mask >> j & 1]


def become_leader(s: Any, c: Context) -> Step:
    """BecomeLeader(i): votes from a majority of i's configuration."""
    for i in range(c.n):
        if s.role[i] != CANDIDATE:
            continue
        conf = voters_of(config_of(s, c, i))
        if (s.votes_granted[i] & conf).bit_count() >= majority(conf.bit_count()):
            yield label("BecomeLeader", i=i), s._replace(
                role=replace_at(s.role, i, LEADER),
                next_index=replace_at(s.next_index, i, (len(s.log[i]) + 1,) * c.n),
                match_index=replace_at(s.match_index, i, (0,) * c.n),
            )


def advance_commit_index(s: Any, c: Context) -> Step:
    """AdvanceCommitIndex(i): the highest index a majority of i's configuration holds,
    committed if of i's term (§5.4.2); enabled even when it changes nothing, as raft.tla's."""
    for i in range(c.n):
        if s.role[i] != LEADER:
            continue
        conf, match, log = voters_of(config_of(s, c, i)), s.match_index[i], s.log[i]
        need, new = majority(conf.bit_count()), s.commit_index[i]
        for index in range(len(log), 0, -1):
            agree = sum(1 for k in members(conf) if k == i or match[k] >= index)
            if agree >= need:
                if c.rules.commit_term_ok(log[index - 1][0], s.current_term[i]):
                    new = index
                break
        yield label("AdvanceCommitIndex", i=i), s if new == s.commit_index[i] else s._replace(
            commit_index=replace_at(s.commit_index, i, new))


def add_remove(s: Any, c: Context) -> Step:
    """AddServer(i, j) and RemoveServer(i, j): leader i appends a configuration entry
    with one server more or fewer, when ``Rules.may_change_config`` allows it."""
    for i in range(c.n):
        if s.role[i] != LEADER:
            continue
        log, term = s.log[i], s.current_term[i]
        if not c.rules.may_change_config(log, s.commit_index[i], term):
            continue
        conf = config_of(s, c, i)
        voters, learners = voters_of(conf), learners_of(conf)
        for j in range(c.n):
            bit = 1 << j
            if j == i and not (c.rules.leader_removes_itself and voters & ~bit):
                continue
            if voters & bit:
                changes = [("RemoveServer", conf & ~bit)]
            elif learners & bit:  # promote it, or remove it
                changes = [("AddServer", (conf | bit) & ~(bit << LEARNERS)),
                           ("RemoveServer", conf & ~(bit << LEARNERS))]
            else:
                changes = [("AddServer", conf | bit)] + (
                    [("AddLearner", conf | bit << LEARNERS)] if c.rules.learners else [])
            for name, new in changes:
                entry = config_entry(term, new)
                yield label(name, i=i, j=j), s._replace(log=replace_at(s.log, i, log + (entry,)))


def allowed(s: Any, c: Context, lb: Label) -> bool:
    """Whether a step of the ``Next`` underneath remains a step with membership changes."""
    name, params = lb
    if name in ("BecomeLeader", "AdvanceCommitIndex"):
        return False  # replaced by this module's (quorums of the configuration)
    if name == "Timeout":
        return bool(voters_of(config_of(s, c, params[0][1])) >> params[0][1] & 1)
    if name in SENDS:  # to a voter; to a learner too, but a vote request
        p = dict(params)
        conf = config_of(s, c, p["i"])
        to = voters_of(conf) | (0 if name == "RequestVote" else learners_of(conf))
        return bool(to >> p["j"] & 1)
    return True


def layer(inner: Callable[[Any, Context], Iterator[tuple[Label, Any]]]
          ) -> Callable[[Any, Context], Step]:
    """The ``Next`` with membership changes over ``inner``: inner's steps restricted to
    configurations, BecomeLeader and AdvanceCommitIndex by configuration, and the changes."""

    def successors(s: Any, c: Context) -> Step:
        for lb, t in inner(s, c):
            if allowed(s, c, lb):
                yield lb, t
        yield from become_leader(s, c)
        yield from advance_commit_index(s, c)
        yield from add_remove(s, c)

    return successors
