"""A member's configuration, built from etcd's own flag names, and the ids derived from it.

Everything here is pure and raises :class:`ServerConfigError` (the user's fault, one line)
on bad input.  Ids: a member's id is a hash of its sorted peer URLs and the cluster token
(the same idea as etcd's, so ``MemberAdd`` on a running member and ``quorum serve`` on the
new member compute the same id without talking to each other); the cluster id is a hash
of the token.  Both are 63-bit and never 0 (0 means "none" in the Raft core).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from quorum.impl.kv.validate import MAX_TXN_OPS, MAX_TXN_OPS_CEILING
from quorum.impl.net.tls import TLSConfig

__all__ = [
    "DEFAULT_TOKEN",
    "ClientTLS",
    "ServerConfig",
    "ServerConfigError",
    "cluster_id_of",
    "member_id_of",
    "parse_initial_cluster",
    "parse_retention",
    "parse_url",
    "parse_urls",
]

DEFAULT_TOKEN = "etcd-cluster"  # etcd's default --initial-cluster-token
DEFAULT_MAX_REQUEST_BYTES = 1_572_864  # etcd's --max-request-bytes default, 1.5 MiB
DEFAULT_QUOTA_BYTES = 2 * 1024**3  # etcd's default backend quota, 2 GiB
DEFAULT_SNAPSHOT_BYTES = 64 * 1024**2  # snapshot after this many bytes of applied entries
DEFAULT_CATCHUP_BYTES = 16 * 1024**2  # at most this many bytes of entries kept after one
MAX_FRONTENDS = 64  # --frontends: gRPC front-end processes


class ServerConfigError(ValueError):
    """A bad flag or flag combination: reported as one line, exit status 2."""


def _id(material: str) -> int:
    value = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big") >> 1
    return value or 1


def member_id_of(peer_urls: list[str] | tuple[str, ...], token: str) -> int:
    """The member id for these peer URLs in the cluster named ``token``."""
    return _id("member\n" + token + "\n" + ",".join(sorted(peer_urls)))


def cluster_id_of(token: str) -> int:
    return _id("cluster\n" + token)


def parse_url(url: str) -> tuple[str, int]:
    """``http://host:port`` -> (host, port); only http(s) URLs with an explicit port."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerConfigError(f"invalid URL {url!r}: expected http://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        raise ServerConfigError(f"invalid URL {url!r}: the port is missing or out of range")
    return parts.hostname, port


def parse_urls(text: str, flag: str) -> tuple[str, ...]:
    """A comma-separated URL list; every URL must parse."""
    urls = tuple(u.strip() for u in text.split(",") if u.strip())
    if not urls:
        raise ServerConfigError(f"{flag} needs at least one URL")
    for url in urls:
        parse_url(url)
    return urls


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_retention(mode: str, text: str) -> float:
    """etcd's --auto-compaction-retention: in ``revision`` mode a count of revisions; in
    ``periodic`` mode a duration (``90s``, ``30m``, ``1.5h``) or a bare number of hours.
    Returns revisions or seconds; 0 turns auto-compaction off."""
    if mode not in ("periodic", "revision"):
        raise ServerConfigError("--auto-compaction-mode must be 'periodic' or 'revision'")
    t = text.strip()
    try:
        if mode == "revision":
            value = float(int(t))
        else:
            unit = next((u for u in ("ms", "s", "m", "h") if t.endswith(u)), "")
            value = float(t[: len(t) - len(unit)]) * (_UNITS[unit] if unit else 3600.0)
    except ValueError:
        raise ServerConfigError(
            f"--auto-compaction-retention {text!r}: expected "
            + ("a number of revisions" if mode == "revision" else "a duration like 30m or 1h")
        ) from None
    if value < 0 or value != value or value == float("inf"):
        raise ServerConfigError(f"--auto-compaction-retention {text!r} must be >= 0")
    return value


def parse_initial_cluster(text: str) -> dict[str, tuple[str, ...]]:
    """``n1=http://a:1,n2=http://b:2`` -> {name: peer URLs} (a name may repeat: more URLs)."""
    out: dict[str, list[str]] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        name, sep, url = item.partition("=")
        if not sep or not name.strip():
            raise ServerConfigError(f"--initial-cluster: {item!r} is not NAME=URL")
        parse_url(url)
        out.setdefault(name.strip(), []).append(url.strip())
    if not out:
        raise ServerConfigError("--initial-cluster is empty")
    return {name: tuple(urls) for name, urls in out.items()}


