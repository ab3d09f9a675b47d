"""Step refinement of the simulated store against spec.raft (raft.tla), in the tla profile.

Pinned: the seeds, the number of events validated, and how many of them took at least
one spec step (the rest are stutters of the compared variables); see docs/refinement.md.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from impl.refinement.abstraction import MessageMap, Values, abstract
from impl.sim import Simulator, generate, generate_tla, run_schedule, tla_config, with_mutant
from quorum.simcheck import check_schedule
from quorum.simstep import StepRefinementObserver
from spec.raft.state import REQUEST_VOTE_REQUEST, bag_size, initial_state

#: seed -> (nodes, events validated, events that took >= 1 spec step), 1,000 steps each
PINNED = {0: (3, 1000, 388), 1: (3, 1000, 169), 2: (5, 1000, 206), 3: (5, 1000, 260),
          4: (3, 1000, 158), 5: (3, 1000, 472), 6: (3, 1000, 72), 7: (3, 1000, 358)}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_the_unmutated_store_refines_raft_tla(seed):
    s = generate_tla(seed, 1000)
    obs = StepRefinementObserver(s.config.nodes)
    run = run_schedule(s, [obs], keep_log=False)
    assert run.failure is None, run.failure
    nodes, validated, steps = PINNED[seed]
    assert s.config.nodes == nodes
    assert obs.totals() == (validated, 1000)
    assert obs.spec_steps() == steps
    assert "not validated" not in obs.coverage()


def test_messages_in_flight_map_onto_the_bag():
    sim = Simulator(tla_config(3, seed=1))
    values, msgs = Values(), MessageMap()
    for _ in range(40):  # tick until someone campaigns
        sim.step(("tick",))
        if sim.inflight:
            break
    s = abstract(sim.nodes, {}, values)
    bag = msgs.update(sim.inflight, s.log, values)
    assert bag_size(bag) == len(sim.inflight) == 2
    assert all(m.mtype == REQUEST_VOTE_REQUEST and m.mterm == 2 for m, _ in bag)
    sim.step(("dup", 0))
    assert bag_size(msgs.update(sim.inflight, s.log, values)) == 3
    assert abstract(Simulator(tla_config(3)).nodes, {}, Values()) == initial_state(3)


@pytest.mark.parametrize("mutant,seed,event", [("no-truncate", 0, "deliver APPEND"),
                                               ("stale-append", 0, "deliver APPEND"),
                                               ("no-fsync-vote", 2, "crash")])
def test_step_refinement_catches_an_implementation_mutant(mutant, seed, event):
    s = generate_tla(seed, 1500)
    s = replace(s, config=with_mutant(s.config, mutant))
    res = check_schedule(s, ("refinement",), keep_log=False)
    assert res.failure is not None
    assert res.failure.startswith("refinement: event ")
    # the failing step is printed: the event, the spec actions enabled, pre and post
    for part in (event, "is no step of raft.tla", "enabled spec actions", "abstract pre-state",
                 "abstract post-state"):
        assert part in res.failure


def test_refinement_needs_the_tla_profile():
    from quorum.cli import UsageError

    with pytest.raises(UsageError):
        check_schedule(generate(0, 10), ("refinement",))


def test_quorum_sim_profile_tla_reports_coverage():
    out = subprocess.run([sys.executable, "-m", "quorum", "sim", "--profile", "tla",
                          "--seed", "4", "--steps", "600"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step refinement: 600 of 600 events validated" in out.stdout
    assert "refinement ok" in out.stdout.splitlines()[-1]
