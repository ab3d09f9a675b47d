"""Peer transport of the runtime: length-prefixed msgpack frames over asyncio TCP or TLS
(``frame.py``, ``tls.py``), an HMAC-SHA256 challenge-response handshake
(``handshake.py``), frames sealed with ChaCha20-Poly1305 under per-connection keys
(``channel.py``), bounded send queues, capped inbound connections and reconnects
(``transport.py``).  Protocol-neutral: it moves opaque frame bodies between authenticated
node ids; the runtime encodes Raft messages into them."""

from quorum.impl.net.frame import MAX_FRAME, PeerError
from quorum.impl.net.handshake import Identity, check_insecure_peers, is_loopback
from quorum.impl.net.tls import TLSConfig, TLSConfigError
from quorum.impl.net.transport import RateLimitedLog, Transport

__all__ = ["MAX_FRAME", "Identity", "PeerError", "RateLimitedLog", "TLSConfig",
           "TLSConfigError", "Transport", "check_insecure_peers", "is_loopback"]
