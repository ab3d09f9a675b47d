"""The node runtime and the etcd gRPC API of the replicated key-value store.

Start reading at :mod:`quorum.impl.server.node` (the asyncio driver of the Raft core), then
:mod:`quorum.impl.server.requests` (what a client request does) and :mod:`quorum.impl.server.service`
(the gRPC services).  ``docs/store.md`` explains the guarantees and the failure modes.
"""
