"""A member's configuration, built from etcd's own flag names, and the ids derived from it.

Everything here is pure and raises :class:`ServerConfigError` (the user's fault, one line)
on bad input.  Ids: a member's id is a hash of its sorted peer URLs and the cluster token
(the same idea as etcd's, so ``MemberAdd`` on a running member and ``quorum serve`` on the
new member compute the same id without talking to each other); the cluster id is a hash
of the token.  Both are 63-bit and never 0 (0 means "none" in the Raft core).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from quorum.impl.net.tls import TLSConfig

__all__ = [
    "DEFAULT_TOKEN",
    "ServerConfig",
    "ServerConfigError",
    "cluster_id_of",
    "member_id_of",
    "parse_initial_cluster",
    "parse_url",
    "parse_urls",
]

DEFAULT_TOKEN = "etcd-cluster"  # etcd's default --initial-cluster-token


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