@dataclass(frozen=True)
class ServerConfig:
    """One member's settings; see ``docs/store.md`` for each flag."""

    name: str
    data_dir: Path
    listen_peer_urls: tuple[str, ...]
    listen_client_urls: tuple[str, ...]
    initial_cluster: dict[str, tuple[str, ...]]
    advertise_peer_urls: tuple[str, ...]
    advertise_client_urls: tuple[str, ...]
    cluster_state: str = "new"  # "new" or "existing"
    token: str = DEFAULT_TOKEN
    # --- peer security (helper peers14): see docs/store.md, "Security" ---------------------
    peer_secret: bytes | None = None  # --peer-secret-file: handshake MACs and sealed frames
    peer_tls: TLSConfig | None = None  # --peer-cert-file, --peer-key-file, ... (etcd's)
    insecure_peers: bool = False  # --insecure-peers: accept peers nothing authenticates
    corrupt_check_s: float = 0.0  # --corrupt-check-time in seconds (0: at start only)
    # --- end of peer security ---------------------------------------------------------------
    tick_ms: int = 100  # etcd's --heartbeat-interval
    election_ticks: int = 10  # etcd's --election-timeout is election_ticks * tick_ms
    snapshot_count: int = 100_000  # etcd's --snapshot-count default (since 3.2)
    catchup_entries: int = 5_000  # entries kept after compaction (etcd's SnapshotCatchUpEntries)
    request_timeout: float = 7.0  # seconds (etcd: 5 s + 2 election timeouts)
    # --- limits, quota, compaction (docs/store.md "Limits"); etcd's flags unless noted ------
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES  # --max-request-bytes
    max_txn_ops: int = MAX_TXN_OPS  # --max-txn-ops: operations in one txn request
    quota_backend_bytes: int = 0  # --quota-backend-bytes: 0 = etcd's 2 GiB, < 0 = no quota
    auto_compaction_mode: str = "periodic"  # --auto-compaction-mode: periodic | revision
    auto_compaction_retention: str = "0"  # --auto-compaction-retention: "0" = off
    snapshot_bytes: int = DEFAULT_SNAPSHOT_BYTES  # ours: --snapshot-bytes
    catchup_bytes: int = DEFAULT_CATCHUP_BYTES  # ours: --snapshot-catchup-bytes
    # --- end of limits ---------------------------------------------------------------------
    client_tls: ClientTLS = field(default_factory=lambda: ClientTLS())
    frontends: int = 0  # ours: --frontends, gRPC front-end processes (0: the member serves)
    protocol: str = "raft"  # ours: --protocol, the consensus core (raft | multipaxos)

    def __post_init__(self) -> None:
        if self.cluster_state not in ("new", "existing"):
            raise ServerConfigError("--initial-cluster-state must be 'new' or 'existing'")
        if self.name not in self.initial_cluster:
            raise ServerConfigError(
                f"--initial-cluster has no entry for this member's --name {self.name!r}")
        if set(self.initial_cluster[self.name]) != set(self.advertise_peer_urls):
            raise ServerConfigError(
                f"--initial-cluster gives {self.name}={','.join(self.initial_cluster[self.name])}"
                f" but --initial-advertise-peer-urls is {','.join(self.advertise_peer_urls)}")
        if (self.election_ticks <= 2 or self.tick_ms <= 0 or self.snapshot_count <= 0
                or self.catchup_entries < 0):
            raise ServerConfigError(
                "election ticks must exceed 2, tick and snapshot count be positive")
        self._check_limits()
        if not 0 <= self.frontends <= MAX_FRONTENDS:
            raise ServerConfigError(f"--frontends must be between 0 and {MAX_FRONTENDS}")
        self.client_tls.check(self.listen_client_urls)
        if self.protocol not in ("raft", "multipaxos"):
            raise ServerConfigError(
                f"--protocol must be raft or multipaxos, got {self.protocol!r}")
        if self.protocol == "multipaxos" and self.cluster_state != "new":
            raise ServerConfigError("--protocol multipaxos has a static membership: "
                                    "--initial-cluster-state must be 'new'")

    # --- limits ---------------------------------------------------------------------------
    def _check_limits(self) -> None:
        if self.max_request_bytes <= 0:
            raise ServerConfigError("--max-request-bytes must be positive")
        if not 1 <= self.max_txn_ops <= MAX_TXN_OPS_CEILING:
            raise ServerConfigError(
                f"--max-txn-ops must be between 1 and {MAX_TXN_OPS_CEILING}, got {self.max_txn_ops}")
        if self.snapshot_bytes <= 0 or self.catchup_bytes < 0:
            raise ServerConfigError(
                "--snapshot-bytes must be positive and --snapshot-catchup-bytes not negative")
        parse_retention(self.auto_compaction_mode, self.auto_compaction_retention)

    @property
    def quota(self) -> int:
        """The effective backend quota in bytes (0: no quota), as etcd reads its flag."""
        if self.quota_backend_bytes < 0:
            return 0
        return self.quota_backend_bytes or DEFAULT_QUOTA_BYTES

    @property
    def retention(self) -> float:
        """--auto-compaction-retention parsed: seconds (periodic) or revisions; 0 = off."""
        return parse_retention(self.auto_compaction_mode, self.auto_compaction_retention)

    @property
    def member_id(self) -> int:
        return member_id_of(self.advertise_peer_urls, self.token)

    @property
    def cluster_id(self) -> int:
        return cluster_id_of(self.token)

    def initial_members(self) -> dict[int, tuple[str, tuple[str, ...]]]:
        """{member id: (name, peer URLs)} of --initial-cluster."""
        return {member_id_of(urls, self.token): (name, urls)
                for name, urls in self.initial_cluster.items()}

    def peer_hosts(self) -> list[str]:
        hosts = [parse_url(u)[0] for urls in self.initial_cluster.values() for u in urls]
        return hosts + [parse_url(u)[0] for u in self.listen_peer_urls]


