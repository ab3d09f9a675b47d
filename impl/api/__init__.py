"""etcd's v3 gRPC API as quorum serves it: ``kv.proto`` and ``rpc.proto`` (written from
etcd's documented API: same packages, services, messages and field numbers) and the Python
modules generated from them (``kv_pb2``, ``rpc_pb2``, ``rpc_pb2_grpc``; see ``generate.py``).
"""
