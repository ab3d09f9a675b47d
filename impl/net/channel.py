"""Sealed frames: every frame after the handshake authenticated (and encrypted) by an AEAD.

Theory of operation.  The handshake (``handshake.py``) proves that both ends know the
cluster secret, but on its own it authenticates only the first four frames: a proxy that
lets the handshake through could rewrite, drop, replay or reorder everything after it.
So when the cluster has a secret, both ends derive a fresh key for the connection from
the secret and the two handshake nonces, and seal every later frame with
ChaCha20-Poly1305 (RFC 8439)::

    key   = HKDF-SHA256(secret, salt = Nd || Na,
                        info = "quorum-peer/1 frames" || cluster || dialer || acceptor)
    frame = length (4 bytes) || ChaCha20-Poly1305(key, nonce = seq, aad = length, body)

``seq`` counts the frames sent on this connection from 0; the receiver expects exactly
the next number.  So a rewritten byte fails the tag; a replayed, dropped or reordered
frame is opened with the wrong sequence number and fails the tag too; a frame recorded on
another connection was sealed under another key (every connection has fresh nonces).  Any
failure raises :class:`PeerError`, and the caller drops the connection (Raft retransmits
over the next one).  A connection carries frames one way only (the dialer's), so there is
one key per connection; the two directions between two members use two connections and
two keys.  Nonces never repeat: a key lives for one connection, and the 64-bit counter
cannot wrap within it.

Without a secret (TLS only, or ``--insecure-peers``) the frames pass unsealed
(:class:`PlainChannel`): TLS then protects them, or nothing does.
"""

from __future__ import annotations

import asyncio
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quorum.impl.net.frame import HEADER, MAX_FRAME, PeerError, encode_frame, read_frame

__all__ = ["TAG_BYTES", "Channel", "PlainChannel", "SealedChannel", "channel_for"]

TAG_BYTES = 16
_SEQ = struct.Struct(">4xQ")  # the 96-bit nonce: 4 zero bytes, then the 64-bit counter


class Channel:
    """How one connection's frames go on the wire: :meth:`seal` for the sender,
    :meth:`read` for the receiver (each end of a connection builds its own)."""

    def seal(self, body: bytes) -> bytes:
        raise NotImplementedError

    async def read(self, reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes:
        raise NotImplementedError


class PlainChannel(Channel):
    """Frames as they are (no secret: TLS or nothing protects them)."""

    def seal(self, body: bytes) -> bytes:
        return encode_frame(body)

    async def read(self, reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes:
        return await read_frame(reader, max_size)


class SealedChannel(Channel):
    """ChaCha20-Poly1305 under a per-connection key, nonces from a frame counter."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self.sent = 0  # sequence number of the next frame sealed
        self.received = 0  # sequence number the next frame read must carry

    def seal(self, body: bytes) -> bytes:
        header = HEADER.pack(len(body) + TAG_BYTES)
        sealed = self._aead.encrypt(_SEQ.pack(self.sent), body, header)
        self.sent += 1
        return header + sealed

    async def read(self, reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes:
        sealed = await read_frame(reader, max_size + TAG_BYTES)
        if len(sealed) <= TAG_BYTES:
            raise PeerError("sealed frame shorter than its tag")
        try:
            body = self._aead.decrypt(_SEQ.pack(self.received), sealed,
                                      HEADER.pack(len(sealed)))
        except InvalidTag:
            raise PeerError(f"frame {self.received} failed authentication (tampered, "
                            "replayed, reordered or dropped)") from None
        self.received += 1
        return body


def derive_key(secret: bytes, transcript: bytes, dialer_nonce: bytes,
               acceptor_nonce: bytes) -> bytes:
    """The connection's frame key: HKDF-SHA256 over the secret, salted by both nonces."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=dialer_nonce + acceptor_nonce,
                info=b"quorum-peer/1 frames\n" + transcript).derive(secret)


def channel_for(secret: bytes | None, transcript: bytes, dialer_nonce: bytes,
                acceptor_nonce: bytes) -> Channel:
    """The channel both ends of a handshake agree on."""
    if secret is None:
        return PlainChannel()
    return SealedChannel(derive_key(secret, transcript, dialer_nonce, acceptor_nonce))
