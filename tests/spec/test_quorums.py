"""Quorum lemmas (spec/quorums.py): majorities meet for every n; ceil(n/2) does not."""

from __future__ import annotations

import pytest
import z3

from quorum.model_checker.symbolic.lemmas import check_lemma
from quorum.spec.quorums import MAX_BITS, MAX_JOINT_BITS, lemmas

LEMMAS = {lemma["name"]: lemma for lemma in lemmas()}


def test_majorities_intersect_for_every_n():
    assert check_lemma(LEMMAS["majorities_intersect"]).result == "proved"


def test_ceil_half_is_refuted_with_the_smallest_n_two():
    result = check_lemma(LEMMAS["ceil_quorums_intersect"])
    assert result.result == "refuted" and result.ok
    cex = result.counterexample
    assert cex["n"] == "2" and cex["a"] == "1" and cex["b"] == "1" and cex["x"] == "0"


def test_joint_consensus_quorums_meet_both_configurations():
    assert check_lemma(LEMMAS["joint_quorums_intersect"]).result == "proved"


@pytest.mark.parametrize("k", range(1, MAX_BITS + 1))
def test_finite_sets_agree_with_the_integer_fact(k):
    assert check_lemma(LEMMAS[f"bits_set_fact_n{k}"]).result == "proved"
    assert check_lemma(LEMMAS[f"bits_majorities_n{k}"]).result == "proved"
    ceil = check_lemma(LEMMAS[f"bits_ceil_n{k}"])
    assert ceil.result == ("refuted" if k % 2 == 0 else "proved")
    if ceil.counterexample:  # two disjoint sets of k/2 elements each
        a, b = (set(ceil.counterexample[x].strip("{}").split(",")) for x in "AB")
        assert len(a) == len(b) == k // 2 and not a & b


@pytest.mark.parametrize("k", range(1, MAX_JOINT_BITS + 1))
def test_joint_consensus_with_explicit_configurations(k):
    assert check_lemma(LEMMAS[f"bits_joint_n{k}"]).result == "proved"


def test_every_lemma_is_as_expected():
    assert all(check_lemma(lemma).ok for lemma in lemmas())


def test_a_lemma_z3_cannot_decide_is_unknown():
    a, b, c = z3.Ints("a b c")
    fermat = z3.ForAll([a, b, c], z3.Implies(z3.And(a > 0, b > 0, c > 0),
                                             a * a * a + b * b * b != c * c * c))
    result = check_lemma({"name": "fermat3", "claim": fermat}, timeout=0.5)
    assert result.result == "unknown" and not result.ok
