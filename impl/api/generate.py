"""Regenerate the Python modules of etcd's API from ``kv.proto``, ``auth.proto`` and ``rpc.proto``.

The generated ``*_pb2.py``, ``*_pb2.pyi`` and ``rpc_pb2_grpc.py`` are committed so that
users need only ``grpcio`` and ``protobuf``; this script (which needs ``grpcio-tools``)
rebuilds them, and ``tests/impl/api/test_generated.py`` checks that the committed files
are what it produces.  The protos are compiled as ``quorum/impl/api/*.proto`` (their import
path), so the generated modules import each other as ``quorum.impl.api.*``.
Run from anywhere: ``python -m quorum.impl.api.generate``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["GENERATED", "HERE", "PACKAGE", "PROTOS", "SERVICES", "generate", "main"]

HERE = Path(__file__).resolve().parent  # the folder holding the protos and generated modules
PACKAGE = Path("quorum/impl/api")  # the protos' import path, so the modules' import path
PROTOS = ("kv.proto", "auth.proto", "rpc.proto")
SERVICES = "rpc.proto"  # the only file that declares services
GENERATED = ("kv_pb2.py", "kv_pb2.pyi", "auth_pb2.py", "auth_pb2.pyi", "rpc_pb2.py", "rpc_pb2.pyi", "rpc_pb2_grpc.py")


def generate(out_dir: Path) -> Path:
    """Write the generated modules under ``out_dir/quorum/impl/api/`` and return that folder.

    Raises ``RuntimeError`` on protoc errors."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        (src / PACKAGE).mkdir(parents=True)
        for proto in PROTOS:
            shutil.copy(HERE / proto, src / PACKAGE / proto)
        out_dir.mkdir(parents=True, exist_ok=True)
        common = ["protoc", f"-I{src}", f"-I{include}"]
        names = [str(PACKAGE / p) for p in PROTOS]
        messages = [*common, f"--python_out={out_dir}", f"--pyi_out={out_dir}", *names]
        services = [*common, f"--grpc_python_out={out_dir}", str(PACKAGE / SERVICES)]
        for args in (messages, services):
            if protoc.main(args) != 0:
                raise RuntimeError("protoc failed: " + " ".join(args[3:]))
    return out_dir / PACKAGE


def main() -> None:
    """Regenerate the committed modules in place (or under ``argv[1]`` when given)."""
    if len(sys.argv) > 1:
        generate(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        for name in GENERATED:
            shutil.copy(fresh / name, HERE / name)


if __name__ == "__main__":
    main()
