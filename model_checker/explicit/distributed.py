"""The fingerprint BFS of :mod:`~quorum.model_checker.explicit.parallel` on a Ray cluster
(``quorum check ... --ray ADDRESS|local``).

Theory of operation.  The search, its rounds and its answers are parallel.py's: each of
the N workers is a Ray actor wrapping a ``_Worker``; it owns the fingerprints
``fp % N == w`` and holds the frontier states it accepted.  The driver runs parallel.py's
``_Coordinator`` unchanged over :class:`_RayPool`, which keeps the pools' ``call_all``
contract, so the counts, the depth, the verdict and the shortest counterexample are the
sequential search's.  What differs is where the numbers travel: an actor's ``expand``
puts each owner's batch (fingerprints, positions, parent fingerprints) in Ray's object
store and hands the driver only the references; the owner's ``decide`` fetches the
batches from the object store, worker to worker, and puts its answers (one mask per
sender) there too, which the senders' ``accept`` fetch.  The driver sees references, the
events, the counts, and once per level the positions of the new level (parallel.py's
level boundary).  The actors count the bytes they send each other.

Models are not pickled (the specs compile closures): each actor builds its own from
``build``, a picklable function of no arguments (``quorum check`` passes the spec's name,
bounds, mutant and symmetry).  Fingerprints are Python hashes, so every actor must hash a
state alike: the actors run with one ``PYTHONHASHSEED``, and before the search they
compare the fingerprints of the initial states and their successors; the counterexample
is rebuilt by actor 0 from the fingerprints of its path, never by hashing in the driver.

Ray is optional (``pip install 'quorum-check[ray]'``): this module imports it only when a
search starts.  Start a cluster with ``ray start --head`` (see docs/checker.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from quorum.model_checker import gcpause
from quorum.model_checker.errors import CheckError
from quorum.model_checker.explicit.bfs import Properties
from quorum.model_checker.explicit.fpset import MASK64
from quorum.model_checker.explicit.parallel import (
    FORK_AT,
    Event,
    _Coordinator,
    _path,
    _result,
    _violation,
    _Worker,
)
from quorum.model_checker.explicit.replay import identity_function
from quorum.model_checker.model import Model
from quorum.model_checker.progress import ProgressFn
from quorum.model_checker.result import Result, Violation

__all__ = ["check_ray", "connect", "ray_available"]

HASH_SEED = "0"  # PYTHONHASHSEED of every actor: strings hash alike in all of them
PROBE = 256  # fingerprints compared across the actors before the search
OBJECT_STORE = 256 << 20  # bytes of object store for a local cluster (batches are small)


def ray_available() -> bool:
    """Whether Ray can be imported (the ``ray`` extra is installed)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise CheckError("the Ray engine needs Ray: pip install 'quorum-check[ray]'") from None
    return ray


def connect(address: str, workers: int) -> bool:
    """Join the Ray cluster at ``address`` (``HOST:PORT`` of its head, or ``auto``), or
    start a local one of ``workers`` CPUs for ``local``.  Returns whether this call
    started the connection (then the caller shuts it down); an already connected driver
    is kept as it is.  An unreachable address is a :class:`CheckError`."""
    ray = _ray()
    if address not in ("local", "auto"):
        _reachable(address)
    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                             "logging_level": logging.ERROR, "configure_logging": True}
    if address == "local":  # its processes inherit the seed: no runtime_env to set up
        saved = os.environ.get("PYTHONHASHSEED")
        os.environ["PYTHONHASHSEED"] = HASH_SEED
        try:
            ray.init(address="local", num_cpus=workers, object_store_memory=OBJECT_STORE,
                     **quiet)
        except Exception as exc:  # no shared memory, no free ports, ...
            raise CheckError(f"--ray local: cannot start a Ray cluster ({_cause(exc)})"
                             ) from None
        finally:
            if saved is None:
                del os.environ["PYTHONHASHSEED"]
            else:
                os.environ["PYTHONHASHSEED"] = saved
        return True
    with tempfile.TemporaryFile() as said, _stderr_to(said):
        try:
            ray.init(address=address, **quiet)
            return True
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
            failure = _cause(exc)
        said.seek(0)
        log = said.read().decode(errors="replace")
    hint = ""
    if "Unauthenticated" in log or "InvalidAuthToken" in log:
        hint = ("; the cluster wants its authentication token: set RAY_AUTH_MODE=token, and "
                "the token in ~/.ray/auth_token or RAY_AUTH_TOKEN")
    raise CheckError(f"--ray {address}: cannot join the Ray cluster ({failure}){hint}")


