"""The committed modules generated from impl/api/*.proto (imported as quorum.impl.api) are what the protos produce, and
their wire names are etcd's (package etcdserverpb, services KV/Cluster/Maintenance/Auth; authpb)."""

from __future__ import annotations

from pathlib import Path

from quorum.impl.api import generate, kv_pb2, rpc_pb2


def test_committed_generated_modules_are_current(tmp_path: Path) -> None:
    fresh = generate.generate(tmp_path)
    for name in generate.GENERATED:
        committed = (generate.HERE / name).read_text()
        assert (fresh / name).read_text() == committed, (
            f"impl/api/{name} is stale: run python -m quorum.impl.api.generate")


def test_wire_names_and_field_numbers_are_etcds() -> None:
    services = rpc_pb2.DESCRIPTOR.services_by_name
    assert services["KV"].full_name == "etcdserverpb.KV"
    assert [m.name for m in services["KV"].methods] == [
        "Range", "Put", "DeleteRange", "Txn", "Compact"]
    assert services["Maintenance"].methods_by_name["Status"].full_name == (
        "etcdserverpb.Maintenance.Status")
    fields = {f.name: f.number for f in rpc_pb2.StatusResponse.DESCRIPTOR.fields}
    assert (fields["leader"], fields["raftIndex"], fields["raftTerm"]) == (4, 5, 6)
    assert rpc_pb2.Compare.DESCRIPTOR.fields_by_name["range_end"].number == 64
    assert kv_pb2.KeyValue.DESCRIPTOR.full_name == "mvccpb.KeyValue"
    # a message encoded by hand as etcd's Go client would: PutRequest{key:"k", value:"v"}
    assert rpc_pb2.PutRequest.FromString(b"\x0a\x01k\x12\x01v").value == b"v"


def test_auth_wire_names_and_field_numbers_are_etcds() -> None:
    from quorum.impl.api import auth_pb2

    auth = rpc_pb2.DESCRIPTOR.services_by_name["Auth"]
    assert auth.full_name == "etcdserverpb.Auth"
    assert auth.methods_by_name["RoleGrantPermission"].full_name == (
        "etcdserverpb.Auth.RoleGrantPermission")
    assert len(auth.methods) == 17
    perm = auth_pb2.Permission.DESCRIPTOR
    assert perm.full_name == "authpb.Permission"
    assert {f.name: f.number for f in perm.fields} == {"permType": 1, "key": 2, "range_end": 3}
    assert [v.name for v in perm.enum_types_by_name["Type"].values] == [
        "READ", "WRITE", "READWRITE"]
    assert rpc_pb2.AuthUserAddRequest.DESCRIPTOR.fields_by_name["options"].number == 3
    assert rpc_pb2.AuthenticateResponse.DESCRIPTOR.fields_by_name["token"].number == 2
    # a grant as etcdctl sends it: name "r", perm {READWRITE, key "a", range_end "b"}
    req = rpc_pb2.AuthRoleGrantPermissionRequest.FromString(
        b"\x0a\x01r\x12\x08\x08\x02\x12\x01a\x1a\x01b")
    assert (req.name, req.perm.permType, req.perm.key, req.perm.range_end) == (
        "r", 2, b"a", b"b")
