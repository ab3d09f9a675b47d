"""Length-prefixed msgpack frames: the unit of everything peers send each other.

A frame is a 4-byte big-endian length followed by that many bytes of msgpack.  The
reader enforces a maximum frame size *before* reading the body, so a peer cannot make a
node allocate an arbitrary buffer.  Anything a peer gets wrong (an oversized length, a body
that is not msgpack, a handshake field of the wrong type) raises :class:`PeerError`: the
remote side is at fault, and the caller closes that one connection and logs it.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import msgpack

__all__ = ["HEADER", "MAX_FRAME", "PeerError", "encode_frame", "pack", "read_frame", "unpack"]

HEADER = struct.Struct(">I")
MAX_FRAME = 64 << 20  # 64 MiB: room for a large snapshot chunk, far below a memory threat


class PeerError(Exception):
    """A peer sent bytes that break the peer protocol: close its connection, keep running."""


def pack(obj: Any) -> bytes:
    """msgpack-encode ``obj`` (bytes stay bytes, str stays str)."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(body: bytes) -> Any:
    """Decode one msgpack value; any malformation is the peer's fault (:class:`PeerError`)."""
    try:
        return msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise PeerError(f"frame is not msgpack ({type(exc).__name__})") from None


def encode_frame(body: bytes) -> bytes:
    """The wire form of one frame whose body is already-encoded msgpack."""
    return HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes:
    """Read one frame's body.

    Raises :class:`PeerError` for a length above ``max_size`` or zero (nothing valid is
    empty), and ``asyncio.IncompleteReadError`` when the connection ends mid-frame.
    """
    (length,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if length == 0 or length > max_size:
        raise PeerError(f"frame length {length} outside 1..{max_size}")
    return await reader.readexactly(length)
