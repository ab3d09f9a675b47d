"""`quorum kv put|get|del|txn`: a small etcd v3 gRPC client (output as etcdctl prints it).

Examples::

    quorum kv put greeting hello
    quorum kv get greeting --consistency s
    quorum kv get "" --prefix
    quorum kv txn --compare 'value(greeting) = hello' --success 'put greeting bye' \\
                  --failure 'get greeting'
    quorum kv --endpoints https://127.0.0.1:2379 --cacert ca.pem --user alice:secret get k

Any member accepts requests; ``--endpoints`` lists members to try in order (one that is
down or has no leader is skipped).  A failed request prints etcd's error and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from quorum.cli import EXIT_OK, EXIT_VIOLATION, UsageError

__all__ = ["add_parser", "parse_compare", "parse_op", "prefix_end", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="put/get/del/txn against a cluster (etcd's gRPC API)")
    p.add_argument("--endpoints", default="http://127.0.0.1:2379",
                   help="comma-separated client URLs of members to try in order")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    # TLS, as etcdctl: used for https:// endpoints
    p.add_argument("--cacert", default=None, help="CA bundle (PEM) to verify members with")
    p.add_argument("--cert", dest="cert_file", default=None,
                   help="client certificate (PEM) for --client-cert-auth")
    p.add_argument("--key", dest="key_file", default=None, help="client private key (PEM)")
    p.add_argument("--user", default=None,
                   help="NAME:PASSWORD to authenticate as, once auth is enabled")
    ops = p.add_subparsers(dest="op", metavar="OP", parser_class=type(p))
    ops.required = True
    put = ops.add_parser("put", help="store KEY=VALUE")
    put.add_argument("key")
    put.add_argument("value")
    put.add_argument("--prev-kv", action="store_true", help="also print the previous value")
    get = ops.add_parser("get", help="read KEY (or every key with the prefix KEY)")
    get.add_argument("key")
    get.add_argument("--prefix", action="store_true")
    get.add_argument("--consistency", choices=("l", "s"), default="l",
                     help="l: linearizable (through the leader), s: serializable (local)")
    get.add_argument("--limit", type=int, default=0)
    delete = ops.add_parser("del", help="delete KEY (or every key with the prefix KEY)")
    delete.add_argument("key")
    delete.add_argument("--prefix", action="store_true")
    txn = ops.add_parser("txn", help="compare-and-do: --compare ... --success ... --failure ...")
    txn.add_argument("--compare", action="append", default=[],
                     help="TARGET(KEY) OP VALUE with TARGET in value/version/create/mod "
                          "and OP in = != < >")
    txn.add_argument("--success", action="append", default=[], help="'put K V', 'get K', 'del K'")
    txn.add_argument("--failure", action="append", default=[], help="as --success")
    p.set_defaults(run=run)


def prefix_end(key: bytes) -> bytes:
    """etcd's range end for a prefix: the key with its last non-0xff byte incremented."""
    trimmed = key.rstrip(b"\xff")
    return trimmed[:-1] + bytes([trimmed[-1] + 1]) if trimmed else b"\0"


_COMPARE = re.compile(r"^\s*(value|version|create|mod)\((.*)\)\s*(=|!=|<|>)\s*(.*?)\s*$")


def parse_compare(text: str) -> Any:
    from quorum.impl.api import rpc_pb2

    m = _COMPARE.match(text)
    if m is None:
        raise UsageError(f"--compare {text!r}: expected TARGET(KEY) OP VALUE, e.g. 'mod(k) > 0'")
    target, key, op, raw = m.groups()
    c = rpc_pb2.Compare(key=key.strip("\"'").encode())
    c.result = {"=": 0, ">": 1, "<": 2, "!=": 3}[op]  # type: ignore[assignment]
    c.target = {"version": 0, "create": 1, "mod": 2, "value": 3}[target]  # type: ignore[assignment]
    value = raw.strip("\"'")
    if target == "value":
        c.value = value.encode()
    else:
        try:
            setattr(c, {"version": "version", "create": "create_revision",
                        "mod": "mod_revision"}[target], int(value))
        except ValueError:
            raise UsageError(f"--compare {text!r}: {target} compares with an integer") from None
    return c


def parse_op(text: str) -> Any:
    from quorum.impl.api import rpc_pb2

    words = text.split()
    if len(words) == 3 and words[0] == "put":
        return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
            key=words[1].encode(), value=words[2].encode()))
    if len(words) == 2 and words[0] == "get":
        return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=words[1].encode()))
    if len(words) == 2 and words[0] == "del":
        return rpc_pb2.RequestOp(
            request_delete_range=rpc_pb2.DeleteRangeRequest(key=words[1].encode()))
    raise UsageError(f"operation {text!r}: expected 'put KEY VALUE', 'get KEY' or 'del KEY'")


