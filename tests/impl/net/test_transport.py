"""The peer transport: frames flow between authenticated nodes; garbage, oversized frames,
wrong secrets and replayed handshakes cost the offender its connection, never the node."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import pytest

from quorum.impl.net import (
    Identity,
    PeerError,
    Transport,
    check_insecure_peers,
    handshake,
    is_loopback,
)
from quorum.impl.net.frame import HEADER, encode_frame, pack, read_frame, unpack

CLUSTER, SECRET = 0xC1, b"s3cret-shared-by-the-cluster"


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class Node:
    """A transport that records what it receives."""

    def __init__(self, node_id: int, secret: bytes | None = SECRET, insecure: bool = False,
                 **kw: Any) -> None:
        self.got: list[tuple[int, bytes]] = []
        self.arrived = asyncio.Event()
        self.t = Transport(Identity(CLUSTER, node_id, secret, insecure), "127.0.0.1", 0,
                           self.on, **kw)

    def on(self, peer: int, body: bytes) -> None:
        self.got.append((peer, body))
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def loop() -> None:
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(loop(), timeout)


async def pair(secret_b: bytes | None = SECRET) -> tuple[Node, Node]:
    a, b = Node(1), Node(2, secret=secret_b)
    await a.t.start()
    await b.t.start()
    a.t.set_peer(2, "127.0.0.1", b.t.port)
    b.t.set_peer(1, "127.0.0.1", a.t.port)
    return a, b


async def logged(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10.0) -> bool:
    """Whether ``text`` is logged within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in caplog.text and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    return text in caplog.text


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """True when the other side closes without sending more than handshake replies."""
    try:
        while await asyncio.wait_for(reader.read(4096), 5):
            pass
        return True
    except (TimeoutError, ConnectionError):
        return False


def test_frames_flow_both_ways_in_order() -> None:
    async def scenario() -> None:
        a, b = await pair()
        for i in range(100):
            assert a.t.send(2, pack(["a", i]))
        b.t.send(1, pack("hello"))
        await b.wait_for(100)
        await a.wait_for(1)
        assert [unpack(body)[1] for _, body in b.got] == list(range(100))
        assert {peer for peer, _ in b.got} == {1} and a.got == [(2, pack("hello"))]
        await a.t.stop()
        await b.t.stop()
    run(scenario())


async def raw_garbage(payload: bytes, caplog: pytest.LogCaptureFixture) -> None:
    a, b = await pair()
    reader, writer = await asyncio.open_connection("127.0.0.1", b.t.port)
    writer.write(payload)
    await writer.drain()
    assert await closed_by_peer(reader)
    a.t.send(2, pack("still alive"))  # the node keeps serving honest peers
    await b.wait_for(1)
    assert b.got == [(1, pack("still alive"))]
    assert "dropped peer connection" in caplog.text
    await a.t.stop()
    await b.t.stop()


def test_garbage_frame_closes_that_connection_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")
    run(raw_garbage(encode_frame(b"\xc1\xc1\xc1 not msgpack"), caplog))
    assert "not msgpack" in caplog.text


def test_oversized_frame_is_refused_before_reading_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")
    run(raw_garbage(HEADER.pack(2**31) + b"x" * 100, caplog))
    assert "outside 1.." in caplog.text


