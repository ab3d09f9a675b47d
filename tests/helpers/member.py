"""A one-member cluster inside the test process: its config and a wait for leadership.

Start it with ``quorum.impl.server.main.start_member(config(tmp_path))`` inside the test's
event loop and stop it with ``stop_member`` in a ``finally``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpers.cluster import free_ports
from quorum.impl.server.config import ServerConfig, parse_initial_cluster


def config(tmp: Path, **kw: Any) -> ServerConfig:
    """A member named ``solo`` on free loopback ports, ticking every 20 ms."""
    client, peer = free_ports(2)
    peer_url = f"http://127.0.0.1:{peer}"
    base: dict[str, Any] = dict(
        name="solo", data_dir=tmp / "solo", listen_peer_urls=(peer_url,),
        listen_client_urls=(f"http://127.0.0.1:{client}",),
        initial_cluster=parse_initial_cluster(f"solo={peer_url}"),
        advertise_peer_urls=(peer_url,), advertise_client_urls=(f"http://127.0.0.1:{client}",),
        tick_ms=20, peer_secret=b"in-process-test-peer-secret")
    base.update(kw)
    return ServerConfig(**base)


async def wait_leader(node: Any) -> None:
    """Return once ``node`` leads (a one-member cluster elects itself quickly)."""
    for _ in range(200):
        if node.leader == node.id:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no leader")
