"""One member inside the test process (``start_member``), for the fast end-to-end tests of
the gRPC API: its configuration on free loopback ports, waiting for it to lead, and
``running_member``, which does both and stops it however the test ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from helpers.cluster import free_ports
from quorum.impl.mutants import Mutant
from quorum.impl.server.config import ServerConfig, parse_initial_cluster
from quorum.impl.server.main import start_member, stop_member

__all__ = ["PEER_SECRET", "config", "running_member", "wait_leader"]

#: the peer secret of every member ``config`` describes
PEER_SECRET = b"in-process-test-peer-secret"


def config(tmp: Path, scheme: str = "http", **kw: Any) -> ServerConfig:
    """A one-member cluster's config under ``tmp``; ``scheme`` of its client URL."""
    client, peer = free_ports(2)
    peer_url = f"http://127.0.0.1:{peer}"
    client_url = f"{scheme}://127.0.0.1:{client}"
    base: dict[str, Any] = dict(
        name="solo", data_dir=tmp / "solo", listen_peer_urls=(peer_url,),
        listen_client_urls=(client_url,),
        initial_cluster=parse_initial_cluster(f"solo={peer_url}"),
        advertise_peer_urls=(peer_url,), advertise_client_urls=(client_url,), tick_ms=20,
        peer_secret=PEER_SECRET)
    base.update(kw)
    return ServerConfig(**base)


async def wait_leader(node: Any) -> None:
    """Return once ``node`` leads (a one-member cluster elects itself quickly)."""
    for _ in range(200):
        if node.leader == node.id:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no leader")


@asynccontextmanager
async def running_member(cfg: ServerConfig, mutants: frozenset[Mutant] = frozenset(),
                         ) -> AsyncIterator[tuple[Any, Any, Any]]:
    """Start ``cfg``'s member in the running loop and wait until it leads; yield its
    ``(node, requests, server)``; stop it when the block ends, also on a failure."""
    node, requests, server = await start_member(cfg, mutants)
    try:
        await wait_leader(node)
        yield node, requests, server
    finally:
        await stop_member(node, server)
