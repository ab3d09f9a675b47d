"""``serve(config)``: run one member until SIGINT/SIGTERM (or until it is removed).

Starts the :class:`Node` (storage recovery, peer transport, Raft), then the gRPC server on
every ``--listen-client-urls`` address, then publishes the member's name and client URLs
through the log.  On a signal it stops accepting clients, then stops the node (the WAL
holds everything acknowledged; nothing needs flushing).

A member that stops itself (a broken Raft invariant, such as a leader's entry conflicting
with a committed one; a storage error such as ENOSPC or EIO) makes :func:`serve` return
the reason as one line, and a member that cannot start (a corrupt WAL, a data directory of
another member, a port in use) raises :class:`MemberFailed` with one line; ``quorum serve``
prints it and exits non-zero, never with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TypeAlias
from urllib.parse import urlsplit

import grpc

from quorum.impl.mutants import Mutant
from quorum.impl.net import TLSConfigError
from quorum.impl.server.alarms import AlarmAction, AlarmType
from quorum.impl.server.config import ServerConfig, parse_url
from quorum.impl.server.frontends import FrontEndFailed, FrontEnds, probe_ports
from quorum.impl.server.node import Node, describe_os_error
from quorum.impl.server.requests import Requests
from quorum.impl.server.service import add_services, servicers
from quorum.impl.storage.errors import StorageError

__all__ = ["MemberFailed", "serve", "start_member"]

log = logging.getLogger("quorum.server")

ClientServer: TypeAlias = grpc.aio.Server | FrontEnds  # what serves the clients: stopped by stop_member

GRPC_OPTIONS = [
    ("grpc.so_reuseport", 0),
]
GRPC_OVERHEAD_BYTES = 512 * 1024  # etcd lets gRPC receive --max-request-bytes plus this


def grpc_options(cfg: ServerConfig) -> list[tuple[str, int]]:
    """The gRPC server's options: a larger message is refused by gRPC itself; one that
    fits but encodes above --max-request-bytes gets etcd's 'request is too large'."""
    limit = cfg.max_request_bytes + GRPC_OVERHEAD_BYTES
    return [*GRPC_OPTIONS, ("grpc.max_receive_message_length", min(limit, 2**31 - 1))]


async def start_member(cfg: ServerConfig, mutants: frozenset[Mutant] = frozenset(),
                       ) -> tuple[Node, Requests, ClientServer]:
    """Start a member inside the running loop; the caller stops it with :func:`stop_member`.

    ``mutants``: test-only bugs of the shared Ready loop (``quorum serve --unsafe-mutant``).
    The member serves clients itself, or through ``cfg.frontends`` front-end processes
    (:mod:`quorum.impl.server.frontends`)."""
    node = Node(cfg, mutants)
    await node.start()
    requests = Requests(node)
    # Front-end processes take a second or so to start: the member publishes its client
    # URLs meanwhile (once it is known that they are free); it serves gRPC itself at once.
    early = cfg.frontends > 0
    try:
        if early:
            probe_ports(cfg.listen_client_urls)
            _run_background(node, requests)
        server = await _serve_clients(cfg, requests)
    except BaseException:
        await node.stop()
        raise
    if not early:
        _run_background(node, requests)
    return node, requests, server


def _run_background(node: Node, requests: Requests) -> None:
    node.background(requests.publish())
    node.background(requests.maintain())  # quota watch, auto-compaction
    node.raise_alarm = lambda member: node.background(_raise_corrupt(requests, member))


async def _serve_clients(cfg: ServerConfig, requests: Requests) -> ClientServer:
    for warning in cfg.client_tls.ignored_warnings(cfg.listen_client_urls):
        log.warning("%s", warning)
    if cfg.frontends:
        frontends = FrontEnds(cfg, servicers(requests), cfg.frontends)
        await frontends.start(grpc_options(cfg))
        return frontends
    server = grpc.aio.server(options=grpc_options(cfg))
    add_services(server, requests)
    credentials = None
    if not cfg.client_tls.empty:  # client TLS: https:// URLs (config.ClientTLS)
        key, chain, ca = cfg.client_tls.load()
        credentials = grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=ca,
            require_client_auth=cfg.client_tls.client_cert_auth)
    for url in cfg.listen_client_urls:
        host, port = parse_url(url)
        if urlsplit(url).scheme == "https":
            assert credentials is not None  # ServerConfig refuses https without cert and key
            server.add_secure_port(f"{host}:{port}", credentials)
        else:
            server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server


async def _raise_corrupt(requests: Requests, member: int) -> None:
    """Propose the CORRUPT alarm for ``member`` (retried: there may be no leader yet)."""
    for _ in range(10):
        try:
            await requests.alarm(AlarmAction.ACTIVATE, member, AlarmType.CORRUPT)
            return
        except Exception as exc:  # no leader, a timeout: try again shortly
            log.warning("raising the CORRUPT alarm for %x failed (%s); retrying", member,
                        getattr(exc, "message", None) or type(exc).__name__)
            await asyncio.sleep(1.0)


async def stop_member(node: Node, server: ClientServer) -> None:
    await server.stop(grace=0.5)
    await node.stop()


class MemberFailed(Exception):
    """The member could not start, or stopped itself; the message is one line."""


async def serve(cfg: ServerConfig, mutants: frozenset[Mutant] = frozenset()) -> str | None:
    """Run until a signal (returns None) or until the member stops itself (returns why)."""
    try:
        node, _, server = await start_member(cfg, mutants)
    except StorageError as exc:
        raise MemberFailed(str(exc)) from None
    except TLSConfigError as exc:
        raise MemberFailed(str(exc)) from None
    except OSError as exc:
        raise MemberFailed(f"cannot start: {describe_os_error(exc)}") from None
    except FrontEndFailed as exc:
        raise MemberFailed(f"cannot start: {exc}") from None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("serving clients on %s", ",".join(cfg.listen_client_urls))
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(node.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    log.info("stopping")
    await stop_member(node, server)
    return node.fatal