def _request(args: argparse.Namespace) -> tuple[str, Any]:
    from quorum.impl.api import rpc_pb2

    key = args.key.encode() if hasattr(args, "key") else b""
    end = prefix_end(key) if getattr(args, "prefix", False) else b""
    if args.op == "put":
        return "Put", rpc_pb2.PutRequest(key=key, value=args.value.encode(), prev_kv=args.prev_kv)
    if args.op == "get":
        return "Range", rpc_pb2.RangeRequest(key=key, range_end=end, limit=args.limit,
                                             serializable=args.consistency == "s")
    if args.op == "del":
        return "DeleteRange", rpc_pb2.DeleteRangeRequest(key=key, range_end=end)
    return "Txn", rpc_pb2.TxnRequest(compare=[parse_compare(c) for c in args.compare],
                                     success=[parse_op(o) for o in args.success],
                                     failure=[parse_op(o) for o in args.failure])


def _print_kvs(kvs: Any) -> None:
    for kv in kvs:
        print(kv.key.decode(errors="replace"))
        print(kv.value.decode(errors="replace"))


def _print(op: str, resp: Any) -> None:
    if op == "Put":
        print("OK")
        if resp.HasField("prev_kv"):
            _print_kvs([resp.prev_kv])
    elif op == "Range":
        _print_kvs(resp.kvs)
    elif op == "DeleteRange":
        print(resp.deleted)
    else:
        print("SUCCESS" if resp.succeeded else "FAILURE")
        for r in resp.responses:
            which = r.WhichOneof("response")
            print()
            _print({"response_put": "Put", "response_range": "Range",
                    "response_delete_range": "DeleteRange"}.get(which or "", "Txn"),
                   getattr(r, which or "response_txn"))


def _may_retry(method: str, exc: Any) -> bool:
    """Try the next endpoint only when this one surely did nothing (a write that timed
    out may still be applied: retrying it elsewhere could apply it twice)."""
    import grpc

    if exc.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    return method == "Range" or "timed out" not in (exc.details() or "")


def run(args: argparse.Namespace) -> int:
    import grpc

    from quorum.impl.api import rpc_pb2_grpc
    from quorum.impl.server.config import ServerConfigError, parse_url, parse_urls

    if not (args.timeout > 0 and args.timeout < 1e6):  # also refuses nan and inf
        raise UsageError(f"--timeout must be a number of seconds above 0 (and below a "
                         f"million), got {args.timeout}")
    try:
        urls = parse_urls(args.endpoints, "--endpoints")
        endpoints = [(url, *parse_url(url)) for url in urls]
    except ServerConfigError as exc:
        raise UsageError(str(exc)) from None
    credentials = _credentials(args)
    user = _user(args)
    method, request = _request(args)
    last: grpc.RpcError | None = None
    for url, host, port in endpoints:
        with _channel(url, f"{host}:{port}", credentials) as channel:
            try:
                metadata = _authenticate(channel, user, args.timeout)
                resp = getattr(rpc_pb2_grpc.KVStub(channel), method)(
                    request, timeout=args.timeout, metadata=metadata)
            except grpc.RpcError as exc:
                last = exc
                if _may_retry(method, exc):
                    continue
                break
        _print(method, resp)
        return EXIT_OK
    assert last is not None
    print(f"quorum kv: error: {last.details()} ({last.code().name})", file=sys.stderr)
    return EXIT_VIOLATION


def _credentials(args: argparse.Namespace) -> Any:
    """Channel credentials from --cacert/--cert/--key (None: none given)."""
    import grpc

    if args.cacert is None and args.cert_file is None and args.key_file is None:
        return None
    if (args.cert_file is None) != (args.key_file is None):
        raise UsageError("--cert and --key must be given together")
    data = {}
    for flag, path in (("--cacert", args.cacert), ("--cert", args.cert_file),
                       ("--key", args.key_file)):
        if path is not None:
            try:
                with open(path, "rb") as f:
                    data[flag] = f.read()
            except OSError as exc:
                raise UsageError(f"{flag} {path}: {exc.strerror}") from None
    return grpc.ssl_channel_credentials(root_certificates=data.get("--cacert"),
                                        private_key=data.get("--key"),
                                        certificate_chain=data.get("--cert"))


def _channel(url: str, target: str, credentials: Any) -> Any:
    """A secure channel for an https:// endpoint (system CAs without --cacert), else plain."""
    import grpc

    if url.strip().lower().startswith("https://"):
        return grpc.secure_channel(target, credentials or grpc.ssl_channel_credentials())
    return grpc.insecure_channel(target)


def _user(args: argparse.Namespace) -> tuple[str, str] | None:
    if args.user is None:
        return None
    name, sep, password = args.user.partition(":")
    if not sep or not name:
        raise UsageError("--user must be NAME:PASSWORD")
    return name, password


def _authenticate(channel: Any, user: tuple[str, str] | None, timeout: float) -> Any:
    """The ``token`` metadata for ``user`` from this member (none without --user)."""
    from quorum.impl.api import rpc_pb2, rpc_pb2_grpc

    if user is None:
        return None
    import grpc

    try:
        resp = rpc_pb2_grpc.AuthStub(channel).Authenticate(
            rpc_pb2.AuthenticateRequest(name=user[0], password=user[1]), timeout=timeout)
    except grpc.RpcError as exc:
        if "authentication is not enabled" in (exc.details() or ""):
            return None  # as etcdctl: --user is harmless while auth is off
        raise
    return (("token", resp.token),)
