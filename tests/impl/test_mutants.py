"""The mutant registry (quorum.impl.mutants): names, and misuse refused at construction."""

from __future__ import annotations

import json

import pytest

from quorum.impl.driver import Driver, ReadGate
from quorum.impl.mutants import Layer, Mutant, foreign, names, of_layer, parse
from quorum.impl.raft import ConfigError, MemoryStorage, RaftConfig, RawNode
from quorum.impl.sim import Schedule, SimConfig, generate, with_mutant
from quorum.impl.storage import DiskStorage, MemoryDisk, StorageError


def test_every_mutant_has_a_unique_name_a_layer_a_check_and_a_story():
    assert len(set(names())) == len(Mutant) == len(list(Mutant))
    for m in Mutant:
        assert parse(m.value) is m and str(m) == m.value
        assert isinstance(m.layer, Layer) and m.check and m.doc
    assert {m.layer for m in Mutant} == set(Layer)


def test_an_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown mutant 'no-trunc'; known: commit-old-term, "):
        parse("no-trunc")
    with pytest.raises(ValueError, match="unknown mutant 'typo'"):
        with_mutant(SimConfig(), "typo")


def test_each_layer_refuses_what_is_not_its_own():
    assert foreign([Mutant.NO_TRUNCATE, "x", Mutant.NO_FSYNC_VOTE], Layer.CORE) == [
        "'x'", "no-fsync-vote (a storage mutant)"]
    assert of_layer(Mutant, Layer.DRIVER) == {Mutant.ACK_BEFORE_COMMIT, Mutant.NO_SESSIONS,
                                              Mutant.REPLY_BEFORE_FSYNC,
                                              Mutant.EARLY_READ_RELEASE,
                                              Mutant.RETRY_APPLIED_TWICE}
    with pytest.raises(ConfigError, match="unknown core mutants 'local-read'"):
        RaftConfig(id=1, mutants=frozenset({"local-read"})).validate()  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="unknown storage mutants no-truncate"):
        DiskStorage.open(MemoryDisk(), "/n1", cluster_id=1, node_id=1,
                         mutants=frozenset({Mutant.NO_TRUNCATE}))
    with pytest.raises(ConfigError, match="unknown driver mutants local-read .a core mutant."):
        Driver(RawNode(RaftConfig(id=1), MemoryStorage()), MemoryStorage(), None,  # type: ignore[arg-type]
               ReadGate(), frozenset({Mutant.LOCAL_READ}))
    with pytest.raises(ValueError, match="SimConfig.mutants takes Mutant members, got 'no-truncate'"):
        SimConfig(mutants=("no-truncate",))  # type: ignore[arg-type]


def test_a_schedule_names_its_mutants_in_json_and_reads_them_back():
    s = generate(0, 5)
    s = Schedule(with_mutant(with_mutant(s.config, Mutant.NO_FSYNC_VOTE), "local-read"), s.steps)
    d = json.loads(s.to_json())
    assert d["config"]["mutants"] == ["no-fsync-vote", "local-read"]
    assert Schedule.from_json(s.to_json()) == s
    assert with_mutant(s.config, Mutant.LOCAL_READ) == s.config  # already on
    d["config"]["mutants"] = ["no-such-bug"]
    with pytest.raises(ValueError, match="unknown mutant 'no-such-bug'"):
        Schedule.from_json(json.dumps(d))


def test_schedules_saved_with_one_list_per_layer_still_load():
    d = json.loads(generate(0, 5).to_json())
    del d["config"]["mutants"]
    d["config"].update(core_mutations=["local-read"], storage_mutants=["no-fsync-vote"],
                       driver_mutants=[])
    cfg = Schedule.from_json(json.dumps(d)).config
    assert cfg.mutants == (Mutant.LOCAL_READ, Mutant.NO_FSYNC_VOTE)
