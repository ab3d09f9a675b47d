"""Fault schedules: plain data that replays a simulated run exactly.

A :class:`Schedule` is the simulator's parameters (:class:`SimConfig`) and a list of
steps.  A step is a short list ``[kind, a, b, c]`` of a string and small ints, and every
int is read modulo what it indexes (node, message in flight, client), so *every* list of
steps is a valid schedule: a shrinker (or Hypothesis) may delete steps or lower numbers
freely and the result still runs.  A step that finds nothing to act on (deliver with
nothing in flight, restart of a running node) is a logged no-op.

Step kinds (FoundationDB's and TigerBeetle's fault catalogue, scaled down):

=============  ==============================================================
``tick``       virtual time advances one unit; node i ticks at its own rate
``deliver k``  deliver the k-th message in flight (oldest first; k > 0 reorders);
               with nothing deliverable, a ``tick``
``drop k``     lose the k-th message in flight
``dup k``      duplicate the k-th message in flight
``delay k d``  hold the k-th message in flight for 1 + d mod 64 time units
``part m``     symmetric partition: nodes whose bit is set in m vs the rest
``oneway a b`` cut the link a -> b only
``heal``       remove every partition and cut link
``clog n``     hold every message to or from n (delivered once unclogged)
``unclog n``   release node n
``crash n s``  power-cut node n: unsynced writes lost, the last one torn (seed s)
``restart n``  restart a crashed node n from its disk
``op c k x y v`` the c-th idle client starts operation k (0 read, 1 write, 2 CAS)
               on key x with value y, at node v - 1 (v = 0 or a node that is down:
               at the leader it last heard of)
``snap n``     node n snapshots its state machine and compacts its log
``lpart k``    cut the current leader and k mod (minority - 1) other nodes off from
               the rest (its clients keep writing there: a longer log of an older term)
``lsnap``      the current leader snapshots and compacts (after a leader change,
               lagging followers then get InstallSnapshot over their own suffix)
``transfer k`` the current leader hands leadership to the k-th other voter (thesis 3.10)
``retry c n``  the c-th busy client re-sends its outstanding write, with the same session
               sequence number, at node n (a client that timed out on its contact node)
``addl``       the leader proposes adding a new node (the next unused id, at most 9) as
               a learner; the node starts with an empty disk and catches up by log or
               InstallSnapshot
``addv``       the same, but the new, empty node joins as a voter at once
``promote k``  the leader proposes making the k-th learner of its configuration a voter
``remove k``   the leader proposes removing the k-th voter of its configuration (itself
               included); once some node applies the removal, the node is stopped
``tear n s``   crash n inside one of its next 1 + (s >> 1) mod 4 disk operations, the
               unsynced tail read back as zeros after a random prefix (even s) or whole
               but with its last byte wrong (odd s: a full-length record, bad checksum)
``corrupt n s`` flip one bit (chosen by s) of a durable WAL record of n, any but the last:
               n refuses to start at its next recovery (a restart step is then logged as
               refused, and n stays down)
=============  ==============================================================

Node numbers count over the *live* nodes (every node not removed, in id order), so
without membership changes ``n`` means node ``1 + n mod size`` as always.  A proposal
the leader refuses (another change pending, no entry of its term applied yet) is a
logged no-op.  The steps from ``lpart`` to ``retry`` are drawn only by
:func:`generate_wide` (the ``wide`` profile) and :func:`generate_churn`, the membership
and storage steps after them only by :func:`generate_churn` (the ``churn`` profile), so
the older profiles draw the same steps from a seed as before they existed.

:func:`generate` draws a schedule from a seed with the weights of a :class:`Profile`;
the same seed always gives the same steps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from quorum.impl.mutants import Layer, Mutant, parse

__all__ = ["FAULTS", "KINDS", "MULTIPAXOS_PROFILES", "PROFILES", "PROTOCOLS", "RAFT_ONLY", "Profile", "Schedule", "SimConfig", "Step", "draw",
           "generate", "generate_churn", "generate_tla", "generate_tla_churn", "generate_tla_snap", "generate_wide", "in_tla_vocabulary", "swarm", "tla_config", "with_mutant"]

Step = list[Any]  # [kind, a, b, c] (trailing ints optional)

#: the cores the simulator can run
PROTOCOLS = ("raft", "multipaxos")
#: the step kinds only the Raft core supports (the multipaxos core has no leadership
#: transfer or membership changes)
RAFT_ONLY = ("transfer", "addl", "addv", "promote", "remove")
#: the profiles the multipaxos core runs (drawn as for Raft, then its Raft-only steps left
#: out): default and wide for every fault and shape, tla-snap for calm runs with leader
#: changes and compaction, where a new leader's recovery meets votes of several ballots
#: in one slot (mp-recovery-by-arrival: tla-snap seed 4, default seed 145).  The others
#: add nothing it runs: churn and tla-churn are membership changes, tla and tla-prevote
#: are tla-snap without snapshots
MULTIPAXOS_PROFILES = ("default", "wide", "tla-snap")

#: kind -> number of int arguments
KINDS: dict[str, int] = {
    "tick": 0, "deliver": 1, "drop": 1, "dup": 1, "delay": 2, "part": 1, "oneway": 2, "heal": 0,
    "clog": 1, "unclog": 1, "crash": 2, "restart": 1, "op": 5, "snap": 1,
    "lpart": 1, "lsnap": 0, "transfer": 1, "retry": 2,
    "addl": 0, "addv": 0, "promote": 1, "remove": 1, "tear": 2, "corrupt": 2,
}


@dataclass(frozen=True)
class SimConfig:
    """Everything but the steps: cluster shape, core knobs, and test-only mutants.

    ``mutants`` are members of :class:`~quorum.impl.mutants.Mutant` of any layer (the
    simulator hands each layer its own); in JSON, their names.
    """

    nodes: int = 3
    clients: int = 4
    keys: int = 2
    values: int = 3
    election_tick: int = 10
    heartbeat_tick: int = 3
    pre_vote: bool = True
    check_quorum: bool = True
    client_timeout: int = 40  # virtual time units before a client gives up (op stays pending)
    #: tick rate of node i, in quarter ticks per unit (clock skew); cycled over the nodes
    tick_rates: tuple[int, ...] = (4, 3, 5, 4, 6)
    mutants: tuple[Mutant, ...] = ()
    max_msg_entries: int = 8  # batching limit of one AppendEntries
    seed: int = 0  # the cores' election-timeout seed
    #: the core every node runs: "raft" or "multipaxos" (``impl/multipaxos``; no
    #: transfers or membership changes: the simulator logs those steps as refused no-ops)
    protocol: str = "raft"
    #: Raft's ``RaftConfig.eager_commit``: False runs the core as ``quorum serve`` does (no
    #: commit notice; a node whose members lag sends them one at its next tick)
    eager_commit: bool = True

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}; known: {', '.join(PROTOCOLS)}")
        bad = [repr(m) for m in self.mutants if not isinstance(m, Mutant)]
        if bad:
            raise ValueError(f"SimConfig.mutants takes Mutant members, got {', '.join(bad)} "
                             f"(quorum.impl.mutants.parse turns a name into one)")
        # each core takes only its own mutants
        other = Layer.CORE if self.protocol == "multipaxos" else Layer.MULTIPAXOS
        wrong = [str(m) for m in self.mutants if m.layer is other]
        if wrong:
            core = "Raft" if other is Layer.CORE else "multipaxos"
            raise ValueError(f"mutant {wrong[0]} is a bug of the {core} core, and this run's "
                             f"nodes run the {self.protocol} core"
                             + (" (use --protocol multipaxos)" if self.protocol == "raft"
                                else ""))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        d["mutants"] = [m.value for m in self.mutants]
        if self.protocol == "raft":  # the files saved before there was a choice stay the same
            del d["protocol"]
        if self.eager_commit:  # likewise
            del d["eager_commit"]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SimConfig:
        d = dict(d)
        for old in _LEGACY_MUTANT_KEYS:  # schedules saved before the one registry
            d["mutants"] = [*d.get("mutants", ()), *d.pop(old, ())]
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting {unknown[0]!r}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        values["mutants"] = tuple(parse(name) for name in values.get("mutants", ()))
        return cls(**values)


#: the per-layer lists of mutant names older schedule files carry (read into ``mutants``)
_LEGACY_MUTANT_KEYS = ("core_mutations", "storage_mutants", "driver_mutants")


def with_mutant(config: SimConfig, mutant: Mutant | str) -> SimConfig:
    """``config`` with ``mutant`` (a member or its name) switched on too.

    Raises ValueError naming the known mutants for an unknown name."""
    m = mutant if isinstance(mutant, Mutant) else parse(mutant)
    return config if m in config.mutants else replace(config, mutants=(*config.mutants, m))


@dataclass(frozen=True)
class Profile:
    """Relative weights of the step kinds for :func:`generate` (per 1,000 steps)."""

    weights: dict[str, int] = field(default_factory=lambda: {
        "deliver": 700, "tick": 90, "op": 120, "drop": 15, "dup": 10, "delay": 20, "part": 4,
        "oneway": 3, "heal": 8, "clog": 3, "unclog": 6, "crash": 4, "restart": 10,
        "snap": 4,
    })


@dataclass(frozen=True)
class Schedule:
    config: SimConfig
    steps: tuple[tuple[Any, ...], ...]
    origin: str = ""  # e.g. "seed 42", "shrunk from seed 42"

    def to_json(self, expect: str | None = None) -> str:
        """One step per line; ``expect`` ("pass"/"fail") marks a regression file."""
        d: dict[str, Any] = {"origin": self.origin}
        if expect is not None:
            d["expect"] = expect
        d.update(config=self.config.to_json(), steps=[list(s) for s in self.steps])
        return json.dumps(d, separators=(",", ":")).replace("],[", "],\n[")

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        d = json.loads(text)
        steps = tuple(tuple(s) for s in d["steps"])
        for s in steps:
            if not s or s[0] not in KINDS or not all(isinstance(x, int) for x in s[1:]):
                raise ValueError(f"bad schedule step {list(s)!r}")
        return cls(SimConfig.from_json(d.get("config", {})), steps, d.get("origin", ""))


def generate(seed: int, steps: int, config: SimConfig | None = None,
             profile: Profile | None = None) -> Schedule:
    """Draw ``steps`` steps from ``seed`` (the generic generator CI and the mutant tests use).

    Without a ``profile`` the seed also draws one (swarm testing, Groce et al. 2012):
    each schedule switches some fault kinds off and weights the others differently,
    so that some runs are calm and some are storms of one kind of fault; without a
    ``config`` it also draws the cluster size and the batching limit.
    """
    rng = random.Random(seed)
    if config is None:
        config = SimConfig(nodes=rng.choice((3, 3, 5)), max_msg_entries=rng.choice((1, 2, 8)),
                           seed=seed)
    profile = profile or swarm(rng)
    kinds = sorted(profile.weights)
    weights = [profile.weights[k] for k in kinds]
    out = []
    for _ in range(steps):
        kind = rng.choices(kinds, weights)[0]
        out.append(_draw(rng, kind, config))
    return Schedule(config, tuple(out), f"seed {seed}")


#: fault kinds that swarm testing may switch off for a whole schedule
FAULTS = ("drop", "dup", "delay", "part", "oneway", "clog", "crash", "snap")


def swarm(rng: random.Random) -> Profile:
    """A random variation of the default :class:`Profile` (see :func:`generate`)."""
    weights = dict(Profile().weights)
    for k in FAULTS:
        weights[k] = 0 if rng.random() < 0.35 else int(weights[k] * rng.choice((0.5, 1, 2, 4)))
    weights["op"] = int(weights["op"] * rng.choice((0.5, 1, 2)))
    weights["tick"] = int(weights["tick"] * rng.choice((0.5, 1, 1.5)))
    return Profile(weights)


def _draw(rng: random.Random, kind: str, cfg: SimConfig) -> tuple[Any, ...]:
    n = cfg.nodes
    if kind in ("deliver", "drop", "dup", "delay"):
        # mostly the oldest message (FIFO-ish), sometimes a later one (reorder, delay)
        k = 0 if rng.random() < 0.6 else rng.randrange(16)
        return (kind, k, rng.randrange(64)) if kind == "delay" else (kind, k)
    if kind == "part":
        return (kind, rng.randrange(1, max(2, (1 << n) - 1)))
    if kind == "oneway":
        return (kind, rng.randrange(n), rng.randrange(n))
    if kind in ("lpart", "transfer", "promote", "remove"):
        return (kind, rng.randrange(8))
    if kind == "retry":
        return (kind, rng.randrange(cfg.clients), rng.randrange(n))
    if kind in ("clog", "unclog", "restart", "snap"):
        return (kind, rng.randrange(n))
    if kind in ("crash", "tear"):
        return (kind, rng.randrange(n), rng.randrange(1 << 16))
    if kind == "corrupt":
        return (kind, rng.randrange(n), rng.randrange(1 << 30))
    if kind == "op":
        via = 0 if rng.random() < 0.5 else 1 + rng.randrange(cfg.nodes)
        return (kind, rng.randrange(cfg.clients), rng.randrange(3), rng.randrange(cfg.keys),
                rng.randrange(cfg.values), via)
    return (kind,)


# --- the "tla" profile: the implementation kept within raft.tla's vocabulary -----------

def tla_config(nodes: int = 3, seed: int = 0, pre_vote: bool = False) -> SimConfig:
    """A cluster that speaks only raft.tla's protocol (for step refinement).

    Check-quorum off, at most one entry per AppendEntries, pre-vote off unless asked for
    (the spec then runs ``Rules.pre_vote``: two steps raft.tla lacks); the schedules of
    :func:`generate_tla` add: no snapshot (so no compaction, no InstallSnapshot), no torn
    write (every crash is a clean power cut between events), no membership change (only
    the wide profile draws them).  ReadIndex reads and heartbeats remain: they are abstracted (see
    docs/refinement.md, "Step refinement").
    """
    return SimConfig(nodes=nodes, pre_vote=pre_vote, check_quorum=False, max_msg_entries=1,
                     seed=seed)


def in_tla_vocabulary(cfg: SimConfig) -> bool:
    """True when ``cfg`` keeps the core within raft.tla's vocabulary (see :func:`tla_config`)."""
    return not cfg.check_quorum and cfg.max_msg_entries == 1


