"""Regenerate the Python modules of etcd's API from ``kv.proto`` and ``rpc.proto``.

The generated ``*_pb2.py``, ``*_pb2.pyi`` and ``rpc_pb2_grpc.py`` are committed so that
users need only ``grpcio`` and ``protobuf``; this script (which needs ``grpcio-tools``)
rebuilds them, and ``tests/server/test_api_generated.py`` checks that the committed
files are what it produces.  Run from anywhere: ``python -m impl.api.generate``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["GENERATED", "PROTOS", "ROOT", "SERVICES", "generate"]

ROOT = Path(__file__).resolve().parents[2]  # the repository root (imports are impl/api/...)
PROTOS = ("impl/api/kv.proto", "impl/api/rpc.proto")
SERVICES = "impl/api/rpc.proto"  # the only file that declares services
GENERATED = ("kv_pb2.py", "kv_pb2.pyi", "rpc_pb2.py", "rpc_pb2.pyi", "rpc_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    """Write the generated modules under ``out_dir/impl/api/``; raise on protoc errors."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    common = ["protoc", f"-I{ROOT}", f"-I{include}"]
    messages = [*common, f"--python_out={out_dir}", f"--pyi_out={out_dir}", *PROTOS]
    services = [*common, f"--grpc_python_out={out_dir}", SERVICES]
    for args in (messages, services):
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed: " + " ".join(args[3:]))


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
