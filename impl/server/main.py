"""``serve(config)``: run one member until SIGINT/SIGTERM (or until it is removed).

Starts the :class:`Node` (storage recovery, peer transport, Raft), then the gRPC server on
every ``--listen-client-urls`` address, then publishes the member's name and client URLs
through the log.  On a signal it stops accepting clients, then stops the node (the WAL
holds everything acknowledged; nothing needs flushing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import urlsplit

import grpc

from quorum.impl.mutants import Mutant
from quorum.impl.server.config import ServerConfig, parse_url
from quorum.impl.server.node import Node
from quorum.impl.server.requests import Requests
from quorum.impl.server.service import add_services

__all__ = ["serve", "start_member"]

log = logging.getLogger("quorum.server")

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
                       ) -> tuple[Node, Requests, grpc.aio.Server]:
    """Start a member inside the running loop; the caller stops it with :func:`stop_member`.

    ``mutants``: test-only bugs of the shared Ready loop (``quorum serve --unsafe-mutant``)."""
    node = Node(cfg, mutants)
    await node.start()
    requests = Requests(node)
    server = grpc.aio.server(options=grpc_options(cfg))
    add_services(server, requests)
    credentials = None
    if not cfg.client_tls.empty:  # client TLS: https:// URLs (config.ClientTLS)
        key, chain, ca = cfg.client_tls.load()
        credentials = grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=ca,
            require_client_auth=cfg.client_tls.client_cert_auth)
    for warning in cfg.client_tls.ignored_warnings(cfg.listen_client_urls):
        log.warning("%s", warning)
    for url in cfg.listen_client_urls:
        host, port = parse_url(url)
        if urlsplit(url).scheme == "https":
            assert credentials is not None  # ServerConfig refuses https without cert and key
            server.add_secure_port(f"{host}:{port}", credentials)
        else:
            server.add_insecure_port(f"{host}:{port}")
    await server.start()
    node.background(requests.publish())
    node.background(requests.maintain())  # quota watch, auto-compaction
    return node, requests, server


async def stop_member(node: Node, server: grpc.aio.Server) -> None:
    await server.stop(grace=0.5)
    await node.stop()


async def serve(cfg: ServerConfig, mutants: frozenset[Mutant] = frozenset()) -> None:
    node, _, server = await start_member(cfg, mutants)
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