def generate_tla(seed: int, steps: int, pre_vote: bool = False) -> Schedule:
    """:func:`generate` under :func:`tla_config`: swarm weights without ``snap``, crashes
    that never tear a write (an even ``s``); 3 or 5 nodes drawn from the seed."""
    rng = random.Random(seed ^ 0x7A1A)
    config = tla_config(nodes=rng.choice((3, 3, 5)), seed=seed, pre_vote=pre_vote)
    profile = swarm(rng)
    weights = dict(profile.weights, snap=0)
    sched = generate(seed, steps, config, Profile(weights))
    out = tuple((s[0], s[1], s[2] & ~1) if s[0] == "crash" else s for s in sched.steps)
    return Schedule(config, out, f"tla{'-prevote' if pre_vote else ''} seed {seed}")


# --- the "wide" profile: the shapes the other profiles rarely build ---------------------

#: the step kinds the wide profile adds to the swarm's, per 1,000 steps
WIDE_WEIGHTS = {"lpart": 6, "lsnap": 4, "transfer": 3, "retry": 12}
#: cluster sizes of the wide profile (even sizes and a single node included)
WIDE_SIZES = (1, 2, 3, 4, 4, 5, 6, 7)


def generate_wide(seed: int, steps: int) -> Schedule:
    """The ``wide`` profile: cluster sizes 1-7, one key and five values (so that a write
    executed twice shows in the history), one entry per AppendEntries half the time,
    swarm weights plus :data:`WIDE_WEIGHTS`; each ``lpart`` opens a usurpation, a
    few writes at the cut-off leader, time for the majority to elect a new one and
    take writes too, often a snapshot by the new leader, then a heal, and half the time
    at once a partition of the new leader (the old leader's longer log of an older term
    then faces the voters' shorter, newer ones), then a heal.

    Such runs build what the other profiles rarely do: a longer log of an older term
    beside a shorter one of a newer term (the up-to-date check), followers whose
    conflicting suffix a snapshot must replace, and retries in flight beside writes.
    """
    rng = random.Random(seed ^ 0x3D1E)
    config = SimConfig(nodes=rng.choice(WIDE_SIZES), keys=1, values=5,
                       max_msg_entries=rng.choice((1, 1, 2, 8)), seed=seed)
    weights = dict(swarm(rng).weights)
    for k, w in WIDE_WEIGHTS.items():
        weights[k] = 0 if rng.random() < 0.2 else w * rng.choice((1, 2, 4))
    kinds = sorted(weights)
    out: list[tuple[Any, ...]] = []
    while len(out) < steps:
        kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
        out.append(_draw(rng, kind, config))
        if kind == "lpart":
            out.extend(_usurpation(rng, config))
    return Schedule(config, tuple(out[:steps]), f"wide seed {seed}")


