"""One gRPC front-end process: ``python -m quorum.impl.server.frontend FD``.

Started by its member (:mod:`quorum.impl.server.frontends`, which describes the design
and the local channel), never by hand: ``FD`` is its end of the member's socketpair.  It
reads its settings from the channel, listens on the member's client URLs with
``SO_REUSEPORT``, then forwards every call (method path, serialized request, ``token``
metadata, client certificate common name) to the member and returns the answer.  It
exits when its channel closes, on SIGTERM or SIGINT (after letting its calls finish), and
when its parent dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

import grpc
import msgpack

from quorum.impl.server.auth import common_name
from quorum.impl.server.config import parse_url
from quorum.impl.server.frontends import (
    CALL,
    CONFIG,
    FAILED,
    READY,
    STATUS_BY_CODE,
    STOP_GRACE,
    Writer,
)

__all__ = ["main"]

log = logging.getLogger("quorum.frontend")
PR_SET_PDEATHSIG = 1


class _Link(asyncio.Protocol):
    """The front-end's end of the local channel: calls out, answers in (by id)."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.unpacker = msgpack.Unpacker(raw=False, max_buffer_size=2**31 - 1)
        self.config: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.pending: dict[int, asyncio.Future[tuple[int, Any]]] = {}
        self.next_id = 0
        self.writer: Writer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.writer = Writer(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.config.done():
            self.config.set_exception(ConnectionError("the member closed the channel"))
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("the member closed the channel"))

    def data_received(self, data: bytes) -> None:
        self.unpacker.feed(data)
        for frame in self.unpacker:
            if not self.config.done():
                assert frame[0] == CONFIG, frame
                self.config.set_result(frame[1])
                continue
            fut = self.pending.pop(frame[0], None)
            if fut is not None and not fut.done():  # else: the client gave up on it
                fut.set_result((frame[1], frame[2]))

    async def call(self, path: str, request: bytes, token: str | None,
                   cn: str | None) -> tuple[int, Any]:
        assert self.writer is not None
        self.next_id += 1
        rid = self.next_id
        fut: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        self.writer.send([CALL, rid, path, request, token, cn])
        try:
            return await fut
        finally:
            self.pending.pop(rid, None)


class _Forward(grpc.GenericRpcHandler):
    """Every method of the member's services, forwarded undecoded."""

    def __init__(self, link: _Link, tls: bool) -> None:
        self.link, self.tls = link, tls
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        path: str = details.method  # type: ignore[attr-defined]
        if not path.startswith("/etcdserverpb."):
            return None
        handler = self.handlers.get(path)
        if handler is None:
            handler = grpc.unary_unary_rpc_method_handler(self._forwarder(path))
            self.handlers[path] = handler
        return handler

    def _forwarder(self, path: str) -> Any:
        link, tls = self.link, self.tls

        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            token = None
            for k, v in context.invocation_metadata() or ():
                if k == "token":
                    token = v if isinstance(v, str) else None
                    break
            cn = common_name(context) if tls else None
            try:
                code, body = await link.call(path, request, token, cn)
            except ConnectionError:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "etcdserver: server stopped")
            if code == 0:
                return bytes(body)
            await context.abort(STATUS_BY_CODE.get(code, grpc.StatusCode.UNKNOWN), str(body))
            raise AssertionError("unreachable")  # abort raises
        return forward


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the member that started us dies."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


async def _run(fd: int) -> int:
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=fd)
    _, link = await loop.create_unix_connection(_Link, sock=sock)
    assert link.writer is not None
    try:
        cfg = await link.config
    except ConnectionError:
        return 1
    index = cfg["index"]
    tls = cfg["key"] is not None
    options = [(k, v) for k, v in cfg["options"] if k != "grpc.so_reuseport"]
    server = grpc.aio.server(options=[*options, ("grpc.so_reuseport", 1)])
    server.add_generic_rpc_handlers((_Forward(link, tls),))
    try:
        credentials = None
        if tls:
            credentials = grpc.ssl_server_credentials(
                [(cfg["key"], cfg["chain"])], root_certificates=cfg["ca"],
                require_client_auth=cfg["client_cert_auth"])
        for url in cfg["urls"]:
            host, port = parse_url(url)
            if urlsplit(url).scheme == "https" and credentials is not None:
                server.add_secure_port(f"{host}:{port}", credentials)
            else:
                server.add_insecure_port(f"{host}:{port}")
        await server.start()
    except Exception as exc:  # a port taken, bad credentials: one line to the member
        link.writer.send([FAILED, str(exc).splitlines()[0] if str(exc) else repr(exc)])
        await asyncio.sleep(0.1)  # let the frame go out
        return 1
    link.writer.send([READY, os.getpid()])
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait()),
                                          asyncio.ensure_future(link.closed)]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    log.debug("front-end %d stopping", index)
    await server.stop(grace=STOP_GRACE)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("quorum front-end: started by `quorum serve --frontends N` only",
              file=sys.stderr)
        return 2
    _die_with_parent()
    # grpc's poller thread hands each call to the loop's thread: let it take the GIL soon
    # (the member does the same for its fsync thread; quorum/cli/commands/serve.py)
    sys.setswitchinterval(float(os.environ.get("QUORUM_SWITCH_INTERVAL", "0.0005")))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s front-end %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:
        run = asyncio.run
    return int(run(_run(int(argv[1]))))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
