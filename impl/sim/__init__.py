"""The deterministic simulator: N real Raft cores, WALs and KV stores in one thread.

Start reading at :mod:`quorum.impl.sim.simulator` (the loop and the fault catalogue), then
:mod:`quorum.impl.sim.schedule` (schedules as data) and :mod:`quorum.impl.sim.node` (one member's
driver loop).  This package imports neither ``spec/`` nor ``model_checker/``.
"""

from .clients import OpRecord
from .mpnode import MPSimNode
from .node import SimNode
from .schedule import (
                       KINDS,
                       MULTIPAXOS_PROFILES,
                       PROFILES,
                       PROTOCOLS,
                       RAFT_ONLY,
                       Profile,
                       Schedule,
                       SimConfig,
                       draw,
                       generate,
                       generate_churn,
                       generate_tla,
                       generate_tla_churn,
                       generate_tla_snap,
                       generate_wide,
                       in_tla_vocabulary,
                       tla_config,
                       with_mutant,
)
from .simulator import Event, Observer, RunResult, Simulator, run_schedule

__all__ = ["KINDS", "MULTIPAXOS_PROFILES", "PROFILES", "PROTOCOLS", "RAFT_ONLY", "MPSimNode", "Event", "Observer", "OpRecord", "Profile", "RunResult", "Schedule",
           "SimConfig", "SimNode", "Simulator", "draw", "generate", "generate_churn", "generate_tla", "generate_tla_churn", "generate_tla_snap", "generate_wide", "in_tla_vocabulary", "run_schedule",
           "tla_config", "with_mutant"]