# --- the "churn" profile: membership changes and storage faults over the wide shapes ---

#: the step kinds the churn profile adds to the wide profile's, per 1,000 steps
CHURN_WEIGHTS = {"addl": 4, "addv": 2, "promote": 2, "remove": 4, "tear": 4, "corrupt": 1}
#: the membership step kinds
CHANGES = ("addl", "addv", "promote", "remove")


def generate_churn(seed: int, steps: int) -> Schedule:
    """The ``churn`` profile: the wide profile's sizes, shapes and weights, plus
    :data:`CHURN_WEIGHTS`.

    Membership changes: a new node added as a learner (most often promoted after a while
    of catching up), a new node added as a voter at once, removals of a voter (the leader
    included), and a third of the time a second change right after the first (which the
    leader must refuse while the first is pending); sizes then wander between 1 and 9
    members, odd and even.  Storage faults: crashes whose torn tail reads back as zeros
    or as a full-length record with a bad checksum (``tear``), and bit flips in older
    WAL records (``corrupt``, at most two per schedule), mostly followed by a crash and a restart of that node
    (which must refuse to start), and most often by a fresh member added in its place.
    """
    rng = random.Random(seed ^ 0xC4A2)
    config = SimConfig(nodes=rng.choice(WIDE_SIZES), keys=1, values=5,
                       max_msg_entries=rng.choice((1, 1, 2, 8)), seed=seed)
    weights = dict(swarm(rng).weights)
    for k, w in {**WIDE_WEIGHTS, **CHURN_WEIGHTS}.items():
        weights[k] = 0 if rng.random() < 0.2 else w * rng.choice((1, 2, 4))
    kinds = sorted(weights)
    out: list[tuple[Any, ...]] = []
    corruptions = 0
    while len(out) < steps:
        kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
        if kind == "corrupt":  # media corruption is rare: at most two per schedule
            corruptions += 1
            kind = kind if corruptions <= 2 else "tick"
        out.append(_draw(rng, kind, config))
        if kind == "lpart":
            out.extend(_usurpation(rng, config))
        elif kind == "addl" and rng.random() < 0.7:  # let it catch up, then promote it
            out += [("tick",) if rng.random() < 0.3 else ("deliver", 0)
                    for _ in range(rng.randrange(5, 40))]
            out.append(("promote", rng.randrange(8)))
        elif kind in CHANGES and rng.random() < 0.3:
            out.append(_draw(rng, rng.choice(("addv", "remove")), config))  # a second change
        elif kind == "corrupt" and rng.random() < 0.8:  # the node recovers: it must refuse
            n = out[-1][1]
            out += [("tick",)] * rng.randrange(3) + [("crash", n, 2 * rng.randrange(1 << 15))]
            out += [("tick",) if rng.random() < 0.5 else ("deliver", 0)
                    for _ in range(rng.randrange(2, 12))]
            out.append(("restart", n))
            if rng.random() < 0.8:  # the operator adds a fresh member in its place
                out.append(("addv",))
    return Schedule(config, tuple(out[:steps]), f"churn seed {seed}")


