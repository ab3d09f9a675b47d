"""Client TLS (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth): a member in
the test process served over TLS to gRPC clients and `quorum kv`; client certificates
required and their common name used as the user; the flag errors as one line (exit 2);
and, in the slow suite, the real etcdctl against `quorum serve` processes."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
import pytest

from helpers.cli import QUORUM, quorum
from helpers.cluster import Cluster, etcdctl, free_ports
from helpers.member import config, running_member
from helpers.tls import CA, Pair
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server.config import ClientTLS, ServerConfigError


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = CA(folder / "ca"), CA(folder / "other", cn="another CA")
    return {"ca": ca.path, "server": ca.issue("server", server=True),
            "alice": ca.issue("alice"), "root": ca.issue("root"),
            "stranger": other.issue("alice")}


def _tls(pki: dict[str, Any], client_cert_auth: bool = False) -> ClientTLS:
    server: Pair = pki["server"]
    return ClientTLS(server.cert, server.key, pki["ca"] if client_cert_auth else None,
                     client_cert_auth)


def _creds(pki: dict[str, Any], who: str | None = None) -> grpc.ChannelCredentials:
    ca = pki["ca"].read_bytes()
    if who is None:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    pair: Pair = pki[who]
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=pair.key.read_bytes(),
                                        certificate_chain=pair.cert.read_bytes())


async def _fails(coro: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await coro
    return err.value.code()


@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_https_member_serves_tls_and_refuses_plaintext(
        tmp_path: Path, pki: dict[str, Any], frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, scheme="https", client_tls=_tls(pki), frontends=frontends)
        async with running_member(cfg) as (node, _, server):
            target = cfg.listen_client_urls[0][len("https://"):]
            async with grpc.aio.secure_channel(target, _creds(pki)) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                await kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"over tls"), timeout=5)
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"k"), timeout=5)
                assert got.kvs[0].value == b"over tls"
            async with grpc.aio.insecure_channel(target) as ch:
                assert await _fails(rpc_pb2_grpc.KVStub(ch).Range(
                    rpc_pb2.RangeRequest(key=b"k"), timeout=2)) == grpc.StatusCode.UNAVAILABLE
            # a client trusting another CA does not accept the member's certificate
            other = grpc.ssl_channel_credentials(root_certificates=pki["stranger"].cert
                                                 .read_bytes())
            async with grpc.aio.secure_channel(target, other) as ch:
                assert await _fails(rpc_pb2_grpc.KVStub(ch).Range(
                    rpc_pb2.RangeRequest(key=b"k"), timeout=2)) == grpc.StatusCode.UNAVAILABLE
            # quorum kv, as a user runs it (in a child process: the loop keeps serving)
            url = cfg.listen_client_urls[0]
            proc = await asyncio.create_subprocess_exec(
                *QUORUM, "kv", "--endpoints", url, "--cacert", str(pki["ca"]), "get", "k",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await proc.communicate()
            assert (proc.returncode, out, err) == (0, b"k\nover tls\n", b"")
    asyncio.run(scenario())


@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_client_cert_auth_requires_a_cert_of_the_trusted_ca_and_cn_is_the_user(
        tmp_path: Path, pki: dict[str, Any], frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, scheme="https", client_tls=_tls(pki, client_cert_auth=True),
                     frontends=frontends)
        async with running_member(cfg) as (node, requests, server):
            target = cfg.listen_client_urls[0][len("https://"):]
            for who in (None, "stranger"):  # no certificate; one of an untrusted CA
                async with grpc.aio.secure_channel(target, _creds(pki, who)) as ch:
                    assert await _fails(rpc_pb2_grpc.KVStub(ch).Put(
                        rpc_pb2.PutRequest(key=b"k", value=b"v"), timeout=2)) == (
                        grpc.StatusCode.UNAVAILABLE)
            for op, *args in (("user_add", "root", ""), ("user_grant", "root", "root"),
                              ("role_add", "reader"),
                              ("role_grant", "reader", 0, b"app/", b"app0"),
                              ("user_add", "alice", ""), ("user_grant", "alice", "reader"),
                              ("enable",)):
                await requests.auth_change(op, *args)
            # no token: the certificate's common name is the user (etcd's CN-based auth)
            async with grpc.aio.secure_channel(target, _creds(pki, "root")) as ch:
                await rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"app/x", value=b"1"))
            async with grpc.aio.secure_channel(target, _creds(pki, "alice")) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                got = await kv.Range(rpc_pb2.RangeRequest(key=b"app/x"))
                assert got.kvs[0].value == b"1"
                assert await _fails(kv.Put(rpc_pb2.PutRequest(key=b"app/x", value=b"2"))) == (
                    grpc.StatusCode.PERMISSION_DENIED)
                # a user without password cannot log in with one
                assert await _fails(rpc_pb2_grpc.AuthStub(ch).Authenticate(
                    rpc_pb2.AuthenticateRequest(name="alice", password=""))) == (
                    grpc.StatusCode.INVALID_ARGUMENT)
    asyncio.run(scenario())


def test_http_url_with_certificates_is_served_plain_with_etcds_warning(
        tmp_path: Path, pki: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.server")

    async def scenario() -> None:
        cfg = config(tmp_path, client_tls=_tls(pki, client_cert_auth=True))
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                await rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"k", value=b"v"))
    asyncio.run(scenario())
    assert "scheme is HTTP while key and cert files are present; ignoring" in caplog.text
    assert "scheme is HTTP while --client-cert-auth is enabled" in caplog.text


def test_tls_flag_errors(tmp_path: Path, pki: dict[str, Any]) -> None:
    with pytest.raises(ServerConfigError, match="must be provided for client url https://"):
        config(tmp_path, scheme="https")
    server: Pair = pki["server"]
    with pytest.raises(ServerConfigError, match="must be given together"):
        ClientTLS(cert_file=server.cert).check(())
    with pytest.raises(ServerConfigError, match="--client-cert-auth needs --trusted-ca-file"):
        ClientTLS(server.cert, server.key, None, True).check(())
    with pytest.raises(ServerConfigError, match="not a matching PEM certificate and key"):
        ClientTLS(server.cert, pki["alice"].key).load()
    with pytest.raises(ServerConfigError, match="no PEM certificate in it"):
        ClientTLS(server.cert, server.key, server.key).load()


def test_serve_and_kv_report_tls_misuse_in_one_line(tmp_path: Path, pki: dict[str, Any]) -> None:
    client, peer = free_ports(2)
    base = ["serve", "--name", "x", "--data-dir", str(tmp_path / "x"),
            "--listen-peer-urls", f"http://127.0.0.1:{peer}"]
    https = ["--listen-client-urls", f"https://127.0.0.1:{client}"]
    cases = [
        ([*base, *https], "TLS key/cert (--cert-file, --key-file) must be provided for "
                          f"client url https://127.0.0.1:{client} with HTTPS scheme"),
        ([*base, *https, "--cert-file", str(tmp_path / "missing.crt"), "--key-file",
          str(pki["server"].key)], "No such file or directory"),
        ([*base, *https, "--cert-file", str(pki["server"].cert), "--key-file",
          str(pki["server"].key), "--client-cert-auth"], "needs --trusted-ca-file"),
        (["kv", "--cert", str(pki["alice"].cert), "get", "k"], "must be given together"),
        (["kv", "--cacert", str(tmp_path / "nope.pem"), "get", "k"], "nope.pem"),
    ]
    for argv, message in cases:
        r = quorum(*argv, timeout=60)
        assert r.returncode == 2, (argv, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()  # refused before touching the data dir


# --- the real etcdctl against a `quorum serve` process (slow) --------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("frontends", [0, 2])  # the member serves; two front-ends do
def test_etcdctl_over_tls_with_client_certificates(tmp_path: Path, pki: dict[str, Any],
                                                   frontends: int) -> None:
    assert shutil.which("etcdctl"), "etcdctl missing: apt-get install etcd-client (see .ci/run)"
    flags = ["--cert-file", str(pki["server"].cert), "--key-file", str(pki["server"].key),
             "--client-cert-auth", "--trusted-ca-file", str(pki["ca"]),
             "--frontends", str(frontends)]
    cluster = Cluster(tmp_path, 1, extra=flags, tls=_creds(pki, "alice"))
    cluster.start()
    tls = ["--cacert", str(pki["ca"]), "--cert", str(pki["alice"].cert),
           "--key", str(pki["alice"].key)]
    try:
        (member,) = cluster.members
        cluster.wait_leader()  # the helpers talk TLS too
        url = member.client_url
        assert url.startswith("https://")
        assert etcdctl(url, *tls, "put", "secure", "yes").stdout == "OK\n"
        assert etcdctl(url, *tls, "get", "secure").stdout == "secure\nyes\n"
        assert member.get_local(b"secure") == {b"secure": b"yes"}
        fast = ["--dial-timeout", "1s", "--command-timeout", "2s"]  # these must fail
        no_cert = etcdctl(url, *fast, "--cacert", str(pki["ca"]), "get", "secure", check=False)
        assert no_cert.returncode != 0 and "secure\nyes" not in no_cert.stdout
        plain = etcdctl(url.replace("https://", "http://"), *fast, "get", "secure", check=False)
        assert plain.returncode != 0 and plain.stdout == ""
        untrusted = etcdctl(url, *fast, "get", "secure", check=False)  # unknown CA
        assert untrusted.returncode != 0 and untrusted.stdout == ""
    finally:
        cluster.stop()
