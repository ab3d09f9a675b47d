"""The Ray engine (model_checker/explicit/distributed.py) on a local Ray cluster of
several worker processes agrees with the sequential searches: the same counts, depth,
coverage and shortest counterexamples on pinned models.  One Ray session serves the whole
module (starting one costs seconds); each check starts its own actors."""

from __future__ import annotations

import functools
import sys

import pytest

from quorum.cli.specs import build_model, load
from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import check
from quorum.model_checker.explicit.parallel import check_fingerprints

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra (in dev)")

from quorum.model_checker.explicit.distributed import check_ray, connect  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cluster():
    assert connect("local", 3)  # three CPUs: up to three actors at once
    yield
    ray.shutdown()


def builder(spec, mutant=None, symmetry=False, **overrides):
    values = load(spec).defaults(mutant)
    values.update(overrides)
    return functools.partial(build_model, spec, values, mutant, symmetry)


def same(a, b):
    assert (a.ok, a.distinct_states, a.generated_states, a.depth, a.complete) == (
        b.ok, b.distinct_states, b.generated_states, b.depth, b.complete)
    assert {k: (c.generated, c.distinct) for k, c in a.coverage.items()} == {
        k: (c.generated, c.distinct) for k, c in b.coverage.items()}


def test_paxos_pinned_counts_on_two_workers():
    build = builder("paxos")
    r = check_ray(build, workers=2)
    assert r.ok and (r.distinct_states, r.generated_states, r.depth) == (3921, 22995, 17)
    same(r, check(build()))
    x = r.extra
    assert (x["engine"], x["workers"], x["store_bytes_per_state"]) == ("ray", 2, 16.0)
    # each new-level candidate travels as a fingerprint, a position and a parent (24
    # bytes) to its owner when that is another worker, and back as a 1-byte mask
    assert 0 < x["bytes_exchanged"] <= 25 * r.generated_states
    # each level boundary: every worker's positions to the driver, all of them back to
    # each worker (8 bytes each)
    assert x["bytes_via_driver"] == (1 + 2) * 8 * r.distinct_states


@pytest.mark.slow
def test_paxos_b2_pinned_counts_on_three_workers():
    r = check_ray(builder("paxos", max_ballot=2), workers=3)
    assert r.ok and (r.distinct_states, r.generated_states, r.depth) == (185369, 1316584, 25)
    s = check_ray(builder("paxos", symmetry=True, max_ballot=2), workers=3)
    assert s.ok and (s.distinct_states, s.depth) == (17153, 25)
    assert s.extra["collision_probability_optimistic"] < 1e-9


@pytest.mark.slow
def test_multipaxos_mc_small_cfg_count_of_tlc_on_two_workers():
    # tests/spec/multipaxos/test_multipaxos.py pins the same on the sequential search
    build = builder("multipaxos", symmetry=True, max_ballot=2)
    r = check_ray(build, workers=2, properties=["TypeOK", "Linearizability"])
    assert r.ok and (r.distinct_states, r.depth, r.generated_states) == (343796, 28, 735918)


def test_raft_pinned_counts_on_three_workers():
    r = check_ray(builder("raft"), workers=3)
    assert r.ok and (r.distinct_states, r.depth, r.generated_states) == (1657, 28, 12969)
    same(r, check(builder("raft")()))


def test_multipaxos_defaults_on_two_workers():
    build = builder("multipaxos")
    r = check_ray(build, workers=2)
    assert r.ok and (r.distinct_states, r.depth) == (4306, 18)
    same(r, check(build()))


@pytest.mark.parametrize("mutant", ["ceil-quorum", "ignore-1b-votes"])
def test_paxos_mutants_give_the_sequential_shortest_trace(mutant):
    build = builder("paxos", mutant)
    exact = check(build(), properties=["Agreement"])
    r = check_ray(build, workers=2, properties=["Agreement"])
    assert (r.violation.kind, r.violation.property, r.violation.length) == (
        "invariant", "Agreement", 13)
    assert r.violation.trace == exact.violation.trace
    same(r, exact)  # counted up to the violation, as the sequential search stops there


def test_a_state_limit_gives_an_incomplete_verdict_as_the_local_engine():
    build = builder("paxos")
    r = check_ray(build, workers=2, max_states=1000)
    local = check_fingerprints(build(), workers=2, fork_at=1, max_states=1000)
    assert r.ok and not r.complete and r.distinct_states == 1301
    same(r, local)


class Opaque:
    """A state hashed by identity: its fingerprint differs in every process."""


def opaque_model():
    class M:
        name = "opaque"
        canonicalize = None
        view = None
        invariants: dict = {}
        action_properties: dict = {}
        reachability: dict = {}

        def initial_states(self):
            yield Opaque()

        def successors(self, s):
            yield ("Next", ()), Opaque()

        def within_bounds(self, s):
            return True

    return M()


def test_states_that_hash_differently_in_each_process_are_refused():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with pytest.raises(CheckError, match="hash differently"):
            check_ray(opaque_model, workers=2)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_an_unreachable_or_malformed_address_is_one_clear_error():
    with pytest.raises(CheckError, match=r"127.0.0.1:1: cannot reach a Ray cluster there"):
        connect("127.0.0.1:1", 2)
    with pytest.raises(CheckError, match="expected HOST:PORT"):
        connect("head-without-port", 2)


def test_more_workers_than_the_cluster_has_cpus_is_one_clear_error():
    with pytest.raises(CheckError, match="the Ray cluster has 3 CPUs; 4 workers need one"):
        check_ray(builder("paxos"), workers=4)


def test_a_worker_that_dies_is_one_clear_error(monkeypatch):
    import quorum.model_checker.explicit.distributed as distributed

    start = distributed._start_actors

    def start_and_kill_one(*args):
        actors = start(*args)
        ray.kill(actors[1])
        return actors

    monkeypatch.setattr(distributed, "_start_actors", start_and_kill_one)
    with pytest.raises(CheckError, match=r"the search failed on the Ray cluster \(The actor"):
        check_ray(builder("paxos"), workers=2)