def _usurpation(rng: random.Random, cfg: SimConfig) -> list[tuple[Any, ...]]:
    """After an ``lpart``: writes at the old leader, an election and writes on the
    majority side, perhaps a snapshot there, then (usually) a heal."""
    out: list[tuple[Any, ...]] = []
    for _ in range(rng.randrange(1, 6)):  # writes via the leader hint: the old leader
        out += [("op", rng.randrange(cfg.clients), 1, rng.randrange(cfg.keys),
                 rng.randrange(cfg.values), 0)] + [("deliver", 0)] * rng.randrange(4)
    for _ in range(rng.randrange(10, 40)):
        out.append(("tick",) if rng.random() < 0.4 else ("deliver", 0))
    for _ in range(rng.randrange(0, 4)):
        out += [("op", rng.randrange(cfg.clients), rng.randrange(1, 3), rng.randrange(cfg.keys),
                 rng.randrange(cfg.values), 0)] + [("deliver", 0)] * rng.randrange(6)
    if rng.random() < 0.6:
        out.append(("lsnap",))
    if rng.random() < 0.8:
        out.append(("heal",))
        if rng.random() < 0.5:  # now cut the new leader off: the old one's longer log
            out += [("deliver", 0)] * rng.randrange(3) + [("lpart", rng.randrange(8))]
            out += [("tick",) if rng.random() < 0.4 else ("deliver", 0)
                    for _ in range(rng.randrange(10, 40))]
            out.append(("heal",))
    return out


