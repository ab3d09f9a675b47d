"""gRPC front-end processes (``--frontends N``): the member's event loop does consensus, the
front-ends do HTTP/2.

With ``--frontends N`` (N > 0) the member serves no gRPC itself.  It starts N processes
(:mod:`quorum.impl.server.frontend`), each listening on every ``--listen-client-urls``
address with ``SO_REUSEPORT`` (the kernel spreads the client connections over them), with
the member's client TLS credentials.  A front-end runs HTTP/2, TLS and the gRPC call
machinery; it does not decode the request: it forwards the call's method path, its
serialized request, its ``token`` metadata and its verified client certificate's common
name to the member over a local channel, and returns the member's answer (the serialized
response, or a status code and message) to the client.  The member runs the very same
servicers (:func:`quorum.impl.server.service.servicers`) on a stand-in for the gRPC
context (:class:`LocalContext`), so the API, the auth checks (the :class:`Guard` and its
tokens live in the member) and every status and message are those of a member without
front-ends.

**The local channel** is a ``socketpair`` made at spawn, its one end inherited by the
front-end (no file, nothing another process can connect to).  It carries a stream of
msgpack arrays, pipelined (many calls in flight; answers in any order):

* member -> front-end, first: ``[CONFIG, {...}]`` (index, listen URLs, gRPC options, TLS
  key, chain, CA, whether client certificates are required);
* front-end -> member: ``[READY, pid]`` once it listens, or ``[FAILED, message]``;
* front-end -> member: ``[CALL, id, path, request bytes, token or None, cn or None]``;
* member -> front-end: ``[id, status code, response bytes or status message]`` (code 0: OK).

Writes are gathered and sent once per event-loop turn.  A malformed stream (not msgpack, a
frame of the wrong shape, an oversized frame) is logged as one line and closes that
channel; the member keeps serving, and the front-end, seeing its channel close, exits and
is restarted.

**Lifetime.** A front-end that exits while the member runs is restarted (logged, once a
second at most).  The member stopping terminates its front-ends (SIGTERM: they stop
accepting and finish their calls; SIGKILL after a grace period).  A front-end exits by
itself when its channel closes, and on Linux its parent's death signals it
(``PR_SET_PDEATHSIG``), so none outlives a member even after ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import grpc
import msgpack
from google.protobuf import message_factory
from google.protobuf.message import DecodeError

from quorum.impl.api import rpc_pb2
from quorum.impl.server.config import ServerConfig, parse_url

__all__ = ["CALL", "CONFIG", "FAILED", "READY", "FrontEndFailed", "FrontEnds", "LocalContext",
           "Writer", "methods", "probe_ports"]

log = logging.getLogger("quorum.server")

CONFIG, READY, FAILED, CALL = 0, 1, 2, 3  # frame kinds (the answer frame has none)
STOP_GRACE = 0.5  # seconds a stopping front-end lets its calls finish (as the member's own)
READY_TIMEOUT = 30.0  # seconds a new front-end has to listen
RESTART_DELAY = 1.0  # seconds between restarts of a front-end
FRAME_SLACK = 64 * 1024  # a call frame's bytes beyond its request
READ_SLACK = 1024 * 1024  # the unpacker may also hold the start of the next frames (a read)

STATUS_BY_CODE: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}
NOT_FOUND = (grpc.StatusCode.UNIMPLEMENTED.value[0], "Method not found!")
BAD_REQUEST = (grpc.StatusCode.INTERNAL.value[0], "Exception deserializing request!")
UNEXPECTED = (grpc.StatusCode.UNKNOWN.value[0], "Unexpected error")


class FrontEndFailed(Exception):
    """A front-end could not start (one line: why)."""


class Writer:
    """Gathers the frames written during one event-loop turn into one ``write``."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self._out: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def send(self, frame: Any) -> None:
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(msgpack.packb(frame, use_bin_type=True))

    def _flush(self) -> None:
        out, self._out = self._out, []
        if not self.transport.is_closing():
            self.transport.write(b"".join(out))


