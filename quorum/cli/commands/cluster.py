"""`quorum cluster up --nodes N`: a local cluster of real `quorum serve` processes.

Member ``nI`` listens for clients on ``BASE + 2(I-1)`` and for peers on the next port
(with the default base 2379: n1 at 2379/2380, n2 at 2381/2382, n3 at 2383/2384), all on
127.0.0.1, with data under ``--data-dir``.  Peers authenticate each other with a shared
secret: ``--peer-secret-file`` if given, else ``DATA_DIR/peer-secret`` (32 random bytes,
hex, mode 0600), created on the first ``up`` and reused by later ones.  The command prints
the endpoints and waits; Ctrl-C (or SIGTERM) stops every member cleanly and exits 0.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, EXIT_VIOLATION, UsageError

__all__ = ["add_parser", "member_args", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="run a local cluster of real processes on loopback")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    up = actions.add_parser("up", help="start N members and wait for Ctrl-C")
    up.add_argument("--nodes", type=int, default=3, help="number of members (1..9)")
    up.add_argument("--base-port", type=int, default=2379, help="client port of n1")
    up.add_argument("--data-dir", default="quorum-cluster", help="parent of each member's dir")
    up.add_argument("--peer-secret-file", default=None,
                    help="shared peer secret (default: DATA_DIR/peer-secret, generated once)")
    up.add_argument("--snapshot-count", type=int, default=100_000)
    up.add_argument("--frontends", type=int, default=0, metavar="N",
                    help="gRPC front-end processes per member (quorum serve --frontends)")
    up.add_argument("--protocol", default="raft", metavar="raft|multipaxos",
                    help="every member's consensus core (quorum serve --protocol)")
    up.set_defaults(run=run)


def member_args(n: int, base: int, data: Path, secret: str | None,
                snapshot_count: int, frontends: int = 0,
                protocol: str = "raft") -> list[list[str]]:
    """The `quorum serve` argument lists of members n1..nN."""
    peers = ",".join(f"n{i + 1}=http://127.0.0.1:{base + 2 * i + 1}" for i in range(n))
    out = []
    for i in range(n):
        args = ["serve", "--name", f"n{i + 1}", "--data-dir", str(data / f"n{i + 1}"),
                "--listen-client-urls", f"http://127.0.0.1:{base + 2 * i}",
                "--listen-peer-urls", f"http://127.0.0.1:{base + 2 * i + 1}",
                "--initial-cluster", peers, "--snapshot-count", str(snapshot_count)]
        if secret:
            args += ["--peer-secret-file", secret]
        if frontends:
            args += ["--frontends", str(frontends)]
        if protocol != "raft":
            args += ["--protocol", protocol]
        out.append(args)
    return out


def ensure_secret(data: Path) -> Path:
    """``data/peer-secret``, created with a fresh random secret if missing."""
    path = data / "peer-secret"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.nodes <= 9:
        raise UsageError("--nodes must be between 1 and 9")
    if not 1024 <= args.base_port <= 65535 - 2 * args.nodes:
        raise UsageError("--base-port must leave room for 2 ports per member below 65536")
    from quorum.impl.server.config import MAX_FRONTENDS

    if not 0 <= args.frontends <= MAX_FRONTENDS:
        raise UsageError(f"--frontends must be between 0 and {MAX_FRONTENDS}")
    from quorum.impl.server.cores import PROTOCOLS

    if args.protocol not in PROTOCOLS:
        raise UsageError(f"--protocol must be raft or multipaxos, got {args.protocol!r}")
    data = Path(args.data_dir)
    try:
        secret = args.peer_secret_file or str(ensure_secret(data))
    except OSError as exc:
        raise UsageError(f"--data-dir {data}: cannot create the peer secret: "
                         f"{exc.strerror}") from None
    procs: list[subprocess.Popen[bytes]] = []
    # Ctrl-C and SIGTERM only record the request: raised as KeyboardInterrupt inside
    # Popen, a signal could leave a member forked but unrecorded, never to be stopped.
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    try:
        for argv in member_args(args.nodes, args.base_port, data, secret,
                                args.snapshot_count, args.frontends, args.protocol):
            if stop:
                break
            # -P: the working directory never shadows the installed package
            procs.append(subprocess.Popen([sys.executable, "-P", "-m", "quorum", *argv],
                                          start_new_session=True))
        if not stop:
            endpoints = ",".join(f"http://127.0.0.1:{args.base_port + 2 * i}"
                                 for i in range(args.nodes))
            print(f"cluster of {args.nodes} up; endpoints: {endpoints}  (Ctrl-C stops it)",
                  flush=True)
        while not stop and all(p.poll() is None for p in procs):
            time.sleep(0.2)
        if stop:
            print("stopping the cluster", file=sys.stderr)
            return EXIT_OK
        dead = [f"n{i + 1}" for i, p in enumerate(procs) if p.poll() is not None]
        print(f"member(s) {', '.join(dead)} exited; stopping the cluster", file=sys.stderr)
        return EXIT_VIOLATION
    finally:
        _stop(procs)