def _tla_weights(rng: random.Random, extra: dict[str, int]) -> tuple[list[str], list[int]]:
    """Swarm weights for the tla profile's kinds plus ``extra``'s, each scaled by 1, 2 or 4."""
    weights = dict(swarm(rng).weights)
    for k, w in extra.items():
        weights[k] = w * rng.choice((1, 2, 4))
    kinds = sorted(weights)
    return kinds, [weights[k] for k in kinds]


def _draw_untorn(rng: random.Random, kinds: list[str], weights: list[int],
                 config: SimConfig) -> tuple[str, tuple[Any, ...]]:
    """One step of a weighted kind; a crash never tears a write (step refinement sees it)."""
    kind = rng.choices(kinds, weights)[0]
    step = _draw(rng, kind, config)
    return kind, (step[0], step[1], step[2] & ~1) if kind == "crash" else step


# --- the "tla-churn" profile: raft.tla's vocabulary plus membership changes -------------

#: the step kinds the tla-churn profile adds to the tla profile's, per 1,000 steps
TLA_CHURN_WEIGHTS = {"addl": 5, "addv": 3, "promote": 3, "remove": 5, "snap": 4, "lsnap": 3}


def generate_tla_churn(seed: int, steps: int) -> Schedule:
    """The ``tla-churn`` profile: :func:`tla_config`'s vocabulary (pre-vote and check-quorum
    off, one entry per AppendEntries, no torn write) on 1 to 5 nodes, swarm weights plus
    :data:`TLA_CHURN_WEIGHTS`: learners added (most often promoted once they had time to
    catch up), voters added, voters removed (the leader included), sometimes a second
    change right after the first (which the leader must refuse while one is pending), and
    snapshots, so that a new node may catch up by InstallSnapshot.  For step refinement
    of membership changes against ``quorum.spec.raft.membership`` (etcd's rules: a
    configuration takes effect when applied, learners, a leader that removes itself)."""
    rng = random.Random(seed ^ 0x3C7E)
    config = tla_config(nodes=rng.choice((1, 2, 3, 3, 4, 5)), seed=seed)
    kinds, weights = _tla_weights(rng, TLA_CHURN_WEIGHTS)
    out: list[tuple[Any, ...]] = []
    while len(out) < steps:
        kind, step = _draw_untorn(rng, kinds, weights, config)
        out.append(step)
        if kind == "addl" and rng.random() < 0.7:  # let it catch up, then promote it
            out += [("tick",) if rng.random() < 0.3 else ("deliver", 0)
                    for _ in range(rng.randrange(5, 40))]
            out.append(("promote", rng.randrange(8)))
        elif kind in CHANGES and rng.random() < 0.3:
            out.append(_draw(rng, rng.choice(("addv", "remove")), config))  # a second change
    return Schedule(config, tuple(out[:steps]), f"tla-churn seed {seed}")


