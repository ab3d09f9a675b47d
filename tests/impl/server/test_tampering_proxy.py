"""The issue's proxy, on real processes with the shared secret: every frame sent to one
member passes through a proxy that flips a byte of each frame after the handshake.  The
member drops each such link (logged), applies nothing tampered, and the others keep
serving; once the proxy turns honest it catches up and every member holds the originals.
A process without the secret cannot complete a handshake at all."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from helpers.cluster import FLAGS, Cluster
from quorum.impl.net import Identity, PeerError
from quorum.impl.net.frame import HEADER
from quorum.impl.net.handshake import dial
from quorum.impl.server.config import DEFAULT_TOKEN, cluster_id_of, member_id_of

pytestmark = pytest.mark.slow


class ThreadProxy:
    """A TCP proxy on its own loop thread; while ``tamper`` is set it flips the last byte
    of every dialer frame after the first two (the handshake's)."""

    def __init__(self, listen: int, target: int) -> None:
        self.listen, self.target = listen, target
        self.tamper = True
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.listen))
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.close()
            return

        async def back() -> None:
            try:
                while data := await sr.read(65536):
                    cw.write(data)
            finally:
                cw.close()
        task = asyncio.ensure_future(back())
        n = 0
        try:
            while True:
                head = await cr.readexactly(4)
                frame = head + await cr.readexactly(HEADER.unpack(head)[0])
                n += 1
                if n > 2 and self.tamper:
                    frame = frame[:-1] + bytes([frame[-1] ^ 0x01])
                sw.write(frame)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            task.cancel()
            sw.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_tampering_proxy_drops_links_and_nothing_tampered_is_applied(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, 3, extra=FLAGS)
    n1, n2, n3 = cluster.members
    proxy_port = cluster.spare_ports[0]
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    # n3 listens on its own port but is known to the cluster by the proxy's
    ic = f"n1={n1.peer_url},n2={n2.peer_url},n3={proxy_url}"
    n3.extra = [*FLAGS, "--initial-advertise-peer-urls", proxy_url]
    proxy = ThreadProxy(proxy_port, n3.peer_port)
    try:
        n1.start(ic)
        n2.start(ic)
        n3.start(ic)
        leader = cluster.wait_leader([n1, n2])
        for i in range(5):
            leader.put(b"key%d" % i, b"original-%d" % i)
        time.sleep(1.0)
        assert n3.get_local(b"key", prefix=True) == {}  # nothing reached n3's state machine
        assert n3.proc is not None and n3.proc.poll() is None  # and it keeps running
        assert "failed authentication" in n3.log_text()

        n1_id = member_id_of((n1.peer_url,), DEFAULT_TOKEN)
        n3_id = member_id_of((proxy_url,), DEFAULT_TOKEN)

        async def forge() -> str:  # the attacker of the issue, now without the secret
            reader, writer = await asyncio.open_connection("127.0.0.1", n3.peer_port)
            try:
                await dial(reader, writer, Identity(cluster_id_of(DEFAULT_TOKEN), n1_id), n3_id)
                return "accepted"
            except PeerError as exc:
                return str(exc)
            finally:
                writer.close()
        assert "authentication failed" in asyncio.run(forge())

        proxy.tamper = False
        expected = {b"key%d" % i: b"original-%d" % i for i in range(5)}
        deadline = time.monotonic() + 20
        while n3.get_local(b"key", prefix=True) != expected:
            assert time.monotonic() < deadline, n3.get_local(b"key", prefix=True)
            time.sleep(0.2)
        for m in (n1, n2):
            assert m.get_local(b"key", prefix=True) == expected
    finally:
        cluster.stop()
        proxy.stop()
