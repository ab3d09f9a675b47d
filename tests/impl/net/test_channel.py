"""Sealed frames: a proxy between two members that rewrites, replays, reorders or drops
frames after an honest handshake gets the link dropped, and nothing it touched is
delivered; the handler only ever sees bodies the peer sealed, in its order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from quorum.impl.net import Identity, PeerError, RateLimitedLog, Transport
from quorum.impl.net.channel import TAG_BYTES, PlainChannel, SealedChannel, channel_for
from quorum.impl.net.frame import HEADER, pack, unpack

SECRET = b"s3cret-shared-by-the-cluster"
CLUSTER = 0xC1


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


async def opened(ch: SealedChannel, wire: bytes) -> list[bytes]:
    """Every frame ``ch`` opens from ``wire`` until one fails (PeerError) or it ends."""
    reader = asyncio.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    out = []
    while True:
        try:
            out.append(await ch.read(reader))
        except asyncio.IncompleteReadError:
            return out


def pair() -> tuple[SealedChannel, SealedChannel]:
    sender = channel_for(SECRET, b"t", b"d" * 32, b"a" * 32)
    receiver = channel_for(SECRET, b"t", b"d" * 32, b"a" * 32)
    assert isinstance(sender, SealedChannel) and isinstance(receiver, SealedChannel)
    return sender, receiver


def test_sealed_frames_round_trip_and_are_not_plaintext() -> None:
    s, r = pair()
    frames = [s.seal(pack(["append", i, b"value-%d" % i])) for i in range(5)]
    assert all(b"value-" not in f for f in frames)  # encrypted, not only authenticated
    assert all(HEADER.unpack(f[:4])[0] == len(f) - 4 for f in frames)
    got = run(opened(r, b"".join(frames)))
    assert [unpack(b) for b in got] == [["append", i, b"value-%d" % i] for i in range(5)]
    assert isinstance(channel_for(None, b"t", b"d", b"a"), PlainChannel)


@pytest.mark.parametrize("attack", ["flip-body", "flip-length", "replay", "reorder", "drop",
                                    "other-connection"])
def test_tampering_replay_reorder_and_drop_fail_authentication(attack: str) -> None:
    s, r = pair()
    frames = [s.seal(pack([i, b"x" * 40])) for i in range(4)]
    if attack == "flip-body":
        f = bytearray(frames[1])
        f[10] ^= 0x01
        frames[1] = bytes(f)
    elif attack == "flip-length":  # a shorter length makes the tag the wrong bytes
        frames[1] = HEADER.pack(len(frames[1]) - 5) + frames[1][4:-1]
    elif attack == "replay":
        frames.insert(2, frames[1])
    elif attack == "reorder":
        frames[1], frames[2] = frames[2], frames[1]
    elif attack == "drop":
        del frames[1]
    else:  # a frame recorded on another connection (other nonces, so another key)
        other = channel_for(SECRET, b"t", b"D" * 32, b"a" * 32)
        frames[1] = other.seal(pack([1, b"x" * 40]))

    genuine = 2 if attack == "replay" else 1  # a replay follows the genuine frame 1

    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"".join(frames))
        reader.feed_eof()
        for i in range(genuine):
            assert unpack(await r.read(reader)) == [i, b"x" * 40]
        with pytest.raises(PeerError, match=f"frame {genuine} failed authentication"):
            await r.read(reader)
    run(scenario())


def test_a_frame_shorter_than_its_tag_is_refused() -> None:
    _, r = pair()

    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(HEADER.pack(TAG_BYTES) + b"x" * TAG_BYTES)
        with pytest.raises(PeerError, match="shorter than its tag"):
            await r.read(reader)
    run(scenario())


class Proxy:
    """A TCP proxy from a listening port to ``target``: the dialer's side is parsed into
    frames; after the handshake's two dialer frames, ``mangle`` rewrites the list of
    frames seen so far into what is forwarded (the acceptor's replies pass untouched)."""

    def __init__(self, target: int, mangle: Callable[[list[bytes]], list[bytes]]) -> None:
        self.target, self.mangle = target, mangle
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.close()
            return

        async def back() -> None:
            while data := await sr.read(65536):
                cw.write(data)
            cw.close()  # the acceptor hung up: so does the proxy
        task = asyncio.ensure_future(back())
        seen: list[bytes] = []
        sent = 0
        try:
            while True:
                head = await cr.readexactly(4)
                frame = head + await cr.readexactly(HEADER.unpack(head)[0])
                seen.append(frame)
                out = seen if len(seen) <= 2 else seen[:2] + self.mangle(seen[2:])
                for f in out[sent:]:
                    sw.write(f)
                sent = len(out)
                await sw.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            task.cancel()
            sw.close()
            cw.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


def flip_every_frame(frames: list[bytes]) -> list[bytes]:
    return [f[:-1] + bytes([f[-1] ^ 0x80]) for f in frames]


def replay_first(frames: list[bytes]) -> list[bytes]:
    return frames[:1] + frames  # the first data frame twice


def swap_first_two(frames: list[bytes]) -> list[bytes]:
    if len(frames) < 2:
        return []  # hold the first one back until the second arrives
    return [frames[1], frames[0], *frames[2:]]


@pytest.mark.parametrize("mangle, delivered", [
    (flip_every_frame, []),  # nothing tampered is ever delivered
    (replay_first, [0]),  # the genuine frame once, then the replay kills the link
    (swap_first_two, []),  # the first frame to arrive is out of order
])
def test_a_mangling_proxy_gets_the_link_dropped(
        mangle: Callable[[list[bytes]], list[bytes]], delivered: list[int],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        got: list[tuple[int, Any]] = []
        b = Transport(Identity(CLUSTER, 2, SECRET), "127.0.0.1", 0,
                      lambda peer, body: got.append((peer, unpack(body))))
        await b.start()
        proxy = Proxy(b.port, mangle)
        await proxy.start()
        a = Transport(Identity(CLUSTER, 1, SECRET), "127.0.0.1", 0, lambda p, b: None)
        await a.start()
        a.set_peer(2, "127.0.0.1", proxy.port)
        for _ in range(50):
            if a.connected(2):
                break
            await asyncio.sleep(0.02)
        for i in range(5):
            a.send(2, pack(i))
        for _ in range(100):  # until the proxy saw a reconnect: the link was dropped
            if proxy.connections >= 2:
                break
            await asyncio.sleep(0.02)
        assert proxy.connections >= 2
        assert [body for _, body in got] == delivered
        assert {peer for peer, _ in got} <= {1}
        await a.stop()
        await b.stop()
        await proxy.stop()
    run(scenario())
    assert "failed authentication" in caplog.text


def test_warnings_are_rate_limited_per_peer_with_a_count() -> None:
    logger = logging.getLogger("test.ratelimit")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())
    logger.addHandler(Keep())
    logger.propagate = False
    now = [100.0]
    rl = RateLimitedLog(logger, interval=30, clock=lambda: now[0])
    assert rl.warning("p1", "bad frame from %s", "p1")
    assert not rl.warning("p1", "bad frame from %s", "p1")
    assert not rl.warning("p1", "bad frame from %s", "p1")
    assert rl.warning("p2", "bad frame from %s", "p2")  # another peer has its own budget
    now[0] += 31
    assert rl.warning("p1", "bad frame from %s", "p1")
    assert records == ["bad frame from p1", "bad frame from p2",
                       "bad frame from p1 (2 similar suppressed in the last 30s)"]


def test_inbound_connections_are_capped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        b = Transport(Identity(CLUSTER, 2, SECRET), "127.0.0.1", 0, lambda p, b: None,
                      max_inbound=3)
        await b.start()
        conns = [await asyncio.open_connection("127.0.0.1", b.port) for _ in range(5)]
        await asyncio.sleep(0.2)
        closed = 0
        for reader, _ in conns:
            try:
                closed += await asyncio.wait_for(reader.read(1), 0.5) == b""
            except TimeoutError:
                pass  # held open, waiting for our handshake
        assert (closed, b.refused) == (2, 2)
        for _, writer in conns:
            writer.close()
        await b.stop()
    run(scenario())
    assert caplog.text.count("inbound connections already") == 1  # rate-limited per host