class LocalContext:
    """What the servicers use of a gRPC context, for a call forwarded by a front-end."""

    __slots__ = ("_cn", "_metadata", "code", "details")

    def __init__(self, token: str | None, cn: str | None) -> None:
        self._metadata = (("token", token),) if token is not None else ()
        self._cn = cn
        self.code: grpc.StatusCode | None = None
        self.details = ""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_common_name": [self._cn.encode()]} if self._cn else {}

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise Aborted(code, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details


class Aborted(grpc.aio.AbortError):
    """``LocalContext.abort``: a subclass of gRPC's own, so the servicers let it pass."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


Method = tuple[Callable[[Any, Any], Any], Callable[[bytes], Any]]


def methods(services: dict[str, Any]) -> dict[str, Method]:
    """``/etcdserverpb.KV/Put`` -> (the servicer's bound method, the request's parser), for
    every method of every service in ``services`` (all of etcd's are unary)."""
    out: dict[str, Method] = {}
    for name, servicer in services.items():
        desc = rpc_pb2.DESCRIPTOR.services_by_name[name.rsplit(".", 1)[1]]
        for m in desc.methods:
            parse = message_factory.GetMessageClass(m.input_type).FromString
            out[f"/{desc.full_name}/{m.name}"] = (getattr(servicer, m.name), parse)
    return out


def probe_ports(urls: tuple[str, ...]) -> None:
    """Raise OSError if an address of ``urls`` is taken: front-ends bind with SO_REUSEPORT,
    which would otherwise share a port with another SO_REUSEPORT listener of this user."""
    for url in urls:
        host, port = parse_url(url)
        for family, kind, proto, _, addr in socket.getaddrinfo(host, port,
                                                               type=socket.SOCK_STREAM):
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(addr)
                except OSError as exc:
                    raise OSError(exc.errno, exc.strerror, f"{host}:{port}") from None


class _Channel(asyncio.Protocol):
    """The member's end of one front-end's local channel."""

    def __init__(self, owner: FrontEnds, index: int) -> None:
        self.owner, self.index = owner, index
        self.unpacker = msgpack.Unpacker(raw=False,
                                         max_buffer_size=owner.max_frame + READ_SLACK)
        self.ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # a channel that closes before READY is reported by _spawn; no one else waits
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.writer: Writer | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.writer = Writer(transport)
        self.writer.send([CONFIG, self.owner.settings(self.index)])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(FrontEndFailed("it closed its channel before listening"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.unpacker.feed(data)
            for frame in self.unpacker:
                self._frame(frame)
        except Exception as exc:  # msgpack's errors, a wrong shape, an oversized frame
            log.error("front-end %d: malformed frame on its local channel (%s); closing it",
                      self.index, str(exc).splitlines()[0][:200] if str(exc) else
                      type(exc).__name__)
            self.transport.abort()

    def _frame(self, frame: Any) -> None:
        if not isinstance(frame, list) or not frame:
            raise ValueError(f"expected an array, got {type(frame).__name__}")
        kind = frame[0]
        if kind == CALL and len(frame) == 6 and self.ready.done():
            _, rid, path, payload, token, cn = frame
            if not (isinstance(rid, int) and isinstance(path, str)
                    and isinstance(payload, bytes) and isinstance(token, str | None)
                    and isinstance(cn, str | None)):
                raise ValueError("a call frame of the wrong types")
            task = asyncio.ensure_future(self._answer(rid, path, payload, token, cn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == READY and len(frame) == 2 and not self.ready.done():
            self.ready.set_result(frame[1])
        elif kind == FAILED and len(frame) == 2 and not self.ready.done():
            self.ready.set_exception(FrontEndFailed(str(frame[1])))
        else:
            raise ValueError(f"unexpected frame kind {kind!r} of {len(frame)} fields")

    async def _answer(self, rid: int, path: str, payload: bytes, token: str | None,
                      cn: str | None) -> None:
        assert self.writer is not None
        method = self.owner.methods.get(path)
        if method is None:
            self.writer.send([rid, *NOT_FOUND])
            return
        handler, parse = method
        try:
            request = parse(payload)
        except DecodeError:
            self.writer.send([rid, *BAD_REQUEST])
            return
        context = LocalContext(token, cn)
        try:
            response = await handler(request, context)
        except Aborted as exc:
            self.writer.send([rid, exc.code.value[0], exc.details])
            return
        except NotImplementedError:  # a generated servicer's default: its code and details
            code = context.code or grpc.StatusCode.UNIMPLEMENTED
            self.writer.send([rid, code.value[0], context.details])
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # the servicers answer every error themselves: a bug
            log.exception("internal error serving %s from front-end %d", path, self.index)
            self.writer.send([rid, *UNEXPECTED])
            return
        self.writer.send([rid, 0, response.SerializeToString()])


class FrontEnds:
    """The member's N front-end processes: start, restart, stop (module docstring)."""

    def __init__(self, cfg: ServerConfig, services: dict[str, Any], count: int) -> None:
        self.cfg, self.count = cfg, count
        self.methods = methods(services)
        # gRPC itself refuses a request above --max-request-bytes + 512 KiB (main.py)
        self.max_frame = cfg.max_request_bytes + 512 * 1024 + FRAME_SLACK
        self.procs: list[asyncio.subprocess.Process | None] = [None] * count
        self.channels: list[_Channel | None] = [None] * count
        self.stopping = False
        self.restarts = 0
        self._watchers: list[asyncio.Task[None]] = []
        self._tls: tuple[bytes, bytes, bytes | None] | None = None
        self._options: list[tuple[str, int]] = []

    def settings(self, index: int) -> dict[str, Any]:
        key, chain, ca = self._tls or (None, None, None)
        return {"index": index, "urls": list(self.cfg.listen_client_urls),
                "options": [list(o) for o in self._options], "key": key, "chain": chain,
                "ca": ca, "client_cert_auth": self.cfg.client_tls.client_cert_auth}

    async def start(self, options: list[tuple[str, int]]) -> None:
        """Start every front-end and return once all listen; raise OSError if a client
        address is taken, :class:`FrontEndFailed` if a front-end cannot listen."""
        self._options = options
        if not self.cfg.client_tls.empty and any(
                urlsplit(u).scheme == "https" for u in self.cfg.listen_client_urls):
            self._tls = self.cfg.client_tls.load()
        probe_ports(self.cfg.listen_client_urls)
        try:
            for i in range(self.count):
                await self._spawn(i)
        except BaseException:
            await self.stop()
            raise
        self._watchers = [asyncio.ensure_future(self._watch(i)) for i in range(self.count)]

    async def _spawn(self, index: int) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "quorum.impl.server.frontend", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True)  # a terminal's ^C is the member's to handle
        finally:
            theirs.close()
        self.procs[index] = proc
        channel = self.channels[index] = await self.attach(mine, index)
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                pid = await channel.ready
        except TimeoutError:
            raise FrontEndFailed(f"front-end {index} did not listen within "
                                 f"{READY_TIMEOUT:.0f} s") from None
        except FrontEndFailed as exc:
            raise FrontEndFailed(f"front-end {index}: {exc}") from None
        log.info("front-end %d (pid %d) serving clients", index, pid)

    async def attach(self, sock: socket.socket, index: int) -> _Channel:
        """Serve the local channel on ``sock`` (the member's end of a socketpair) as that
        of front-end ``index``: the settings go out at once, calls are served once it
        reports READY."""
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_unix_connection(lambda: _Channel(self, index), sock=sock)
        return channel

    async def _watch(self, index: int) -> None:
        """Restart front-end ``index`` whenever it exits while the member runs."""
        while not self.stopping:
            proc = self.procs[index]
            if proc is not None:
                status = await proc.wait()
                if self.stopping:
                    return
                channel = self.channels[index]
                if channel is not None:
                    channel.transport.abort()
                log.warning("front-end %d (pid %d) exited with %s; restarting it",
                            index, proc.pid, exit_status_text(status))
                self.procs[index] = None
            await asyncio.sleep(RESTART_DELAY)
            if self.stopping:
                return
            try:
                self.restarts += 1
                await self._spawn(index)
            except (FrontEndFailed, OSError) as exc:
                log.error("%s; trying again", exc)
                self._kill(index)

    def _kill(self, index: int) -> None:
        proc = self.procs[index]
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p is not None and p.returncode is None]

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Terminate every front-end (SIGTERM, then SIGKILL after ``grace`` + 2 s)."""
        self.stopping = True
        for w in self._watchers:
            w.cancel()
        procs = [p for p in self.procs if p is not None and p.returncode is None]
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                async with asyncio.timeout(grace + 2.0):
                    await p.wait()
            except TimeoutError:
                log.warning("front-end pid %d did not stop; killing it", p.pid)
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                await p.wait()
        for c in self.channels:
            if c is not None:
                c.transport.abort()
                for t in list(c.tasks):
                    t.cancel()


def exit_status_text(status: int) -> str:
    return f"signal {-status}" if status < 0 else f"status {status}"

