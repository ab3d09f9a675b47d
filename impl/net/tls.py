"""TLS for peer links, configured with etcd's flags.

Theory of operation.  ``--peer-cert-file``/``--peer-key-file`` are this member's
certificate, presented both when it accepts (as a server) and when it dials (as a
client).  ``--peer-trusted-ca-file`` is the CA that every peer certificate must chain to;
the dialer checks that the acceptor's certificate names the host of the peer URL it
dialed (standard hostname verification).  ``--peer-client-cert-auth`` makes the acceptor
demand and verify the dialer's certificate too.  Only with all of these (mutual
authentication against a trusted CA) does TLS *authenticate* peers here, and then one
more check binds the claimed member id to the certificate: the dialer's certificate must
name (in its subjectAltName) the host of a peer URL the member table gives that member
id, so a member holding a valid certificate for its own host cannot pose as a member on
another host.  (Members sharing one host, as on loopback, share that binding: a host's
certificate vouches for every member on that host; see docs/store.md.)

``--peer-auto-tls`` is etcd's: with no certificate files given, the member generates a
self-signed certificate (in ``DATA_DIR/fixtures/peer``, as etcd does) and peers skip
verifying it.  As in etcd, that encrypts the links but authenticates no one (anyone can
generate such a certificate), so on its own it counts as unauthenticated: the member
needs ``--peer-secret-file`` (then every frame is also sealed with the secret's keys,
``channel.py``) or an explicit ``--insecure-peers``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TLSConfig", "TLSConfigError", "cert_names_host", "generate_self_signed"]


class TLSConfigError(ValueError):
    """A TLS flag combination or file that cannot work: one line for the user."""


@dataclass(frozen=True)
class TLSConfig:
    """The peer TLS flags of one member (file paths as strings)."""

    cert_file: str | None = None
    key_file: str | None = None
    trusted_ca_file: str | None = None
    client_cert_auth: bool = False
    auto_tls: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.cert_file or self.auto_tls)

    @property
    def authenticates(self) -> bool:
        """Does TLS alone authenticate peers (mutual, against a trusted CA)?"""
        return bool(self.cert_file and self.key_file and self.trusted_ca_file
                    and self.client_cert_auth)

    def check(self) -> None:
        """Raise :class:`TLSConfigError` for a combination that cannot work."""
        if bool(self.cert_file) != bool(self.key_file):
            raise TLSConfigError("--peer-cert-file and --peer-key-file go together")
        if (self.client_cert_auth or self.trusted_ca_file) and not self.cert_file:
            raise TLSConfigError("--peer-client-cert-auth and --peer-trusted-ca-file need "
                                 "--peer-cert-file and --peer-key-file")
        if self.client_cert_auth and not self.trusted_ca_file:
            raise TLSConfigError("--peer-client-cert-auth needs --peer-trusted-ca-file")
        for flag, path in (("--peer-cert-file", self.cert_file),
                           ("--peer-key-file", self.key_file),
                           ("--peer-trusted-ca-file", self.trusted_ca_file)):
            if path and not os.path.isfile(path):
                raise TLSConfigError(f"{flag} {path}: no such file")

    def with_auto_files(self, data_dir: Path) -> TLSConfig:
        """For ``--peer-auto-tls`` without certificate files: generate (or reuse) the
        self-signed pair under ``data_dir/fixtures/peer`` and return a config naming it."""
        if self.cert_file or not self.auto_tls:
            return self
        where = data_dir / "fixtures" / "peer"
        cert, key = where / "cert.pem", where / "key.pem"
        if not (cert.is_file() and key.is_file()):
            generate_self_signed(where)
        return TLSConfig(str(cert), str(key), None, False, True)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load(ctx)
        if self.client_cert_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load(ctx)
        if not self.trusted_ca_file:  # auto TLS: encrypted, not verified (as etcd)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _load(self, ctx: ssl.SSLContext) -> None:
        try:
            if self.cert_file and self.key_file:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            if self.trusted_ca_file:
                ctx.load_verify_locations(self.trusted_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise TLSConfigError(f"cannot load the peer TLS files: {exc}") from None


def cert_names_host(der: bytes | None, host: str) -> bool:
    """Does the certificate (DER) name ``host`` in its subjectAltName (IP or DNS)?"""
    if not der:
        return False
    from cryptography import x509

    try:
        san = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower() in {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    return ip in san.get_values_for_type(x509.IPAddress)


def generate_self_signed(where: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                         days: int = 365) -> None:
    """Write ``cert.pem`` and ``key.pem`` (mode 0600) of a fresh self-signed EC P-256
    certificate into ``where``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    where.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quorum peer (auto TLS)")])
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = []
    for h in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(key, hashes.SHA256()))
    key_path = where / "key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    (where / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
