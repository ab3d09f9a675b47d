"""One member inside the test process (``start_member``), for the fast end-to-end tests of
the gRPC API: its configuration on free loopback ports, and waiting for it to lead."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpers.cluster import free_ports
from quorum.impl.server.config import ServerConfig, parse_initial_cluster

__all__ = ["config", "wait_leader"]


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
        peer_secret=b"in-process-test-peer-secret")
    base.update(kw)
    return ServerConfig(**base)


async def wait_leader(node: Any) -> None:
    """Return once ``node`` leads (a one-member cluster elects itself quickly)."""
    for _ in range(200):
        if node.leader == node.id:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no leader")
