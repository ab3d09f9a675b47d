"""Peer transport of the runtime: length-prefixed msgpack frames over asyncio TCP, an
HMAC-SHA256 challenge-response handshake (``handshake.py``), bounded send queues and
reconnects (``transport.py``).  Protocol-neutral: it moves opaque frame bodies between
authenticated node ids; the runtime encodes Raft messages into them."""

from quorum.impl.net.frame import MAX_FRAME, PeerError
from quorum.impl.net.handshake import Identity, check_insecure_peers, is_loopback
from quorum.impl.net.transport import Transport

__all__ = ["MAX_FRAME", "Identity", "PeerError", "Transport", "check_insecure_peers",
           "is_loopback"]