@contextlib.contextmanager
def _stderr_to(file: Any) -> Iterator[None]:
    """Standard error (the file descriptor: Ray's C++ core writes there, a warning a
    second while it retries) into ``file`` while joining a cluster."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _reachable(address: str) -> None:
    """A clear error, in seconds, for an address that is malformed or answers nothing."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CheckError(f"--ray {address}: expected HOST:PORT of the cluster's head "
                         "(as `ray start --head` prints it), auto, or local")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise CheckError(f"--ray {address}: cannot reach a Ray cluster there "
                         f"({exc.strerror or exc})") from None


def _cause(exc: BaseException) -> str:
    """The last line of an error raised in an actor (Ray wraps it in its traceback)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", x).strip() for x in str(exc).splitlines()]
    lines = [x for x in lines if x]
    return lines[-1] if lines else type(exc).__name__


class _Parents:
    """The parent links of one path, as a pool answering ``parent`` (actor 0 rebuilds the
    counterexample from the fingerprints the driver collected)."""

    def __init__(self, links: dict[int, int]) -> None:
        self.links = links

    def call_all(self, method: str, args: list[tuple]) -> list[Any]:
        assert method == "parent"
        return [self.links.get(a[0]) if a[0] else None for a in args]

    def close(self) -> None:
        pass


class _Actor:
    """One Ray actor: a ``_Worker`` on a model of its own; batches and masks go to the
    other actors through the object store."""

    def __init__(self, build: Callable[[], Model], properties: list[str] | None, wid: int,
                 n: int, check_deadlock: bool) -> None:
        self.model = build()
        self.props = Properties(self.model, properties)
        self.worker = _Worker(self.model, self.props, wid, n, check_deadlock)
        self.wid, self.n = wid, n
        self.sent = 0  # bytes put in the object store for the other actors
        self.cpu = time.process_time()  # this process may have served other actors before

    def probe(self) -> tuple[str | None, list[int]]:
        """This process's hash seed and the fingerprints of the first states of a BFS, to
        compare across the actors."""
        ident = identity_function(self.model)
        states = list(self.model.initial_states())
        out: list[int] = []
        for s in states:
            if len(out) >= PROBE:
                break
            out.append(hash(ident(s) if ident else s) & MASK64)
            for _label, t in self.model.successors(s):
                if t is not None and len(out) < PROBE:
                    out.append(hash(ident(t) if ident else t) & MASK64)
        return os.environ.get("PYTHONHASHSEED"), out

    def call(self, method: str, args: tuple) -> Any:
        import ray

        worker = self.worker
        if method == "expand":
            batches, event, generated = worker.expand(*args)
            refs = []
            for owner, batch in enumerate(batches):
                if owner != self.wid:
                    self.sent += sum(a.nbytes for a in batch)
                refs.append(ray.put(batch))
            return refs, event, generated
        if method == "decide":
            masks = worker.decide(ray.get(list(args[0])))
            self.sent += sum(m.nbytes for w, m in enumerate(masks) if w != self.wid)
            return [ray.put(m) for m in masks]
        if method == "accept":
            return worker.accept(ray.get(list(args[0])), args[1])
        if method == "stats":
            return {**worker.stats(), "sent_bytes": self.sent,
                    "cpu_seconds": time.process_time() - self.cpu}
        return getattr(worker, method)(*args)

    def violation(self, event: Event, links: dict[int, int]) -> Violation:
        return _violation(self.model, self.props, _Parents(links), self.n, event)


class _RayPool:
    """The actors behind parallel.py's ``call_all`` contract; counts the bytes of the
    level boundaries, which pass through the driver."""

    def __init__(self, actors: list[Any]) -> None:
        self.actors = actors
        self.via_driver = 0

    def call_all(self, method: str, args: list[tuple]) -> list[Any]:
        ray = _ray()
        out = ray.get([a.call.remote(method, x)
                       for a, x in zip(self.actors, args, strict=True)])
        if method == "end_level":
            self.via_driver += sum(p.nbytes for p in out)
        elif method == "start_level":
            self.via_driver += sum(x[0].nbytes for x in args)
        return list(out)

    def close(self) -> None:
        _kill(self.actors)


def _start_actors(build: Callable[[], Model], properties: list[str] | None, n: int,
                  check_deadlock: bool) -> list[Any]:
    """The N actors, each with the model built and the hash seed checked: on the
    cluster's workers as they are when they have the seed (a local cluster started by
    :func:`connect`, a cluster started with ``PYTHONHASHSEED=0``: Ray reuses its idle
    worker processes), else on new ones started with it (a ``runtime_env``, which costs
    seconds)."""
    ray = _ray()
    cpus = ray.cluster_resources().get("CPU", 0)  # in all; busy ones are waited for
    if cpus < n:
        raise CheckError(f"the Ray cluster has {cpus:g} CPUs; {n} workers need one each "
                         f"(add nodes, or ask for fewer with --workers)")
    for options in ({}, {"runtime_env": {"env_vars": {"PYTHONHASHSEED": HASH_SEED}}}):
        cls = ray.remote(num_cpus=1, **options)(_Actor)
        actors = [cls.remote(build, properties, w, n, check_deadlock) for w in range(n)]
        try:
            probes = ray.get([a.probe.remote() for a in actors])
        except Exception as exc:
            _kill(actors)
            raise CheckError(f"the Ray workers could not build the model ({_cause(exc)})"
                             ) from None
        if all(seed == HASH_SEED for seed, _ in probes):
            break
        _kill(actors)
    if any(fps != probes[0][1] for _, fps in probes):
        _kill(actors)
        raise CheckError("the model's states hash differently in the Ray workers' "
                         "processes (a state holding an object hashed by identity?); "
                         "the Ray engine needs fingerprints that agree across processes")
    return actors


def _kill(actors: list[Any]) -> None:
    ray = _ray()
    for a in actors:
        ray.kill(a)


def check_ray(build: Callable[[], Model], *, properties: Iterable[str] | None = None,
              check_deadlock: bool = False, max_states: int | None = None,
              progress: ProgressFn | None = None, workers: int = 2,
              address: str = "local") -> Result:
    """Exhaustive fingerprint BFS over ``workers`` Ray actors; the same verdict, counts,
    depth and counterexample as :func:`parallel.check_fingerprints` and :func:`bfs.check`.

    ``build`` makes the model (in the driver and in each actor: it must pickle, as a
    module-level function or a ``functools.partial`` of one does).  ``address`` is passed
    to :func:`connect` unless Ray is already initialized in this process.  ``extra`` adds
    ``engine`` (``ray``), the bytes the actors sent each other and the bytes of the level
    boundaries through the driver, in total and per distinct state.
    """
    if workers < 1:
        raise CheckError(f"the Ray engine needs at least one worker, got {workers}")
    ray = _ray()
    model = build()
    props = Properties(model, properties)
    names = None if properties is None else list(properties)
    started = connect(address, workers)
    try:
        setup = time.perf_counter()
        pool = _RayPool(_start_actors(build, names, workers, check_deadlock))
        start, cpu = time.perf_counter(), time.process_time()
        coord = _Coordinator(pool, workers, props, max_states, progress, FORK_AT,
                             started=workers)
        try:
            violation, stats = _search(ray, pool, coord, workers)
        finally:
            pool.close()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
    finally:
        if started:
            ray.shutdown()
    if violation is None and coord.complete and coord.pending:
        violation = Violation("unreached", coord.pending[0])
    result = _result(model, props, coord, stats, violation, seconds, workers)
    exchanged = sum(st["sent_bytes"] for st in stats)
    per = max(result.distinct_states, 1)
    result.extra.update({
        "engine": "ray",
        "ray_startup_seconds": round(start - setup, 3),
        "bytes_exchanged": exchanged,
        "bytes_exchanged_per_state": round(exchanged / per, 1),
        "bytes_via_driver": pool.via_driver,
        "bytes_via_driver_per_state": round(pool.via_driver / per, 1),
        "cpu_seconds": round(cpu + sum(st["cpu_seconds"] for st in stats), 2),
    })
    return result


def _search(ray: Any, pool: _RayPool, coord: _Coordinator, workers: int
            ) -> tuple[Violation | None, list[dict[str, Any]]]:
    """Run the coordinator over the actors: the violation found (its trace rebuilt from
    the actors' parent links) or None, and each actor's statistics."""
    try:
        with gcpause.paused():
            coord.run()
    except ray.exceptions.RayError as exc:  # a worker or its node died
        raise CheckError(f"the search failed on the Ray cluster ({_cause(exc)})") from None
    violation = None
    if coord.event is not None:
        event = coord.event  # its path: numbers only; actor 0 hashes states
        path = _path(pool, workers, event[4])
        links = dict(zip(path, [0] + path[:-1], strict=True))
        violation = ray.get(pool.actors[0].violation.remote(event, links))
    return violation, pool.call_all("stats", [()] * workers)