def _generate_tla_prevote(seed: int, steps: int) -> Schedule:
    return generate_tla(seed, steps, pre_vote=True)


# --- the "tla-snap" profile: raft.tla's vocabulary plus log compaction ------------------

#: the step kinds the tla-snap profile adds to the tla profile's, per 1,000 steps
TLA_SNAP_WEIGHTS = {"snap": 12, "lsnap": 8, "lpart": 4}


def generate_tla_snap(seed: int, steps: int) -> Schedule:
    """The ``tla-snap`` profile: :func:`generate_tla`'s cluster (3 or 5 nodes, pre-vote off,
    check-quorum off, one entry per AppendEntries) and swarm weights, plus snapshots on
    any node (``snap``), on the leader (``lsnap``) and leader partitions (``lpart`` with
    the usurpation that follows it, :func:`generate_wide`'s): followers cut off or crashed
    while the others compact then catch up by InstallSnapshot, over a conflicting
    suffix after a usurpation.  Crashes never tear a write, so that step refinement
    (against raft.tla with ``quorum.spec.raft.snapshots``) sees every event."""
    rng = random.Random(seed ^ 0x5AA9)
    config = tla_config(nodes=rng.choice((3, 3, 5)), seed=seed)
    kinds, weights = _tla_weights(rng, TLA_SNAP_WEIGHTS)
    out: list[tuple[Any, ...]] = []
    while len(out) < steps:
        kind, step = _draw_untorn(rng, kinds, weights, config)
        out.append(step)
        if kind == "lpart":
            out.extend(_usurpation(rng, config))
    return Schedule(config, tuple(out[:steps]), f"tla-snap seed {seed}")


