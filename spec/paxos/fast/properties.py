"""Safety properties of Paxos: Agreement and the conjuncts of Paxos.tla's ``Inv``.

Each property is a function of the state alone.  Names map onto Paxos.tla:

=====================  ==========================================================
``TypeOK``             ``Inv!1``: every variable within its type
``AccInv``             ``Inv!2``: an acceptor's recorded vote is a vote it sent
``MsgInv``             ``Inv!3``: 1b messages report real votes and imply a promise;
                       2a proposals are safe (``ShowsSafeAt``) and unique per ballot
``VotesSafe``          ``V!Inv`` (Voting.tla): every vote is for a value safe at its ballot
``OneValuePerBallot``  ``V!Inv``: no two acceptors vote for different values in a ballot
``Agreement``          Consensus: at most one value is chosen
=====================  ==========================================================

The messages are bit sets (see :mod:`quorum.spec.paxos.fast.state`), so most properties are a few
``&``/``|`` over per-ballot groups of bits; each function says which TLA+ formula it
computes.

Each function reads a *projection* of the state: one acceptor's tuple, the vector of
every acceptor's 2b messages (``votes``), or that and the vector of ``maxBal``.  These
projections take far fewer distinct values than states do (on 3 acceptors, 2 values,
ballots 0..2: 185,369 states, 1,611 vote vectors), so :func:`invariants` memoizes each
function on its projection: the same function of the state, computed once per distinct
projection.  The memo tables are bounded (cleared when full).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from quorum.spec.paxos.config import Config, acceptor_name, value_name
from quorum.spec.paxos.fast.state import (
    Acceptor,
    Layout,
    PaxosState,
    acceptors,
    layout,
    max_bal,
    sent2b,
)

__all__ = ["chosen", "fairness", "invariants", "liveness", "reachability", "votes"]

Vote = tuple[int, int, int]  # (acceptor, ballot, value)
Votes = tuple[int, ...]  # per acceptor, its sent2b bit set
Bals = tuple[int, ...]  # per acceptor, its maxBal


def votes(cfg: Config, s: PaxosState) -> set[Vote]:
    """``votes`` of Paxos.tla: the (acceptor, ballot, value) of every 2b message."""
    return set(layout(cfg).votes(s))


def vote_vector(s: PaxosState) -> Votes:
    return tuple(map(sent2b, acceptors(s)))


def _chosen_bits(lay: Layout, vv: Votes) -> int:
    """Bit ``b*V + v`` is set when some quorum has voted for v in ballot b."""
    out = 0
    for q in lay.quorum_lists:
        both = -1
        for a in q:
            both &= vv[a]
        out |= both
    return out


def chosen(cfg: Config, s: PaxosState) -> set[int]:
    """Values some quorum has voted for in one ballot (Voting.tla's ``chosen``)."""
    lay = layout(cfg)
    return {i % lay.V for i in lay.bits(_chosen_bits(lay, vote_vector(s)))}


def _agreement(lay: Layout, vv: Votes) -> bool:
    """At most one value is chosen."""
    bits = _chosen_bits(lay, vv)
    return not bits or sum(1 for m in lay.value_mask if bits & m) <= 1


def _one_value_per_ballot(lay: Layout, vv: Votes) -> bool:
    """No two votes in one ballot are for different values."""
    every = 0
    for x in vv:
        every |= x
    while every:
        group = every & lay.vmask
        if group & (group - 1):
            return False
        every >>= lay.V
    return True


def _votes_safe(lay: Layout, key: tuple[Bals, Votes]) -> bool:
    """Every vote (a, b, v) is safe: for each c < b some quorum has voted v at c or can no
    longer vote at c (promised a higher ballot, and did not vote at c)."""
    bals, vv = key
    V, vmask = lay.V, lay.vmask
    every = 0
    for x in vv:
        every |= x
    for v in range(V):
        of_v = every & lay.value_mask[v]
        top = (of_v.bit_length() - 1) // V  # highest ballot with a vote for v (-1: none)
        for c in range(top):
            ok = 0
            for a, x in enumerate(vv):
                group = (x >> c * V) & vmask
                if group >> v & 1 or (bals[a] > c and not group):
                    ok |= 1 << a
            if not any(q & ~ok == 0 for q in lay.quorums):
                return False
    return True


def _acceptor_type_ok(lay: Layout, x: Acceptor) -> bool:
    """One acceptor's variables and sent messages in their types (a bit exists only for
    a well-typed message, so a bit set is typed when it fits its width)."""
    B, V = lay.B, lay.V
    bal, vbal, val, s1b, s2b = x
    return (-1 <= bal < B and -1 <= vbal < B and -1 <= val < V
            and 0 <= s1b < 1 << B * lay.W and 0 <= s2b < 1 << B * V)


def _acc_inv(lay: Layout, x: Acceptor) -> bool:
    """maxVal = None iff maxVBal = -1; otherwise <<maxVBal, maxVal>> is a 2b it sent."""
    _, vbal, val, _, s2b = x
    if vbal == -1:
        return val == -1
    return val >= 0 and bool(s2b >> (vbal * lay.V + val) & 1)


def _msg_inv_1b(lay: Layout, x: Acceptor) -> bool:
    """MsgInv for one acceptor's 1b messages: maxBal >= m.bal, and a reported vote is one
    of its 2b messages."""
    W, wmask = lay.W, lay.wmask
    bal, _, _, s1b, s2b = x
    if s1b and bal < (s1b.bit_length() - 1) // W:
        return False
    reported = 0
    while s1b:
        reported |= (s1b & wmask) >> 1
        s1b >>= W
    return not reported & ~s2b


def _shows_safe_at(lay: Layout, bals: Bals, vv: Votes, q: tuple[int, ...], b: int,
                   v: int) -> bool:
    """Voting.tla's ShowsSafeAt(Q, b, v): Q promised b, and c, the last ballot below b
    in which a member of Q voted, saw a vote for v (or no member voted below b)."""
    voted = 0
    for a in q:
        if bals[a] < b:
            return False
        voted |= vv[a]
    below = voted & ((1 << b * lay.V) - 1)
    if not below:
        return True
    c = (below.bit_length() - 1) // lay.V
    return bool(below >> (c * lay.V + v) & 1)


def _msg_inv_2a(lay: Layout, key: tuple[int, Bals, Votes]) -> bool:
    """MsgInv for the 2a messages: one per ballot, and each ShowsSafeAt some quorum."""
    rest, bals, vv = key
    b = 0
    while rest:
        group = rest & lay.vmask
        if group & (group - 1):
            return False
        if group:
            v = group.bit_length() - 1
            if not any(_shows_safe_at(lay, bals, vv, q, b, v) for q in lay.quorum_lists):
                return False
        rest >>= lay.V
        b += 1
    return True


class _Memo(dict[Hashable, bool]):
    """``memo[key]`` is ``f(key)``, computed once per key; cleared when it holds ``limit``."""

    def __init__(self, f: Callable[[Any], bool], limit: int = 1 << 18) -> None:
        super().__init__()
        self.f, self.limit = f, limit

    def __missing__(self, key: Hashable) -> bool:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.f(key)
        return value


INVARIANT_NAMES = ("Agreement", "TypeOK", "AccInv", "MsgInv", "VotesSafe", "OneValuePerBallot")


def invariants(cfg: Config) -> dict[str, Callable[[PaxosState], bool]]:
    """The invariants by name, each a function of the state (memoized, see above)."""
    return checks(cfg)[0]


def checks(cfg: Config) -> tuple[dict[str, Callable[[PaxosState], bool]],
                                 Callable[[PaxosState], str | None]]:
    """The invariants by name, and ``violated(s)``: the first of them (in that order)
    that ``s`` violates, or None (the checker's ``violated_invariant`` hook: one call per
    state instead of six).

    All six are computed together on the first question about a state and the answers
    kept for that state object, so asking each in turn costs one computation too."""
    lay = layout(cfg)

    def memo(f: Callable[[Layout, Any], bool]) -> _Memo:
        return _Memo(lambda key: f(lay, key))

    agreement, one_value = memo(_agreement), memo(_one_value_per_ballot)
    votes_safe, msg_2a = memo(_votes_safe), memo(_msg_inv_2a)
    type_ok, acc_inv, msg_1b = memo(_acceptor_type_ok), memo(_acc_inv), memo(_msg_inv_1b)
    n, B, BV = lay.n, lay.B, lay.B * lay.V
    last_state: PaxosState | None = None  # the last state asked about
    last_bad = 0  # and its failing bits

    def failing(s: PaxosState) -> int:
        nonlocal last_state, last_bad
        if s is last_state:
            return last_bad
        accs, sent1a, sent2a = s
        vv, bals = tuple(map(sent2b, accs)), tuple(map(max_bal, accs))
        bad = 0 if agreement[vv] else 1
        if not (len(accs) == n and 0 <= sent1a < 1 << B and 0 <= sent2a < 1 << BV
                and all(map(type_ok.__getitem__, accs))):
            bad |= 2
        if not all(map(acc_inv.__getitem__, accs)):
            bad |= 4
        if not (all(map(msg_1b.__getitem__, accs)) and (not sent2a or msg_2a[sent2a, bals, vv])):
            bad |= 8
        if not votes_safe[bals, vv]:
            bad |= 16
        if not one_value[vv]:
            bad |= 32
        last_state, last_bad = s, bad
        return bad

    def holds(bit: int) -> Callable[[PaxosState], bool]:
        return lambda s: not failing(s) & bit

    def violated(s: PaxosState) -> str | None:
        bad = failing(s)
        return INVARIANT_NAMES[(bad & -bad).bit_length() - 1] if bad else None

    return {name: holds(1 << i) for i, name in enumerate(INVARIANT_NAMES)}, violated


def reachability(cfg: Config) -> dict[str, Callable[[PaxosState], bool]]:
    """"Sometimes" properties: a spec that can never choose a value is broken."""
    lay = layout(cfg)
    return {"ValueChosen": lambda s: _chosen_bits(lay, vote_vector(s)) != 0}


def liveness(cfg: Config) -> dict[str, tuple[str, Callable[[PaxosState], bool]]]:
    """MCPaxos's MCLiveness, ``<>(chosen # {})``: some value is eventually chosen."""
    lay = layout(cfg)
    return {"EventuallyChosen": ("eventually",
                                 lambda s: _chosen_bits(lay, vote_vector(s)) != 0)}


def fairness(cfg: Config) -> list[tuple[str, Callable[[Any], bool]]]:
    """MCPaxos's MCLSpec: weak fairness of Phase1a and of each Phase2a of the highest
    ballot, and of ``Phase1b(a) \\/ Phase2b(a)`` for each acceptor a of one quorum
    (MCLSpec's {a1, a2}; here the first quorum of the configuration).

    Each condition is a predicate on labels: the steps of that action instance."""
    top = cfg.max_ballot
    quorum = sorted(cfg.quorum_sets()[0])
    out: list[tuple[str, Callable[[Any], bool]]] = [
        (f"WF(Phase1a({top}))", lambda lab: lab == ("Phase1a", (("b", top),)))]
    for v in range(cfg.values):
        out.append((f"WF(Phase2a({top}, {value_name(v)}))",
                    _is_label("Phase2a", (("b", top), ("v", value_name(v))))))
    for a in quorum:
        name = acceptor_name(a)
        out.append((f"WF(Phase1b({name}) \\/ Phase2b({name}))", _acceptor_steps(name)))
    return out


def _is_label(action: str, params: tuple[tuple[str, object], ...]) -> Callable[[Any], bool]:
    return lambda lab: bool(lab == (action, params))


def _acceptor_steps(name: str) -> Callable[[Any], bool]:
    """Phase1b(a) or Phase2b(a) steps of acceptor ``name``, whatever the message."""

    def steps(lab: Any) -> bool:
        action, params = lab
        return action in ("Phase1b", "Phase2b") and ("a", name) in params

    return steps
