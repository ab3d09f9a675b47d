"""The peer handshake: cluster id, node ids, and mutual HMAC-SHA256 challenge-response.

Theory of operation.  The side that dials (D) and the side that accepts (A) each pick a
fresh 32-byte random nonce, and each proves knowledge of the shared cluster secret by an
HMAC-SHA256 over *both* nonces and both identities::

    D -> A  hello     {proto, cluster, node=D, to=A, nonce=Nd}
    A -> D  challenge {node=A, nonce=Na, mac=HMAC(k, "accept", cluster, D, A, Nd, Na)}
    D -> A  proof     {mac=HMAC(k, "dial", cluster, D, A, Nd, Na)}
    A -> D  welcome   {ok=true}
       or removed     {removed=true, mac=HMAC(k, "removed", cluster, D, A, Nd, Na)}

Because every MAC covers the other side's fresh nonce, a recorded handshake replayed on a
new connection fails (the acceptor's new Na makes the recorded proof wrong, and the
dialer's new Nd makes a recorded challenge wrong).  The role label keeps A's MAC from being
reflected back as D's, and both ids and the cluster are inside every MAC, so a recording
cannot be re-addressed to another member either.  On success both sides derive the
connection's frame key from the secret and both nonces (``channel.py``), so every later
frame is authenticated too, not only the handshake.

Without a secret (``secret=None``) the MACs are empty: the peer is authenticated by TLS
client certificates (the transport checks them, ``tls.py``), or by nothing at all, which
the acceptor allows only when the member was started with ``--insecure-peers``
(``Identity.insecure``).  Any failure raises :class:`PeerError`; the caller drops the
connection and logs the reason.

A member removed from the cluster is still an authenticated peer (it knows the secret),
so the acceptor finishes the handshake and then answers ``removed`` instead of
``welcome`` when the dialer's id is among the ids its configuration has removed, as
etcd's peers answer a removed member with "410 Gone".  The answer carries a MAC over
both nonces, so only a member that holds the secret can tell another it was removed
(with TLS-authenticated peers, TLS protects it); the dialer raises :class:`Removed`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass
from typing import Any

from quorum.impl.net.channel import Channel, channel_for
from quorum.impl.net.frame import PeerError, encode_frame, pack, read_frame, unpack

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "PROTOCOL",
    "Identity",
    "Removed",
    "accept",
    "check_insecure_peers",
    "dial",
    "is_loopback",
]

PROTOCOL = "quorum-peer/1"
NONCE_BYTES = 32
HANDSHAKE_TIMEOUT = 5.0  # seconds a peer gets to finish the handshake


class Removed(PeerError):
    """The peer proved it has applied this member's removal from the cluster."""


@dataclass(frozen=True)
class Identity:
    """Who this node is: its cluster, its node id, and the shared secret (None: TLS or
    nothing authenticates peers); ``insecure``: accept peers nothing authenticates."""

    cluster_id: int
    node_id: int
    secret: bytes | None = None
    insecure: bool = False


def _transcript(cluster: int, dialer: int, acceptor: int) -> bytes:
    return pack([PROTOCOL, cluster, dialer, acceptor])


def _mac(secret: bytes | None, role: str, cluster: int, dialer: int, acceptor: int,
         dialer_nonce: bytes, acceptor_nonce: bytes) -> bytes:
    if secret is None:
        return b""
    material = pack([PROTOCOL, role, cluster, dialer, acceptor, dialer_nonce, acceptor_nonce])
    return hmac.new(secret, material, hashlib.sha256).digest()


def _field(msg: Any, name: str, kind: type) -> Any:
    """``msg[name]`` if msg is a dict and the value has type ``kind``, else PeerError."""
    if not isinstance(msg, dict) or not isinstance(msg.get(name), kind):
        raise PeerError(f"handshake message lacks a valid {name!r}")
    value = msg[name]
    if kind is int and isinstance(value, bool):
        raise PeerError(f"handshake field {name!r} is not an integer")
    return value


async def _send(writer: asyncio.StreamWriter, obj: Any) -> None:
    writer.write(encode_frame(pack(obj)))
    await writer.drain()


