"""Quorum lemmas as z3 claims (plain data for ``quorum.model_checker.symbolic.lemmas``).

Every safety argument in Paxos and Raft ends in "two quorums share a member".  For
majorities of n acceptors that rests on one counting fact about finite sets
A, B of an n-element set::

    |A ∩ B| >= |A| + |B| - n          (inclusion-exclusion: |A ∪ B| <= n)

Stated once for integers, it proves intersection *for every n*; z3's linear integer
arithmetic (with division by the numeral 2) decides the claims.  The lemmas:

* ``majorities_intersect``: two majorities, floor(n/2)+1 each, always meet;
* ``ceil_quorums_intersect``: the tutorial's ceil(n/2) does not; the counterexample
  reported is the smallest n (n = 2: {1} and {2});
* ``bits_*_n{k}``: the set fact and the two quorum rules again, for every k up to 7,
  with explicit finite sets (bit-vectors of width k, sizes by popcount), as a check
  that the integer fact is the right one; ceil(k/2) fails exactly for even k;
* ``joint_*``: Raft's joint consensus (Ongaro and Ousterhout, "In Search of an
  Understandable Consensus Algorithm", 2014, section 6): a joint quorum, a majority
  of the old configuration and a majority of the new, meets every quorum of either
  configuration (for all sizes in integers; for every overlap of configurations in
  up to 7 servers with bit-vectors).
"""

from __future__ import annotations

from typing import Any

import z3

__all__ = ["MAX_BITS", "MAX_JOINT_BITS", "lemmas"]

MAX_BITS = 7
MAX_JOINT_BITS = 7


def majority(n: z3.ArithRef) -> z3.ArithRef:
    return n / 2 + 1  # z3 integer division: floor(n/2) + 1


def ceil_half(n: z3.ArithRef) -> z3.ArithRef:
    return (n + 1) / 2


def _two_quorums_meet(size_of_quorum: Any) -> z3.BoolRef:
    """From the set fact alone: two quorums of the given size rule share a member."""
    n, a, b, x = z3.Ints("n a b x")  # |S|, |A|, |B|, |A ∩ B|
    sets = z3.And(n >= 1, 0 <= a, a <= n, 0 <= b, b <= n, 0 <= x, x <= a, x <= b)
    fact = x >= a + b - n
    quorums = z3.And(a >= size_of_quorum(n), b >= size_of_quorum(n))
    return z3.Implies(z3.And(sets, fact, quorums), x >= 1)


def _joint() -> z3.BoolRef:
    """Integers: J is a majority of Old and of New; Q a majority of one of them."""
    o, w, jo, jw, q, y = z3.Ints("old new j_old j_new q j_q")
    sizes = z3.And(o >= 1, w >= 1, 0 <= jo, jo <= o, 0 <= jw, jw <= w, 0 <= y, y <= q)
    joint = z3.And(jo >= majority(o), jw >= majority(w))

    def meets(c: z3.ArithRef, jc: z3.ArithRef) -> z3.BoolRef:
        # Q within configuration c (|c| members): |J ∩ Q| >= |J ∩ c| + |Q| - |c|
        return z3.Implies(z3.And(q <= c, q >= majority(c), y >= jc + q - c), y >= 1)

    return z3.Implies(z3.And(sizes, joint), z3.And(meets(o, jo), meets(w, jw)))


# -- explicit finite sets: bit-vectors ------------------------------------------

def popcount(x: z3.BitVecRef) -> z3.ArithRef:
    return z3.Sum([z3.If(z3.Extract(i, i, x) == 1, 1, 0) for i in range(x.size())])


def _bits_fact(k: int) -> z3.BoolRef:
    a, b = z3.BitVecs("A B", k)
    return popcount(a & b) >= popcount(a) + popcount(b) - k


def _bits_meet(k: int, size: int) -> z3.BoolRef:
    a, b = z3.BitVecs("A B", k)
    return z3.Implies(z3.And(popcount(a) >= size, popcount(b) >= size), a & b != 0)


def _bits_joint(k: int) -> z3.BoolRef:
    old, new, j, q = z3.BitVecs("Old New J Q", k)

    def is_majority(s: z3.BitVecRef, c: z3.BitVecRef) -> z3.BoolRef:
        return z3.And(s & ~c == 0, 2 * popcount(s) > popcount(c))

    joint = z3.And(old != 0, new != 0, is_majority(j & old, old), is_majority(j & new, new))
    return z3.Implies(joint, z3.And(z3.Implies(is_majority(q, old), j & q != 0),
                                    z3.Implies(is_majority(q, new), j & q != 0)))


def lemmas() -> list[dict[str, Any]]:
    """Every quorum lemma, in teaching order."""
    n = z3.Int("n")
    out: list[dict[str, Any]] = [
        {"name": "majorities_intersect", "claim": _two_quorums_meet(majority),
         "doc": "two majorities (floor(n/2)+1) of n intersect, for every n >= 1"},
        {"name": "ceil_quorums_intersect", "claim": _two_quorums_meet(ceil_half),
         "expect": "refuted", "minimize": n,
         "doc": "the tutorial's ceil(n/2) quorums intersect (false: smallest n shown)"},
        {"name": "joint_quorums_intersect", "claim": _joint(),
         "doc": "a joint quorum meets every quorum of the old and of the new configuration"},
    ]
    for k in range(1, MAX_BITS + 1):
        out.append({"name": f"bits_set_fact_n{k}", "claim": _bits_fact(k),
                    "doc": f"|A ∩ B| >= |A| + |B| - {k} for all subsets of {k} elements"})
        out.append({"name": f"bits_majorities_n{k}", "claim": _bits_meet(k, k // 2 + 1),
                    "doc": f"two majorities ({k // 2 + 1}) of {k} elements intersect"})
        out.append({"name": f"bits_ceil_n{k}", "claim": _bits_meet(k, -(-k // 2)),
                    "expect": "refuted" if k % 2 == 0 else "proved",
                    "doc": f"two sets of ceil({k}/2) = {-(-k // 2)} of {k} elements intersect"})
    for k in range(1, MAX_JOINT_BITS + 1):
        out.append({"name": f"bits_joint_n{k}", "claim": _bits_joint(k),
                    "doc": f"joint consensus over {k} servers, every pair of configurations"})
    return out