# --- client TLS: --cert-file, --key-file, --trusted-ca-file, --client-cert-auth ----------------
@dataclass(frozen=True)
class ClientTLS:
    """TLS of the client listeners, etcd's flags.  Served on every ``https://`` listen
    client URL; an ``https://`` URL without a certificate and key is a startup error, and
    certificates given with only ``http://`` URLs are ignored with a warning (as etcd).
    With ``client_cert_auth`` a client must present a certificate signed by the trusted CA;
    its common name is then the user name when auth is enabled and no token is sent."""

    cert_file: Path | None = None
    key_file: Path | None = None
    trusted_ca_file: Path | None = None
    client_cert_auth: bool = False

    @property
    def empty(self) -> bool:
        return self.cert_file is None and self.key_file is None

    def check(self, urls: tuple[str, ...]) -> None:
        """Flag combinations (pure; :meth:`load` checks the files)."""
        if (self.cert_file is None) != (self.key_file is None):
            raise ServerConfigError("--cert-file and --key-file must be given together")
        if self.client_cert_auth and self.trusted_ca_file is None:
            raise ServerConfigError("--client-cert-auth needs --trusted-ca-file")
        for url in urls:
            if urlsplit(url.strip()).scheme == "https" and self.empty:
                raise ServerConfigError(
                    f"TLS key/cert (--cert-file, --key-file) must be provided for client url "
                    f"{url} with HTTPS scheme")

    def ignored_warnings(self, urls: tuple[str, ...]) -> list[str]:
        """etcd's warnings for certificates next to plain ``http://`` URLs."""
        out = []
        for url in urls:
            if urlsplit(url.strip()).scheme == "http":
                if not self.empty:
                    out.append(f"scheme is HTTP while key and cert files are present; ignoring "
                               f"key and cert files (client url {url})")
                if self.client_cert_auth:
                    out.append(f"scheme is HTTP while --client-cert-auth is enabled; ignoring "
                               f"client cert auth for this URL (client url {url})")
        return out

    def load(self) -> tuple[bytes, bytes, bytes | None]:
        """(key PEM, certificate chain PEM, CA PEM or None), each checked by Python's ssl
        module, or :class:`ServerConfigError` naming the flag and the problem."""
        assert self.cert_file is not None and self.key_file is not None
        files = {}
        for flag, path in (("--cert-file", self.cert_file), ("--key-file", self.key_file),
                           ("--trusted-ca-file", self.trusted_ca_file)):
            if path is None:
                continue
            try:
                files[flag] = Path(path).read_bytes()
            except OSError as exc:
                raise ServerConfigError(f"{flag} {path}: {exc.strerror}") from None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (ssl.SSLError, ValueError) as exc:
            raise ServerConfigError(
                f"--cert-file {self.cert_file} / --key-file {self.key_file}: not a matching "
                f"PEM certificate and key ({exc.__class__.__name__})") from None
        ca = files.get("--trusted-ca-file")
        if ca is not None:
            try:
                ctx.load_verify_locations(cadata=ca.decode("ascii", errors="replace"))
            except (ssl.SSLError, ValueError):
                raise ServerConfigError(
                    f"--trusted-ca-file {self.trusted_ca_file}: no PEM certificate in it") from None
        return files["--key-file"], files["--cert-file"], ca
