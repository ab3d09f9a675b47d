"""Peer transport over asyncio TCP (optionally TLS): authenticated connections with
sealed frames, bounded queues and buffers, reconnects, rate-limited warnings.

Theory of operation.  Each node listens on its peer address and, for every peer it sends
to, keeps one outbound connection (its *link*); messages from a peer arrive on the
connection that peer dialed.  So a pair of nodes uses two TCP connections, one per
direction, and each side only ever writes to the connection it dialed (after the
handshake).  A link owns a bounded FIFO of frame bodies: :meth:`Transport.send` never
blocks and drops the frame when the FIFO is full or the peer is unknown (Raft tolerates
lost messages; a stuck peer must not grow memory without bound).  The link's task
connects (with TLS when configured, ``tls.py``), runs
:func:`quorum.impl.net.handshake.dial`, which yields the connection's
:class:`~quorum.impl.net.channel.Channel`, seals and flushes the queued frames, and from
then on ``send`` seals each frame into the connection directly (bounded by
``max_buffer`` bytes not yet accepted by the socket); on any error it closes the socket
and reconnects after an exponential backoff with jitter.

Inbound connections are capped (``max_inbound``; more are closed at once), upgrade to
TLS when configured, and run :func:`quorum.impl.net.handshake.accept`; with TLS client
authentication the dialer's certificate must also name the host of the member id it
claims.  A newer authenticated connection from the same peer replaces the older one, so
at most one buffer of up to ``max_frame`` bytes per member is ever being read.  Then
each frame is opened by the channel (a tampered, replayed or reordered frame fails) and
its body goes to ``handler(peer_id, body)``.  A handshake failure, a frame that fails,
or any exception the handler raises closes that connection only; the node keeps running.
Warnings about bad connections are rate-limited per peer (:class:`RateLimitedLog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from quorum.impl.net.channel import Channel
from quorum.impl.net.frame import MAX_FRAME, PeerError
from quorum.impl.net.handshake import HANDSHAKE_TIMEOUT, Identity, Removed, accept, dial
from quorum.impl.net.tls import TLSConfig, cert_names_host

__all__ = ["Handler", "RateLimitedLog", "Transport"]

log = logging.getLogger("quorum.net")

Handler = Callable[[int, bytes], None]  # (authenticated peer id, frame body)

BACKOFF_MIN, BACKOFF_MAX = 0.02, 1.0  # seconds between reconnect attempts
WARN_INTERVAL = 30.0  # seconds between two warnings about the same peer


class RateLimitedLog:
    """At most one warning per key (a peer's id or host) per ``interval`` seconds; the
    next one that gets through says how many were suppressed meanwhile."""

    def __init__(self, logger: logging.Logger, interval: float = WARN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.interval, self.clock = logger, interval, clock
        self._last: dict[Any, float] = {}
        self._suppressed: dict[Any, int] = {}

    def warning(self, key: Any, msg: str, *args: Any) -> bool:
        """Log ``msg % args`` unless ``key`` was warned about recently; True if logged."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        if len(self._last) > 4096:  # bounded: many distinct offenders forget old ones
            self._last.clear()
            self._suppressed.clear()
        self._last[key] = now
        skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += f" ({skipped} similar suppressed in the last {self.interval:g}s)"
        self.logger.warning(msg, *args)
        return True


class _Link:
    """The outbound half towards one peer.

    While connected, :meth:`push` seals a frame straight into the connection's buffer
    (asyncio sends it as soon as the socket allows; no task switch per frame) unless that
    buffer already holds ``max_buffer`` bytes, in which case the frame is dropped.  While
    disconnected, frame bodies wait in a FIFO of at most ``queue_size`` frames, sealed
    and flushed once the next connection's handshake succeeds.
    """

    def __init__(self, transport: Transport, peer_id: int, host: str, port: int) -> None:
        self.t, self.peer_id, self.host, self.port = transport, peer_id, host, port
        self.queue: deque[bytes] = deque()
        self.writer: asyncio.StreamWriter | None = None
        self.channel: Channel | None = None
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def connected(self) -> bool:
        return self.writer is not None

    def push(self, body: bytes) -> bool:
        w, ch = self.writer, self.channel
        if w is not None and ch is not None and not w.is_closing():
            if w.transport.get_write_buffer_size() > self.t.max_buffer:
                self.dropped += 1
                return False
            try:
                w.write(ch.seal(body))
                return True
            except (RuntimeError, OSError):  # closed under us (uvloop raises): reconnecting
                self.writer = None
        if len(self.queue) >= self.t.queue_size:
            self.dropped += 1
            return False
        self.queue.append(body)
        return True

    async def _run(self) -> None:
        backoff, warned = BACKOFF_MIN, False
        while not self.t.stopping:
            try:
                await self._session()
                backoff = BACKOFF_MIN
            except Removed as exc:
                if not warned:
                    log.warning("%s", exc)
                warned = True
                if self.t.on_removed is not None:
                    self.t.on_removed(self.peer_id)
            except (PeerError, ssl.SSLError, ssl.CertificateError) as exc:
                # the peer failed our handshake: say so once per streak, rate-limited
                if not warned:
                    self.t.warnings.warning(("to", self.peer_id),
                                            "dropped peer connection to node %x (%s:%d): %s",
                                            self.peer_id, self.host, self.port, exc)
                warned = True
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                if self.writer is not None:
                    log.info("link to %x (%s:%d) down: %s", self.peer_id, self.host, self.port,
                             exc or type(exc).__name__)
                    warned = False
            finally:
                self.writer, self.channel = None, None
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _session(self) -> None:
        ctx = self.t.client_ssl
        # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the result when a
        # cancel lands as the inner call finishes, swallowing the cancel (Transport.stop
        # then waited on a link that went on to read a live connection forever).
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=ctx, server_hostname=self.host if ctx else None)
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                channel = await dial(reader, writer, self.t.identity, self.peer_id)
            log.debug("link to %x up", self.peer_id)
            if self.queue:
                writer.write(b"".join(channel.seal(body) for body in self.queue))
                self.queue.clear()
            self.writer, self.channel = writer, channel
            if self.t.stopping:
                return
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
    peer proved in the handshake, and (with a secret) only with frame bodies that peer
    sealed, in the order it sealed them.

    Raises ValueError when nothing would authenticate peers (no secret, TLS without
    mutual authentication) and ``identity.insecure`` is not set.
    """

    def __init__(self, identity: Identity, host: str, port: int, handler: Handler, *,
                 tls: TLSConfig | None = None, max_frame: int = MAX_FRAME,
                 queue_size: int = 4096, max_buffer: int = 16 << 20,
                 max_inbound: int = 64,
                 on_removed: Callable[[int], None] | None = None) -> None:
        self.identity, self.host, self.port = identity, host, port
        #: ids removed from the cluster: told so (and refused) when they dial us
        self.removed: frozenset[int] = frozenset()
        #: called with a peer's id when that peer tells us we were removed
        self.on_removed = on_removed
        self.handler, self.max_frame, self.queue_size = handler, max_frame, queue_size
        self.max_buffer = max_buffer  # bytes buffered on a live connection before dropping
        self.max_inbound = max_inbound  # inbound connections at once, handshaking or not
        self.tls = tls if tls is not None and tls.enabled else None
        self.tls_verifies = self.tls is not None and self.tls.authenticates
        if identity.secret is None and not self.tls_verifies and not identity.insecure:
            raise ValueError("peers would not be authenticated: configure a peer secret or "
                             "TLS client certificates, or explicitly allow insecure peers")
        self.server_ssl = self.tls.server_context() if self.tls else None
        self.client_ssl = self.tls.client_context() if self.tls else None
        self.warnings = RateLimitedLog(log)
        self._links: dict[int, _Link] = {}
        self._server: asyncio.Server | None = None
        self._inbound: set[asyncio.Task[None]] = set()
        self._current: dict[int, asyncio.Task[None]] = {}  # peer id -> its newest inbound
        self.refused = 0  # inbound connections closed at once: over ``max_inbound``
        self.stopping = False

    async def start(self) -> None:
        """Listen on (host, port); with port 0 the chosen port is stored in ``self.port``."""
        # With TLS the listener runs the TLS handshake before _serve sees the connection (a
        # failed one is dropped there, quietly: the dialing side logs why).  Upgrading in
        # _serve instead would race the client's first TLS bytes into the plain reader.
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=self.server_ssl,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self.server_ssl else None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener, every link and every inbound connection."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        tasks = {link.task for link in self._links.values()} | self._inbound
        while tasks:  # cancel again until all are done: a cancel can be lost in a library
            for task in tasks:
                task.cancel()
            _, tasks = await asyncio.wait(tasks, timeout=1.0)
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
        return link is not None and link.push(body)

    async def _handshake(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> tuple[int, Channel]:
        peer, channel = await accept(reader, writer, self.identity, self.tls_verifies,
                                     self.removed)
        if self.tls_verifies:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            link = self._links.get(peer)
            if link is None or not cert_names_host(der, link.host):
                raise PeerError(f"the certificate does not name the host of member {peer:x}")
        return peer, channel

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peername = writer.get_extra_info("peername")
        host = peername[0] if isinstance(peername, tuple) else str(peername)
        if len(self._inbound) >= self.max_inbound:
            self.refused += 1
            self.warnings.warning(("cap", host), "refused a peer connection from %s: %d "
                                  "inbound connections already", host, len(self._inbound))
            writer.close()
            return
        self._inbound.add(task)
        peer = 0
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):  # not wait_for: see _Link._session
                peer, channel = await self._handshake(reader, writer)
            old = self._current.get(peer)
            self._current[peer] = task
            if old is not None:
                old.cancel()  # the peer reconnected: its old connection is dead to it
            while True:
                self.handler(peer, await channel.read(reader, self.max_frame))
        except (PeerError, ssl.SSLError, ssl.CertificateError) as exc:
            self.warnings.warning(("from", peer or host), "dropped peer connection from %s "
                                  "(node %x): %s", peername, peer, exc)
        except TimeoutError:
            self.warnings.warning(("from", peer or host), "dropped peer connection from %s: "
                                  "handshake timed out", peername)
        except (OSError, asyncio.IncompleteReadError):
            log.debug("peer connection from %s (node %x) closed", peername, peer)
        except asyncio.CancelledError:
            pass  # stopping, or replaced; ending quietly keeps asyncio from logging it
        except Exception as exc:  # a bug in the handler must cost one connection, not the node
            self.warnings.warning(("bug", peer), "error handling a frame from node %x; "
                                  "connection dropped: %s: %s", peer, type(exc).__name__, exc)
        finally:
            self._inbound.discard(task)
            if self._current.get(peer) is task:
                del self._current[peer]
            writer.close()