#: the generation profiles by name, as ``quorum sim --profile`` and ``quorum verify-impl
#: --profiles`` take them: seed, steps -> schedule.  A new generator is registered here
#: and nowhere else; every command and benchmark reads this table.
PROFILES: dict[str, Callable[[int, int], Schedule]] = {
    "default": generate,  # swarm testing over every fault, the whole store
    "tla": generate_tla,  # within raft.tla's vocabulary (step refinement applies)
    "tla-prevote": _generate_tla_prevote,  # the same with etcd's pre-vote on
    "wide": generate_wide,  # sizes 1-7, usurpations, snapshots by new leaders, retries
    "churn": generate_churn,  # the wide shapes plus membership changes and storage faults
    "tla-snap": generate_tla_snap,  # the tla profile plus snapshots and InstallSnapshot
    "tla-churn": generate_tla_churn,  # the tla profile plus membership changes
}


def draw(profile: str, seed: int, steps: int, protocol: str = "raft") -> Schedule:
    """The schedule of ``profile`` for ``seed``; ValueError naming the known profiles.

    ``protocol="multipaxos"``: the same draw for the multipaxos core, without the steps
    only Raft supports (:data:`RAFT_ONLY`), pre-vote as drawn (the core's ``pre_prepare``,
    its leader stickiness); only the
    profiles in :data:`MULTIPAXOS_PROFILES`."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    sched = PROFILES[profile](seed, steps)
    if protocol == "raft":
        return sched
    if profile not in MULTIPAXOS_PROFILES:
        raise ValueError(f"profile {profile!r} adds nothing the multipaxos core runs "
                         f"(membership changes, or tla-snap's schedules without snapshots); "
                         f"with --protocol multipaxos use one of: "
                         f"{', '.join(MULTIPAXOS_PROFILES)}")
    steps_kept = [s for s in sched.steps if s[0] not in RAFT_ONLY]
    return Schedule(replace(sched.config, protocol=protocol), tuple(steps_kept),
                    sched.origin)
