"""``--frontends N``: gRPC front-end processes forwarding to the member over a local channel
(``impl/server/frontends.py``).  The etcd API through them is tested by the existing
in-process tests, parametrized over 0 and 2 front-ends (test_member_inprocess.py,
test_validation.py, test_tls_client.py, test_auth.py); here: their lifetime, the local
channel's robustness, and their errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import grpc
import msgpack
import pytest

from helpers.cli import QUORUM, quorum
from helpers.cluster import free_ports
from helpers.member import config, running_member
from quorum.impl.api import rpc_pb2, rpc_pb2_grpc
from quorum.impl.server.frontends import CALL, CONFIG, READY, FrontEnds
from quorum.impl.server.main import MemberFailed, serve


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _put(target: str, key: bytes) -> Any:
    async with grpc.aio.insecure_channel(target) as ch:
        return await rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=key, value=b"v"),
                                                 timeout=5)


def test_a_killed_frontend_is_restarted_and_stopping_the_member_stops_them_all(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "quorum.server")

    async def scenario() -> list[int]:
        cfg = config(tmp_path, frontends=2)
        async with running_member(cfg) as (node, _, server):
            assert isinstance(server, FrontEnds)
            target = cfg.listen_client_urls[0][len("http://"):]
            first = server.pids()
            assert len(first) == 2 and all(_alive(p) for p in first)
            os.kill(first[0], signal.SIGKILL)
            for _ in range(200):
                if server.restarts == 1 and len(server.pids()) == 2:
                    break
                await asyncio.sleep(0.05)
            now = server.pids()
            assert server.restarts == 1 and len(now) == 2
            assert first[0] not in now and first[1] in now
            for i in range(20):  # new connections land on either front-end: all answered
                put = await _put(target, b"k%d" % i)
                assert put.header.member_id == node.id
            assert node.sm.kv.revision == 21
            return now
    pids = asyncio.run(scenario())
    assert not any(_alive(p) for p in pids)
    assert "exited with signal 9; restarting it" in caplog.text


def test_a_member_killed_with_sigkill_leaves_no_frontend_behind(tmp_path: Path) -> None:
    client, peer = free_ports(2)
    secret = tmp_path / "secret"
    secret.write_bytes(b"frontends-test-peer-secret-0123")
    proc = subprocess.Popen(
        [*QUORUM, "serve", "--name", "m", "--data-dir", str(tmp_path / "m"),
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--peer-secret-file", str(secret),
         "--frontends", "2", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        children: list[int] = []
        while time.monotonic() < deadline:
            try:
                with grpc.insecure_channel(f"127.0.0.1:{client}") as ch:
                    rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=1)
                children = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
                            .read_text().split()]
                break
            except grpc.RpcError:
                time.sleep(0.1)
        assert len(children) == 2 and all(_alive(c) for c in children)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(c) for c in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


async def _recv_frame(sock: socket.socket, unpacker: msgpack.Unpacker) -> Any:
    """The next frame from the member, or None once it closed the channel."""
    loop = asyncio.get_running_loop()
    while True:
        for frame in unpacker:
            return frame
        async with asyncio.timeout(5):
            data = await loop.sock_recv(sock, 65536)
        if not data:
            return None
        unpacker.feed(data)


def _pack(*frames: Any) -> bytes:
    return b"".join(msgpack.packb(f, use_bin_type=True) for f in frames)


PUT = "/etcdserverpb.KV/Put"
BAD_FRAMES = [  # each one closes its channel; the member serves on
    ("not msgpack", b"\xc1"),
    ("not an array", _pack("hello")),
    ("a call before READY", _pack([CALL, 1, PUT, b"", None, None])),
    ("a call of the wrong shape", _pack([READY, 1], [CALL, 1, PUT])),
    ("a call of the wrong types", _pack([READY, 1], [CALL, "one", PUT, b"", None, None])),
    ("an unknown kind", _pack([READY, 1], [99, 1])),
    ("an oversized frame", _pack([READY, 1]) + b"\xc6\x7f\xff\xff\xff" + b"x" * 5_000_000),
]


def test_malformed_frames_close_that_channel_and_the_member_survives(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, frontends=1)
        async with running_member(cfg) as (node, _, server):
            assert isinstance(server, FrontEnds)
            loop = asyncio.get_running_loop()
            target = cfg.listen_client_urls[0][len("http://"):]
            # a well-behaved channel: settings first, then calls answered by id
            mine, theirs = socket.socketpair()
            theirs.setblocking(False)
            await server.attach(mine, 7)
            unpacker = msgpack.Unpacker(raw=False)
            config_frame = await _recv_frame(theirs, unpacker)
            assert config_frame[0] == CONFIG and config_frame[1]["index"] == 7
            assert config_frame[1]["urls"] == list(cfg.listen_client_urls)
            put = rpc_pb2.PutRequest(key=b"x", value=b"1").SerializeToString()
            await loop.sock_sendall(theirs, _pack([READY, 1], [CALL, 5, PUT, put, None, None],
                                                  [CALL, 6, "/etcdserverpb.KV/Nope", b"",
                                                   None, None]))
            answers = {}
            for _ in range(2):
                frame = await _recv_frame(theirs, unpacker)
                answers[frame[0]] = frame[1:]
            assert answers[6] == [grpc.StatusCode.UNIMPLEMENTED.value[0], "Method not found!"]
            assert answers[5][0] == 0
            assert rpc_pb2.PutResponse.FromString(answers[5][1]).header.member_id == node.id
            theirs.close()
            for name, garbage in BAD_FRAMES:
                caplog.clear()
                mine, theirs = socket.socketpair()
                theirs.setblocking(False)
                await server.attach(mine, 8)
                unpacker = msgpack.Unpacker(raw=False)
                assert (await _recv_frame(theirs, unpacker))[0] == CONFIG
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await loop.sock_sendall(theirs, garbage)  # closed while sending: fine
                assert await _recv_frame(theirs, unpacker) is None, name  # closed
                assert "front-end 8: malformed frame on its local channel" in caplog.text, name
                theirs.close()
                assert (await _put(target, b"after")).header.member_id == node.id, name
            assert server.restarts == 0 and len(server.pids()) == 1
    asyncio.run(scenario())


@pytest.mark.parametrize("frontends", [0, 2])
def test_an_unknown_method_is_unimplemented_as_without_frontends(
        tmp_path: Path, frontends: int) -> None:
    async def scenario() -> None:
        cfg = config(tmp_path, frontends=frontends)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                for path in ("/etcdserverpb.KV/Nope", "/etcdserverpb.Watch/Watch",
                             "/other.Service/Call"):
                    call = ch.unary_unary(path)
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await call(b"", timeout=5)
                    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
    asyncio.run(scenario())


def test_a_client_port_taken_is_one_line_and_starts_no_frontend(tmp_path: Path) -> None:
    cfg = config(tmp_path, frontends=2)
    port = int(cfg.listen_client_urls[0].rsplit(":", 1)[1])
    with socket.socket() as taken:  # another SO_REUSEPORT listener: front-ends would share
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(MemberFailed) as err:
            asyncio.run(serve(cfg))
    assert str(err.value) == (
        f"cannot start: EADDRINUSE (Address already in use) 127.0.0.1:{port}")
    assert not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()


def test_bad_frontends_flag_exits_2_in_one_line(tmp_path: Path) -> None:
    out = quorum("serve", "--data-dir", str(tmp_path / "d"), "--insecure-peers",
                 "--frontends", "-1")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "quorum serve: error: --frontends must be between 0 and 64"]


def test_pipelined_requests_of_the_largest_size_all_pass_the_local_channel(
        tmp_path: Path) -> None:
    """Eight calls just under gRPC's own limit, in flight at once: the channel's bound
    holds a whole frame and the start of the next ones."""
    async def scenario() -> None:
        cfg = config(tmp_path, frontends=1, max_request_bytes=1_000_000,
                     quota_backend_bytes=-1)
        async with running_member(cfg) as (node, _, server):
            async with grpc.aio.insecure_channel(cfg.listen_client_urls[0][7:]) as ch:
                range_ = rpc_pb2_grpc.KVStub(ch).Range
                big = b"k" * (cfg.max_request_bytes + 500_000)  # a key, so Range: no entry
                got = await asyncio.gather(*(range_(rpc_pb2.RangeRequest(key=big + b"%d" % i),
                                                    timeout=20) for i in range(8)))
                assert [g.count for g in got] == [0] * 8
            assert isinstance(server, FrontEnds) and server.restarts == 0
    asyncio.run(scenario())