async def _recv(reader: asyncio.StreamReader) -> Any:
    msg = unpack(await read_frame(reader, max_size=64 << 10))  # handshakes are tiny
    if isinstance(msg, dict) and "error" in msg:
        raise PeerError(f"peer refused the handshake: {msg['error']!r}")
    return msg


def _check_mac(got: bytes, want: bytes) -> None:
    if not hmac.compare_digest(got, want):
        raise PeerError("handshake authentication failed (wrong or missing peer secret?)")


async def dial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               me: Identity, peer_id: int) -> Channel:
    """Run the dialer's side against the node we expect to be ``peer_id``; return the
    channel to seal this connection's frames with."""
    nd = os.urandom(NONCE_BYTES)
    await _send(writer, {"proto": PROTOCOL, "cluster": me.cluster_id, "node": me.node_id,
                         "to": peer_id, "nonce": nd})
    challenge = await _recv(reader)
    if _field(challenge, "node", int) != peer_id:
        raise PeerError(f"dialed node {peer_id:x} but {challenge['node']:x} answered")
    na = _field(challenge, "nonce", bytes)
    want = _mac(me.secret, "accept", me.cluster_id, me.node_id, peer_id, nd, na)
    _check_mac(_field(challenge, "mac", bytes), want)
    proof = _mac(me.secret, "dial", me.cluster_id, me.node_id, peer_id, nd, na)
    await _send(writer, {"mac": proof})
    welcome = await _recv(reader)
    if isinstance(welcome, dict) and welcome.get("removed") is True:
        _check_mac(_field(welcome, "mac", bytes),
                   _mac(me.secret, "removed", me.cluster_id, me.node_id, peer_id, nd, na))
        raise Removed(f"member {peer_id:x} says this member was removed from the cluster")
    if _field(welcome, "ok", bool) is not True:
        raise PeerError("peer did not welcome us")
    return channel_for(me.secret, _transcript(me.cluster_id, me.node_id, peer_id), nd, na)


async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 me: Identity, tls_verified: bool = False,
                 removed: frozenset[int] = frozenset()) -> tuple[int, Channel]:
    """Run the acceptor's side; return the authenticated peer's node id and the channel
    its frames arrive on.  ``tls_verified``: TLS checked the dialer's certificate;
    ``removed``: ids removed from the cluster, told so and refused once authenticated."""
    hello = await _recv(reader)
    if _field(hello, "proto", str) != PROTOCOL:
        raise PeerError(f"unknown peer protocol {hello['proto']!r}")
    try:
        if _field(hello, "cluster", int) != me.cluster_id:
            raise PeerError(f"peer belongs to cluster {hello['cluster']:x}, not ours")
        if _field(hello, "to", int) != me.node_id:
            raise PeerError(f"peer dialed node {hello['to']:x}, we are {me.node_id:x}")
        if me.secret is None and not tls_verified and not me.insecure:
            raise PeerError("peer is not authenticated (no secret, no verified certificate)")
    except PeerError as exc:
        await _send(writer, {"error": str(exc)})
        raise
    dialer, nd = _field(hello, "node", int), _field(hello, "nonce", bytes)
    na = os.urandom(NONCE_BYTES)
    mac = _mac(me.secret, "accept", me.cluster_id, dialer, me.node_id, nd, na)
    await _send(writer, {"node": me.node_id, "nonce": na, "mac": mac})
    want = _mac(me.secret, "dial", me.cluster_id, dialer, me.node_id, nd, na)
    _check_mac(_field(await _recv(reader), "mac", bytes), want)
    if dialer in removed:
        told = _mac(me.secret, "removed", me.cluster_id, dialer, me.node_id, nd, na)
        await _send(writer, {"removed": True, "mac": told})
        raise PeerError(f"member {dialer:x} was removed from the cluster; told it so")
    await _send(writer, {"ok": True})
    return int(dialer), channel_for(me.secret, _transcript(me.cluster_id, dialer, me.node_id),
                                    nd, na)


def is_loopback(peername: Any) -> bool:
    """True when a socket peer name (or a bare host string) is a loopback address."""
    host = peername[0] if isinstance(peername, tuple) else peername
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def check_insecure_peers(hosts: list[str]) -> list[str]:
    """The hosts among ``hosts`` that are not loopback (unauthenticated links to them
    cross a network: the caller warns about each)."""
    return [host for host in hosts if not is_loopback(host)]

