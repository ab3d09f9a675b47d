"""Pure pieces of the runtime: flag parsing and ids, the member table, and the mapping
between etcd's protobuf messages and the state machine's commands and results."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from quorum.impl import kv
from quorum.impl.api import rpc_pb2
from quorum.impl.server import convert
from quorum.impl.server.config import (
    ServerConfig,
    ServerConfigError,
    cluster_id_of,
    member_id_of,
    parse_initial_cluster,
    parse_url,
)
from quorum.impl.server.members import (
    Membership,
    decode_attributes,
    encode_attributes,
    pack_snapshot,
    unpack_snapshot,
)

CLUSTER = "n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2382,n3=http://127.0.0.1:2384"


def config(**kw: object) -> ServerConfig:
    base: dict[str, object] = dict(
        name="n1", data_dir=Path("d"), listen_peer_urls=("http://127.0.0.1:2380",),
        listen_client_urls=("http://127.0.0.1:2379",),
        initial_cluster=parse_initial_cluster(CLUSTER),
        advertise_peer_urls=("http://127.0.0.1:2380",),
        advertise_client_urls=("http://127.0.0.1:2379",))
    base.update(kw)
    return ServerConfig(**base)  # type: ignore[arg-type]


def test_ids_are_derived_like_etcds_from_urls_and_token() -> None:
    a = member_id_of(["http://127.0.0.1:2380"], "etcd-cluster")
    assert a == member_id_of(("http://127.0.0.1:2380",), "etcd-cluster")  # add == serve
    assert a != member_id_of(["http://127.0.0.1:2380"], "other-token")
    assert 0 < a < 2**63 and 0 < cluster_id_of("t") < 2**63
    cfg = config()
    assert cfg.member_id == a and len(cfg.initial_members()) == 3


@pytest.mark.parametrize("flags, message", [
    (dict(name="n9"), "no entry for this member's --name 'n9'"),
    (dict(cluster_state="old"), "'new' or 'existing'"),
    (dict(advertise_peer_urls=("http://127.0.0.1:9999",)), "--initial-advertise-peer-urls"),
])
def test_inconsistent_flags_are_refused_in_one_line(flags: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(ServerConfigError, match=message):
        config(**flags)


def test_url_and_initial_cluster_parsing() -> None:
    assert parse_url("http://127.0.0.1:2380") == ("127.0.0.1", 2380)
    for bad in ("127.0.0.1:2380", "http://127.0.0.1", "ftp://h:1", "http://h:99999"):
        with pytest.raises(ServerConfigError):
            parse_url(bad)
    with pytest.raises(ServerConfigError, match="not NAME=URL"):
        parse_initial_cluster("n1")


def test_member_table_survives_a_snapshot_and_attributes_decode() -> None:
    m = Membership()
    m.add(5, ("http://a:1",), "n5")
    m.add(6, ("http://b:1",))
    m.set_attributes(6, "n6", ("http://b:2",))
    m.remove(5)
    data = pack_snapshot(b"kv-state", m)
    kv_state, raw, extra = unpack_snapshot(data)
    assert extra == {}
    assert unpack_snapshot(pack_snapshot(b"kv", m, {"alarms": [[5, 1]]}))[2] == {
        "alarms": [[5, 1]]}
    restored = Membership()
    restored.load(raw)
    assert kv_state == b"kv-state" and restored.removed == {5}
    assert [(x.id, x.name, x.client_urls) for x in restored.sorted()] == [
        (6, "n6", ("http://b:2",))]
    assert decode_attributes(encode_attributes(7, "n7", ("http://c:3",))) == (
        7, "n7", ("http://c:3",))
    assert decode_attributes(b"QM\xc1garbage") is None


def header(rev: int) -> rpc_pb2.ResponseHeader:
    return rpc_pb2.ResponseHeader(cluster_id=1, member_id=2, revision=rev, raft_term=3)


def test_requests_map_to_commands_field_for_field() -> None:
    r = rpc_pb2.RangeRequest(key=b"a", range_end=b"b", limit=2, serializable=True,
                             sort_order=rpc_pb2.RangeRequest.DESCEND)
    assert convert.range_cmd(r) == kv.Range(b"a", b"b", 2, 0, kv.SortOrder.DESCEND,
                                            serializable=True)
    txn = rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.VALUE, value=b"v"),
                 rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.MOD,
                                 result=rpc_pb2.Compare.GREATER, mod_revision=4)],
        success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"k", value=b"w"))],
        failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=b"k"))])
    assert convert.txn_cmd(txn) == kv.Txn(
        (kv.Compare(b"k", kv.CompareTarget.VALUE, kv.CompareResult.EQUAL, b"v"),
         kv.Compare(b"k", kv.CompareTarget.MOD, kv.CompareResult.GREATER, 4)),
        (kv.Put(b"k", b"w"),), (kv.Range(b"k"),))


def test_results_map_to_responses_and_errors_to_etcds_statuses() -> None:
    store = kv.KVStore()
    put = store.execute(kv.Put(b"k", b"v1"))
    again = store.execute(kv.Put(b"k", b"v2", prev_kv=True))
    resp = convert.response_of(again, header)
    assert isinstance(resp, rpc_pb2.PutResponse) and resp.header.revision == 3
    assert (resp.prev_kv.value, resp.prev_kv.version, resp.prev_kv.create_revision) == (
        b"v1", 1, 2)
    assert convert.response_of(put, header).HasField("prev_kv") is False
    txn = store.execute(kv.Txn((), (kv.Range(b"k"), kv.DeleteRange(b"k")), ()))
    out = convert.response_of(txn, header)
    assert out.succeeded and out.responses[0].response_range.kvs[0].value == b"v2"
    assert out.responses[1].response_delete_range.deleted == 1
    err = store.execute(kv.Range(b"k", revision=99))
    assert isinstance(err, kv.KVError)
    assert convert.status_of(err) == (
        grpc.StatusCode.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
