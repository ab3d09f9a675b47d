"""Peer TLS with etcd's flags: mutual authentication against a trusted CA works; a peer
with a certificate from another CA, or one that does not name the claimed member's host,
is refused; auto TLS encrypts and needs the secret (or --insecure-peers) to authenticate."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest

from helpers.certs import CA
from quorum.impl.net import Identity, TLSConfig, TLSConfigError, Transport
from quorum.impl.net.frame import pack, unpack
from quorum.impl.net.tls import cert_names_host, generate_self_signed

CLUSTER, SECRET = 0xC1, b"s3cret-shared-by-the-cluster"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def mutual(ca: CA, name: str, hosts: tuple[str, ...] = ("127.0.0.1",)) -> TLSConfig:
    cert, key = ca.issue(name, hosts)
    return TLSConfig(cert, key, str(ca.pem), client_cert_auth=True)


async def exchange(tls_a: TLSConfig, tls_b: TLSConfig, secret: bytes | None = None,
                   wait: float = 3.0) -> list[tuple[int, Any]]:
    """a sends three frames to b over TLS; what b received within ``wait`` seconds."""
    got: list[tuple[int, Any]] = []
    b = Transport(Identity(CLUSTER, 2, secret), "127.0.0.1", 0,
                  lambda peer, body: got.append((peer, unpack(body))), tls=tls_b)
    a = Transport(Identity(CLUSTER, 1, secret), "127.0.0.1", 0, lambda p, body: None,
                  tls=tls_a)
    await b.start()
    await a.start()
    a.set_peer(2, "127.0.0.1", b.port)
    b.set_peer(1, "127.0.0.1", a.port)  # the member table: node 1 is at 127.0.0.1
    for i in range(3):
        a.send(2, pack(i))
    deadline = asyncio.get_running_loop().time() + wait
    while len(got) < 3 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    await a.stop()
    await b.stop()
    return got


def test_mutual_tls_against_the_trusted_ca_delivers(tmp_path: Path) -> None:
    ca = CA(tmp_path / "ca")
    tls_a, tls_b = mutual(ca, "a"), mutual(ca, "b")
    assert tls_a.authenticates
    assert run(exchange(tls_a, tls_b)) == [(1, 0), (1, 1), (1, 2)]


def test_a_certificate_from_another_ca_is_refused(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")
    ca, rogue = CA(tmp_path / "ca"), CA(tmp_path / "rogue", "rogue CA")
    cert, key = rogue.issue("intruder")
    intruder = TLSConfig(cert, key, str(ca.pem), client_cert_auth=True)  # trusts our CA
    assert run(exchange(intruder, mutual(ca, "b"), wait=1.0)) == []
    assert "certificate verify failed" in caplog.text or "CERTIFICATE" in caplog.text


def test_a_certificate_not_naming_the_members_host_cannot_claim_its_id(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")
    ca = CA(tmp_path / "ca")
    elsewhere = mutual(ca, "a", hosts=("10.9.9.9",))  # valid, but for another host
    assert run(exchange(elsewhere, mutual(ca, "b"), wait=1.0)) == []
    assert "does not name the host of member 1" in caplog.text


def test_auto_tls_encrypts_and_the_secret_authenticates(tmp_path: Path) -> None:
    auto_a = TLSConfig(auto_tls=True).with_auto_files(tmp_path / "a")
    auto_b = TLSConfig(auto_tls=True).with_auto_files(tmp_path / "b")
    assert (tmp_path / "a" / "fixtures" / "peer" / "cert.pem").is_file()
    assert not auto_a.authenticates
    with pytest.raises(ValueError, match="would not be authenticated"):
        Transport(Identity(CLUSTER, 1, None), "127.0.0.1", 0, lambda p, b: None, tls=auto_a)
    assert run(exchange(auto_a, auto_b, secret=SECRET)) == [(1, 0), (1, 1), (1, 2)]
    ctx = auto_a.client_context()
    assert ctx.verify_mode is ssl.CERT_NONE  # as etcd: auto TLS verifies no one


def test_tls_flags_are_checked_and_certificates_name_hosts(tmp_path: Path) -> None:
    with pytest.raises(TLSConfigError, match="go together"):
        TLSConfig(cert_file="c.pem").check()
    with pytest.raises(TLSConfigError, match="needs --peer-trusted-ca-file"):
        TLSConfig("c", "k", None, client_cert_auth=True).check()
    with pytest.raises(TLSConfigError, match="no such file"):
        TLSConfig(str(tmp_path / "c"), str(tmp_path / "k")).check()
    generate_self_signed(tmp_path, hosts=("127.0.0.1", "node1.example"))
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes()).public_bytes(
        Encoding.DER)
    assert cert_names_host(der, "127.0.0.1") and cert_names_host(der, "NODE1.example")
    assert not cert_names_host(der, "10.0.0.1") and not cert_names_host(None, "127.0.0.1")
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
