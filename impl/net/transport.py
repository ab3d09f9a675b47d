"""Peer transport over asyncio TCP: authenticated connections, bounded queues, reconnects.

Theory of operation.  Each node listens on its peer address and, for every peer it sends
to, keeps one outbound connection (its *link*); messages from a peer arrive on the
connection that peer dialed.  So a pair of nodes uses two TCP connections, one per
direction, and each side only ever writes to the connection it dialed (after the
handshake).  A link owns a bounded FIFO of encoded frames: :meth:`Transport.send` never
blocks and drops the frame when the FIFO is full or the peer is unknown (Raft tolerates
lost messages; a stuck peer must not grow memory without bound).  The link's task
connects, runs :func:`quorum.impl.net.handshake.dial`, flushes the queued frames, and from then on
``send`` writes into the connection directly (bounded by ``max_buffer`` bytes not yet
accepted by the socket); on any error it closes the socket and reconnects after an
exponential backoff with jitter.

Inbound connections run :func:`quorum.impl.net.handshake.accept`; then each frame body goes to the
``handler(peer_id, body)`` given to the transport.  A handshake failure, an oversized or
garbage frame, or a :class:`PeerError` raised by the handler closes that connection and is
logged; the node keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable

from quorum.impl.net.frame import MAX_FRAME, PeerError, encode_frame, read_frame
from quorum.impl.net.handshake import HANDSHAKE_TIMEOUT, Identity, accept, dial

__all__ = ["Handler", "Transport"]

log = logging.getLogger("quorum.net")

Handler = Callable[[int, bytes], None]  # (authenticated peer id, frame body)

BACKOFF_MIN, BACKOFF_MAX = 0.02, 1.0  # seconds between reconnect attempts


class _Link:
    """The outbound half towards one peer.

    While connected, :meth:`push` writes a frame straight into the connection's buffer
    (asyncio sends it as soon as the socket allows; no task switch per frame) unless that
    buffer already holds ``max_buffer`` bytes, in which case the frame is dropped.  While
    disconnected, frames wait in a FIFO of at most ``queue_size`` frames, flushed once the
    next connection's handshake succeeds.
    """

    def __init__(self, transport: Transport, peer_id: int, host: str, port: int) -> None:
        self.t, self.peer_id, self.host, self.port = transport, peer_id, host, port
        self.queue: deque[bytes] = deque()
        self.writer: asyncio.StreamWriter | None = None
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def connected(self) -> bool:
        return self.writer is not None

    def push(self, frame: bytes) -> bool:
        w = self.writer
        if w is not None and not w.is_closing():
            if w.transport.get_write_buffer_size() > self.t.max_buffer:
                self.dropped += 1
                return False
            try:
                w.write(frame)
                return True
            except (RuntimeError, OSError):  # closed under us (uvloop raises): reconnecting
                self.writer = None
        if len(self.queue) >= self.t.queue_size:
            self.dropped += 1
            return False
        self.queue.append(frame)
        return True

    async def _run(self) -> None:
        backoff, warned = BACKOFF_MIN, False
        while True:
            try:
                await self._session()
                backoff = BACKOFF_MIN
            except PeerError as exc:  # the peer failed our handshake: say so once per streak
                if not warned:
                    log.warning("dropped peer connection to node %x (%s:%d): %s",
                                self.peer_id, self.host, self.port, exc)
                warned = True
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                if self.writer is not None:
                    log.info("link to %x (%s:%d) down: %s", self.peer_id, self.host, self.port,
                             exc or type(exc).__name__)
                    warned = False
            finally:
                self.writer = None
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), HANDSHAKE_TIMEOUT)
        try:
            await asyncio.wait_for(dial(reader, writer, self.t.identity, self.peer_id),
                                   HANDSHAKE_TIMEOUT)
            log.debug("link to %x up", self.peer_id)
            if self.queue:
                writer.write(b"".join(self.queue))
                self.queue.clear()
            self.writer = writer
            await reader.read(1)  # the peer never writes after the handshake: this is EOF
            raise ConnectionResetError("peer closed the connection")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class Transport:
    """Authenticated frame transport between the members of one cluster.

    Callers may rely on: ``send`` never blocks and never raises for network reasons;
    frames to one peer are written in the order sent (some may be dropped, none
    reordered on a connection); ``handler`` is only ever called with the node id the
    peer proved in the handshake.
    """

    def __init__(self, identity: Identity, host: str, port: int, handler: Handler, *,
                 max_frame: int = MAX_FRAME, queue_size: int = 4096,
                 max_buffer: int = 16 << 20) -> None:
        self.identity, self.host, self.port = identity, host, port
        self.handler, self.max_frame, self.queue_size = handler, max_frame, queue_size
        self.max_buffer = max_buffer  # bytes buffered on a live connection before dropping
        self._links: dict[int, _Link] = {}
        self._server: asyncio.Server | None = None
        self._inbound: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on (host, port); with port 0 the chosen port is stored in ``self.port``."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener, every link and every inbound connection."""
        if self._server is not None:
            self._server.close()
        tasks = [link.task for link in self._links.values()] + list(self._inbound)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._links.clear()

    def set_peer(self, peer_id: int, host: str, port: int) -> None:
        """Add a peer, or move it to a new address (its queued frames are kept)."""
        link = self._links.get(peer_id)
        if link is not None and (link.host, link.port) == (host, port):
            return
        if link is not None:
            link.task.cancel()
        new = _Link(self, peer_id, host, port)
        if link is not None:
            new.queue.extend(link.queue)
        self._links[peer_id] = new

    def remove_peer(self, peer_id: int) -> None:
        link = self._links.pop(peer_id, None)
        if link is not None:
            link.task.cancel()

    def peers(self) -> dict[int, tuple[str, int]]:
        return {pid: (link.host, link.port) for pid, link in self._links.items()}

    def connected(self, peer_id: int) -> bool:
        link = self._links.get(peer_id)
        return link is not None and link.connected

    def send(self, peer_id: int, body: bytes) -> bool:
        """Queue one frame body for ``peer_id``; False if dropped (unknown peer, full queue)."""
        link = self._links.get(peer_id)
        return link is not None and link.push(encode_frame(body))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inbound.add(task)
        where = writer.get_extra_info("peername")
        peer = 0
        try:
            peer = await asyncio.wait_for(accept(reader, writer, self.identity),
                                          HANDSHAKE_TIMEOUT)
            while True:
                self.handler(peer, await read_frame(reader, self.max_frame))
        except PeerError as exc:
            log.warning("dropped peer connection from %s (node %x): %s", where, peer, exc)
        except TimeoutError:
            log.warning("dropped peer connection from %s: handshake timed out", where)
        except (OSError, asyncio.IncompleteReadError):
            log.debug("peer connection from %s (node %x) closed", where, peer)
        except Exception:  # a bug in the handler must cost one connection, not the node
            log.exception("error handling a frame from node %x; connection dropped", peer)
        except asyncio.CancelledError:
            pass  # the transport is stopping; ending quietly keeps asyncio from logging it
        finally:
            self._inbound.discard(task)
            writer.close()
