"""`quorum serve`: run one member of a quorum cluster, with etcd's own flag names.

Example (the first of three members)::

    quorum serve --name n1 --data-dir n1.data \\
      --listen-peer-urls http://127.0.0.1:2380 --listen-client-urls http://127.0.0.1:2379 \\
      --initial-cluster n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2382,n3=http://127.0.0.1:2384
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, EXIT_VIOLATION, UsageError

__all__ = ["EXIT_FAILED", "add_parser", "build_config", "run"]

EXIT_FAILED = EXIT_VIOLATION  # 1: the member failed (could not start, or stopped itself)


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="run one member of a cluster (etcd's flag names)")
    a = p.add_argument
    a("--name", default="default", help="human-readable name of this member")
    a("--data-dir", default=None, help="directory of the WAL and snapshots (default NAME.quorum)")
    a("--listen-peer-urls", default="http://127.0.0.1:2380", help="URLs to listen on for peers")
    a("--listen-client-urls", default="http://127.0.0.1:2379",
      help="URLs to listen on for clients (gRPC)")
    a("--initial-advertise-peer-urls", default=None,
      help="this member's peer URLs as the others reach them (default: listen peer URLs)")
    a("--advertise-client-urls", default=None,
      help="this member's client URLs as published (default: listen client URLs)")
    a("--initial-cluster", default=None,
      help="NAME=PEER_URL,... of every initial member (default: NAME=advertise peer URLs)")
    a("--initial-cluster-state", default="new", choices=("new", "existing"),
      help="new: bootstrap a cluster; existing: join one (after `member add`)")
    a("--initial-cluster-token", default="etcd-cluster",
      help="cluster name; member and cluster ids are derived from it")
    # peer security (docs/store.md, "Security"); one of these is required
    a("--peer-secret-file", default=None,
      help="file holding the cluster's shared secret: authenticates the peer handshake and "
           "seals every peer frame (ChaCha20-Poly1305)")
    a("--peer-cert-file", default=None, help="this member's TLS certificate for peer links")
    a("--peer-key-file", default=None, help="the key of --peer-cert-file")
    a("--peer-trusted-ca-file", default=None, help="CA that peers' certificates must chain to")
    a("--peer-client-cert-auth", action="store_true",
      help="require and verify dialing peers' certificates (mutual TLS)")
    a("--peer-auto-tls", action="store_true",
      help="self-signed peer TLS: encrypts, authenticates no one (needs a secret or "
           "--insecure-peers)")
    a("--insecure-peers", action="store_true",
      help="accept peers that nothing authenticates (testing only; logged loudly)")
    a("--corrupt-check-time", type=float, default=0.0,
      help="seconds between hash checks of the key space across members (0: at start only)")
    a("--heartbeat-interval", type=int, default=100, help="milliseconds per heartbeat (tick)")
    a("--election-timeout", type=int, default=1000, help="milliseconds of election timeout")
    a("--snapshot-count", type=int, default=100_000,
      help="applied entries between snapshots (then the log is compacted)")
    a("--snapshot-catchup-entries", type=int, default=5_000,
      help="entries kept after a compaction for slow followers (raft; a multipaxos "
           "member keeps none: a peer behind its snapshot gets the snapshot)")
    # limits, quota, compaction (docs/store.md "Limits")
    a("--max-request-bytes", type=int, default=1_572_864,
      help="largest client request accepted, in bytes (etcd's default 1.5 MiB)")
    a("--max-txn-ops", type=int, default=128,
      help="most operations in one txn request (etcd's default 128)")
    a("--quota-backend-bytes", type=int, default=0,
      help="raise the NOSPACE alarm when the store passes this size (0: 2 GiB; <0: none)")
    a("--auto-compaction-mode", default="periodic", choices=("periodic", "revision"),
      help="periodic: keep a time window of history; revision: keep a number of revisions")
    a("--auto-compaction-retention", default="0",
      help="the window (e.g. 30m, 1h; a bare number is hours) or revisions; 0 turns it off")
    a("--snapshot-bytes", type=int, default=64 * 1024**2,
      help="also snapshot once the entries applied since the last one hold this many bytes")
    a("--snapshot-catchup-bytes", type=int, default=16 * 1024**2,
      help="keep at most this many bytes of entries after a compaction (raft)")
    a("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    # client TLS (etcd's names; docs/store.md "Client security")
    a("--cert-file", default=None, help="client TLS certificate (PEM), for https:// client URLs")
    a("--key-file", default=None, help="client TLS private key (PEM)")
    a("--trusted-ca-file", default=None,
      help="CA bundle (PEM) that client certificates must be signed by")
    a("--client-cert-auth", action="store_true",
      help="require a client certificate signed by --trusted-ca-file")
    a("--frontends", type=int, default=0,
      help="gRPC front-end processes sharing the client port (SO_REUSEPORT); they forward "
           "every call to this member over a local channel (0: the member serves clients "
           "itself)")
    a("--protocol", default="raft", metavar="raft|multipaxos",
      help="the consensus core (ours, not etcd's): raft, or multipaxos (a static "
           "--initial-cluster, no member add/remove)")
    # test-only: switch on a known bug of the Ready loop (refused unless UNSAFE_ENV=1)
    a("--unsafe-mutant", action="append", default=[], help=argparse.SUPPRESS)
    p.set_defaults(run=run)


#: the environment variable that must be "1" before ``--unsafe-mutant`` is accepted
UNSAFE_ENV = "QUORUM_UNSAFE_MUTANTS"
#: the mutants a real member consults: its core's (Raft's or Multi-Paxos's), and the shared
#: Ready loop's (the other driver mutants live in the simulator's driver, and ``serve``
#: switches no storage one)
SERVE_MUTANTS = ("commit-old-term", "no-truncate", "stale-append", "local-read",
                 "pre-vote-adopts-term", "up-to-date-index-first", "snapshot-keeps-conflict",
                 "ceil-majority", "stale-vote-counted", "early-read-release",
                 "reply-before-fsync", "mp-chosen-any-ballot")


def unsafe_mutants(names: list[str]) -> frozenset[Any]:
    """The mutants of ``--unsafe-mutant``, or UsageError: a test-only switch, refused
    unless ``QUORUM_UNSAFE_MUTANTS=1`` so that no deployment runs a known bug by accident."""
    from quorum.impl.mutants import parse

    if not names:
        return frozenset()
    if os.environ.get(UNSAFE_ENV) != "1":
        raise UsageError(f"--unsafe-mutant runs a known bug and is for tests only; "
                         f"set {UNSAFE_ENV}=1 to allow it")
    bad = [n for n in names if n not in SERVE_MUTANTS]
    if bad:
        raise UsageError(f"--unsafe-mutant {bad[0]!r}: a member can run only "
                         f"{', '.join(SERVE_MUTANTS)}")
    return frozenset(parse(n) for n in names)


def _check_core_mutants(protocol: str, mutants: frozenset[Any]) -> None:
    """Refuse a core mutant of the core this member does not run."""
    from quorum.impl.mutants import Layer

    other = Layer.CORE if protocol == "multipaxos" else Layer.MULTIPAXOS
    wrong = sorted(str(m) for m in mutants if m.layer is other)
    if wrong:
        core = "Raft" if other is Layer.CORE else "Multi-Paxos"
        raise UsageError(f"--unsafe-mutant {wrong[0]}: a {core} core mutant, and this member "
                         f"runs --protocol {protocol}")


def _client_tls(args: argparse.Namespace) -> Any:
    from quorum.impl.server.config import ClientTLS

    def path(value: str | None) -> Path | None:
        return None if value is None else Path(value)
    return ClientTLS(cert_file=path(args.cert_file), key_file=path(args.key_file),
                     trusted_ca_file=path(args.trusted_ca_file),
                     client_cert_auth=args.client_cert_auth)


def _read_secret(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"--peer-secret-file {path}: {exc.strerror}") from None
    if len(secret) < 16:
        raise UsageError(f"--peer-secret-file {path}: the secret must be at least 16 bytes")
    return secret


def _peer_tls(args: argparse.Namespace) -> Any:
    """The peer TLS flags as a checked :class:`quorum.impl.net.TLSConfig`, or None."""
    from quorum.impl.net import TLSConfig

    tls = TLSConfig(args.peer_cert_file, args.peer_key_file, args.peer_trusted_ca_file,
                    args.peer_client_cert_auth, args.peer_auto_tls)
    tls.check()
    return tls if tls.enabled else None


def _check_authenticated(cfg: Any) -> None:
    """Refuse a member whose peers nothing would authenticate, unless --insecure-peers."""
    if cfg.peer_secret is not None or cfg.insecure_peers:
        return
    if cfg.peer_tls is not None and cfg.peer_tls.authenticates:
        return
    why = ("--peer-auto-tls encrypts but authenticates no one" if cfg.peer_tls is not None
           and cfg.peer_tls.auto_tls else "peers would not be authenticated")
    raise UsageError(f"{why}: give --peer-secret-file, or --peer-cert-file, --peer-key-file, "
                     "--peer-trusted-ca-file and --peer-client-cert-auth, or (testing only) "
                     "--insecure-peers")


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`quorum.impl.server.config.ServerConfig` of these flags, or UsageError."""
    from quorum.impl.server.config import (
        ServerConfig,
        ServerConfigError,
        parse_initial_cluster,
        parse_urls,
    )

    try:
        listen_peer = parse_urls(args.listen_peer_urls, "--listen-peer-urls")
        listen_client = parse_urls(args.listen_client_urls, "--listen-client-urls")
        adv_peer = parse_urls(args.initial_advertise_peer_urls or args.listen_peer_urls,
                              "--initial-advertise-peer-urls")
        adv_client = parse_urls(args.advertise_client_urls or args.listen_client_urls,
                                "--advertise-client-urls")
        initial = parse_initial_cluster(
            args.initial_cluster or ",".join(f"{args.name}={u}" for u in adv_peer))
        if args.election_timeout < 3 * args.heartbeat_interval:
            raise ServerConfigError("--election-timeout must be at least 3 heartbeat intervals")
        if not 0 <= args.corrupt_check_time < 1e7:
            raise ServerConfigError("--corrupt-check-time must be between 0 and 1e7 seconds")
        cfg = ServerConfig(
            name=args.name, data_dir=Path(args.data_dir or f"{args.name}.quorum"),
            listen_peer_urls=listen_peer, listen_client_urls=listen_client,
            initial_cluster=initial, advertise_peer_urls=adv_peer,
            advertise_client_urls=adv_client, cluster_state=args.initial_cluster_state,
            token=args.initial_cluster_token, peer_secret=_read_secret(args.peer_secret_file),
            peer_tls=_peer_tls(args), insecure_peers=args.insecure_peers,
            corrupt_check_s=args.corrupt_check_time,
            tick_ms=args.heartbeat_interval,
            election_ticks=args.election_timeout // args.heartbeat_interval,
            snapshot_count=args.snapshot_count,
            catchup_entries=args.snapshot_catchup_entries,
            max_request_bytes=args.max_request_bytes, max_txn_ops=args.max_txn_ops,
            quota_backend_bytes=args.quota_backend_bytes,
            auto_compaction_mode=args.auto_compaction_mode,
            auto_compaction_retention=args.auto_compaction_retention,
            snapshot_bytes=args.snapshot_bytes, catchup_bytes=args.snapshot_catchup_bytes,
            client_tls=_client_tls(args), frontends=args.frontends, protocol=args.protocol)
        if not cfg.client_tls.empty:
            cfg.client_tls.load()  # unreadable or mismatched files: a startup error
    except (ServerConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    _check_authenticated(cfg)
    return cfg


def run(args: argparse.Namespace) -> int:
    import logging

    from quorum.impl.server.main import MemberFailed, serve

    cfg = build_config(args)
    mutants = unsafe_mutants(args.unsafe_mutant)
    _check_core_mutants(cfg.protocol, mutants)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s {cfg.name} %(levelname)s %(name)s: %(message)s")
    if mutants:
        logging.getLogger("quorum.server").warning(
            "UNSAFE: running with the test-only mutant(s) %s", ", ".join(sorted(map(str, mutants))))
    if cfg.insecure_peers:
        from quorum.impl.net import check_insecure_peers

        remote = check_insecure_peers(cfg.peer_hosts())
        logging.getLogger("quorum.server").warning(
            "INSECURE: --insecure-peers: peers that nothing authenticates are accepted; any "
            "process that can reach %s can pose as a member and corrupt its data%s",
            ",".join(cfg.listen_peer_urls),
            f" (peer hosts off this machine: {','.join(sorted(set(remote)))})" if remote else "")
    run_loop = _loop_runner()
    # The WAL's fsync runs in a worker thread; when it returns, the thread needs the GIL
    # back, which a busy event loop yields only every switch interval (5 ms by default).
    sys.setswitchinterval(float(os.environ.get("QUORUM_SWITCH_INTERVAL", "0.0005")))
    # The key space is many small long-lived objects without cycles; collecting the
    # young generation less often keeps the cyclic GC from pausing every few ms.
    gen0 = int(os.environ.get("QUORUM_GC_GEN0", "50000"))
    if gen0 > 0:
        import gc

        gc.set_threshold(gen0, 20, 100)
    profile = os.environ.get("QUORUM_PROFILE")  # a file to write cProfile stats to, at exit
    outcome: list[str | None] = []

    async def main() -> None:
        outcome.append(await serve(cfg, mutants))

    try:
        if profile:
            import cProfile

            cProfile.runctx("run_loop(main())", globals(), {"run_loop": run_loop,
                            "main": main}, filename=f"{profile}.{cfg.name}")
        else:
            run_loop(main())
    except MemberFailed as exc:
        print(f"quorum serve: {cfg.name}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    fatal = outcome[0] if outcome else None
    if fatal is not None:
        print(f"quorum serve: {cfg.name} stopped: {fatal}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _loop_runner() -> Any:
    """``uvloop.run`` when uvloop is installed (less CPU per request), else ``asyncio.run``;
    ``QUORUM_LOOP=asyncio`` forces the standard loop."""
    import asyncio

    if os.environ.get("QUORUM_LOOP", "auto") != "asyncio":
        try:
            import uvloop

            return uvloop.run
        except ImportError:
            pass
    return asyncio.run