def test_oversized_data_frame_after_handshake_drops_the_connection(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        a = Node(1, max_frame=1000)
        b = Node(2)
        await a.t.start()
        await b.t.start()
        b.t.set_peer(1, "127.0.0.1", a.t.port)
        b.t.send(1, b"\x00" * 5000)  # too big for a
        b.t.send(1, pack("small"))  # lost with the dropped connection or delivered later
        assert await logged(caplog, "frame length 5016 outside 1..1016")  # sealed: +16 tag
        assert all(len(body) <= 1000 for _, body in a.got)
        await a.t.stop()
        await b.t.stop()
    run(scenario())


def test_wrong_secret_is_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        a, b = await pair(secret_b=b"not the cluster secret")
        a.t.send(2, pack("for b"))
        b.t.send(1, pack("for a"))
        assert await logged(caplog, "authentication failed")
        await asyncio.sleep(0.2)  # what either would have received by now
        assert a.got == [] and b.got == []
        assert not a.t.connected(2) and not b.t.connected(1)
        await a.t.stop()
        await b.t.stop()
    run(scenario())


class Recorder:
    """Runs a genuine dialer against ``port`` and records the frames it sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def dial(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        real_write = writer.write

        def tap(data: bytes) -> None:
            self.sent.append(bytes(data))
            real_write(data)
        writer.write = tap  # type: ignore[method-assign,assignment]
        await handshake.dial(reader, writer, Identity(CLUSTER, 1, SECRET), 2)
        writer.close()


def test_replayed_dialer_handshake_is_rejected(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        b = Node(2)
        await b.t.start()
        rec = Recorder()
        await rec.dial(b.t.port)  # a genuine handshake, recorded by an eavesdropper
        hello, proof = rec.sent
        reader, writer = await asyncio.open_connection("127.0.0.1", b.t.port)
        writer.write(hello)
        unpack(await read_frame(reader))  # a fresh challenge the recording cannot answer
        writer.write(proof + encode_frame(pack("injected")))
        assert await closed_by_peer(reader)
        assert b.got == []
        assert "authentication failed" in caplog.text
        await b.t.stop()
    run(scenario())


def test_replayed_acceptor_challenge_is_rejected_by_the_dialer() -> None:
    async def scenario() -> None:
        b = Node(2)
        await b.t.start()
        challenges: list[bytes] = []

        async def impostor(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_frame(reader)
            writer.write(challenges[0])  # the challenge recorded from the real node 2
            await writer.drain()
            await reader.read()

        reader, writer = await asyncio.open_connection("127.0.0.1", b.t.port)
        writer.write(encode_frame(pack({"proto": handshake.PROTOCOL, "cluster": CLUSTER,
                                        "node": 1, "to": 2, "nonce": b"n" * 32})))
        challenges.append(encode_frame(await read_frame(reader)))
        writer.close()
        server = await asyncio.start_server(impostor, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        with pytest.raises(PeerError, match="authentication failed"):
            await handshake.dial(r2, w2, Identity(CLUSTER, 1, SECRET), 2)
        w2.close()
        server.close()
        await b.t.stop()
    run(scenario())


def test_other_cluster_and_wrong_target_are_refused() -> None:
    async def attempt(ident: Identity, target: int, port: int) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await handshake.dial(reader, writer, ident, target)
            return "accepted"
        except PeerError as exc:
            return str(exc)
        finally:
            writer.close()

    async def scenario() -> None:
        b = Node(2)
        await b.t.start()
        other = await attempt(Identity(0xBAD, 1, SECRET), 2, b.t.port)
        assert "belongs to cluster bad" in other
        wrong = await attempt(Identity(CLUSTER, 1, SECRET), 3, b.t.port)
        assert "dialed node 3" in wrong
        assert await attempt(Identity(CLUSTER, 1, SECRET), 2, b.t.port) == "accepted"
        await b.t.stop()
    run(scenario())


def test_without_a_secret_unauthenticated_peers_are_refused_unless_insecure() -> None:
    class FakeWriter:
        def __init__(self) -> None:
            self.out: list[bytes] = []

        def get_extra_info(self, name: str) -> Any:
            return ("10.1.2.3", 4000)

        def write(self, data: bytes) -> None:
            self.out.append(data)

        async def drain(self) -> None:
            pass

    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(encode_frame(pack({"proto": handshake.PROTOCOL, "cluster": CLUSTER,
                                            "node": 1, "to": 2, "nonce": b"n" * 32})))
        writer = FakeWriter()
        with pytest.raises(PeerError, match="peer is not authenticated"):
            await handshake.accept(reader, writer, Identity(CLUSTER, 2, None))  # type: ignore[arg-type]
        assert b"not authenticated" in writer.out[0]
    run(scenario())
    with pytest.raises(ValueError, match="peers would not be authenticated"):
        Transport(Identity(CLUSTER, 2, None), "127.0.0.1", 0, lambda p, b: None)
    assert is_loopback(("127.0.0.1", 1)) and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("192.168.1.1") and not is_loopback("example.com")
    assert check_insecure_peers(["127.0.0.1", "localhost", "10.0.0.5"]) == ["10.0.0.5"]


def test_insecure_pair_on_loopback_works() -> None:
    async def scenario() -> None:
        a, b = Node(1, secret=None, insecure=True), Node(2, secret=None, insecure=True)
        await a.t.start()
        await b.t.start()
        a.t.set_peer(2, "127.0.0.1", b.t.port)
        a.t.send(2, pack(1))
        await b.wait_for(1)
        await a.t.stop()
        await b.t.stop()
    run(scenario())


def test_bounded_queue_drops_and_reconnect_delivers() -> None:
    async def scenario() -> None:
        a = Node(1, queue_size=3)
        await a.t.start()
        b = Node(2)
        await b.t.start()
        port = b.t.port
        await b.t.stop()  # b is down: a's frames queue up, then overflow
        a.t.set_peer(2, "127.0.0.1", port)
        sent = [a.t.send(2, pack(i)) for i in range(5)]
        assert sent == [True, True, True, False, False]
        assert a.t.send(9, pack("nobody")) is False  # unknown peer
        b2 = Node(2)
        b2.t.port = port
        await b2.t.start()  # b comes back on the same port: a reconnects and flushes
        await b2.wait_for(3)
        assert [unpack(body) for _, body in b2.got] == [0, 1, 2]
        await a.t.stop()
        await b2.t.stop()
    run(scenario())




def test_stop_ends_a_link_whose_cancel_was_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.11's ``asyncio.wait_for`` returns the inner result when a cancel lands as
    the inner call finishes, losing the cancel; a link that then read its live connection
    forever made ``stop`` hang (a CI flake).  The transport no longer uses wait_for, and
    ``stop`` must not depend on one cancel arriving: here the dial itself loses it."""
    import quorum.impl.net.transport as transport_module

    real_dial = transport_module.dial
    in_dial = asyncio.Event()

    async def dial_losing_a_cancel(*args: Any) -> Any:
        channel = await real_dial(*args)
        in_dial.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass  # what wait_for does when the inner call is done as the cancel arrives
        return channel

    monkeypatch.setattr(transport_module, "dial", dial_losing_a_cancel)

    async def scenario() -> None:
        a, b = await pair()
        await asyncio.wait_for(in_dial.wait(), 5)
        link = a.t._links[2]
        await asyncio.wait_for(a.t.stop(), 5)  # hung before: the link went on to read(1)
        assert link.task.done() and not link.connected
        await b.t.stop()
    run(scenario())


def test_a_removed_member_is_told_so_and_its_frames_are_refused(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "quorum.net")

    async def scenario() -> None:
        told: list[int] = []
        a = Node(1, on_removed=told.append)
        b = Node(2)
        b.t.removed = frozenset({1})  # b has applied the removal of member 1
        await a.t.start()
        await b.t.start()
        a.t.set_peer(2, "127.0.0.1", b.t.port)
        a.t.send(2, b"a vote request from a removed member")
        for _ in range(250):
            if told:
                break
            await asyncio.sleep(0.02)
        assert told and set(told) == {2}
        assert b.got == []
        assert "member 1 was removed from the cluster; told it so" in caplog.text
        assert "member 2 says this member was removed from the cluster" in caplog.text
        await a.t.stop()
        await b.t.stop()
    run(scenario())


def test_a_forged_removed_answer_fails_authentication() -> None:
    """A man in the middle without the secret cannot tell a member it was removed: the
    answer's MAC covers both nonces."""
    async def scenario() -> None:
        b = Node(2)
        await b.t.start()

        async def middle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", b.t.port)
            up_w.write(encode_frame(await read_frame(reader)))  # hello
            writer.write(encode_frame(await read_frame(up_r)))  # the genuine challenge
            up_w.write(encode_frame(await read_frame(reader)))  # the genuine proof
            await read_frame(up_r)  # the genuine welcome, replaced:
            writer.write(encode_frame(pack({"removed": True, "mac": b"\0" * 32})))
            await writer.drain()
            await reader.read()
            up_w.close()

        server = await asyncio.start_server(middle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1])
        with pytest.raises(PeerError, match="authentication failed") as caught:
            await handshake.dial(reader, writer, Identity(CLUSTER, 1, SECRET), 2)
        assert not isinstance(caught.value, handshake.Removed)
        writer.close()
        server.close()
        await b.t.stop()
    run(scenario())
