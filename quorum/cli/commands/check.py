"""`quorum check SPEC ...`: exhaustive (or simulated) model checking of a spec.

Each spec's parameters become flags of its own sub-parser, so `quorum check paxos
--help` lists exactly what Paxos takes.  Output is deterministic; timings go to stderr
(human output) or under their own keys (``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_INCOMPLETE, EXIT_OK, EXIT_VIOLATION, UsageError
from quorum.cli.specs import SPECS, load
from quorum.spec.common import Param, SpecInfo

__all__ = ["add_parser", "check_mutant", "check_output_paths", "exit_code", "run",
           "spec_values"]


def _add_param(p: argparse.ArgumentParser, param: Param) -> None:
    dest = param.name
    if param.type is bool:
        p.add_argument(param.flag, dest=dest, action=argparse.BooleanOptionalAction,
                       default=None, help=f"{param.help} (default: {param.default})")
    else:
        p.add_argument(param.flag, dest=dest, type=param.type, default=None,
                       choices=param.choices, metavar=None if param.choices else "N"
                       if param.type is int else "TEXT",
                       help=f"{param.help} (default: {param.default!r})")


def _add_common(p: argparse.ArgumentParser, info: SpecInfo) -> None:
    p.add_argument("--symmetry", action=argparse.BooleanOptionalAction, default=None,
                   help="symmetry reduction (exact orbits); off unless a mutant's defaults "
                        "turn it on")
    p.add_argument("--mutant", choices=sorted(info.mutants) or None, default=None,
                   help="check a known-bug variant (its default bounds apply unless given)")
    p.add_argument("--invariant", action="append", dest="properties", metavar="NAME",
                   help="check only this property (repeatable)")
    p.add_argument("--check-deadlock", action="store_true",
                   help="report a state with no enabled action as a violation")
    p.add_argument("--max-states", type=int, default=None, metavar="N",
                   help="stop after N distinct states (the result is then incomplete)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes for the exhaustive search (default: all cores; with "
                        "--ray, Ray workers, default 2); under --engine auto, giving it runs "
                        "the objects engine")
    p.add_argument("--ray", default=None, metavar="ADDRESS|local",
                   help="distribute the breadth-first search over the Ray cluster whose head "
                        "is at ADDRESS (HOST:PORT, or auto), or over a local one started for "
                        "this check (local); needs pip install 'quorum-check[ray]'")
    p.add_argument("--store", choices=("fingerprint", "exact"), default="fingerprint",
                   help="seen states as 64-bit fingerprints, 16 bytes each (default), or "
                        "exact identities in a dict (one process)")
    p.add_argument("--engine", choices=("auto", "vector", "objects"), default="auto",
                   help="how the in-memory search computes: vector = whole slices of a BFS "
                        "level at once with array operations, over the spec's batch encoding "
                        "(Raft); objects = one state at a time, on --workers "
                        "processes; auto (default) = vector where the spec has a batch "
                        "encoding and no --workers, --store exact, --checkpoint or --ray is "
                        "asked for")
    p.add_argument("--liveness", action="store_true",
                   help="check the spec's liveness properties (eventually / always "
                        "eventually) under its weak fairness, on the whole state graph")
    p.add_argument("--no-fairness", action="store_true",
                   help="with --liveness: drop the spec's fairness conditions")
    p.add_argument("--simulate", action="store_true",
                   help="seeded simulation (see --strategy), not BFS: finds bugs, proves nothing")
    p.add_argument("--strategy", choices=("walk", "explore"), default=None,
                   help="simulation: uniform random walks (walk, the default) or Go-Explore "
                        "guided by the spec's cells and action weights (explore)")
    p.add_argument("--exhaustive", action="store_true",
                   help="breadth-first search even for a mutant whose default is simulation")
    p.add_argument("--depth", type=int, default=None, help="simulation: the longest trace, in states")
    p.add_argument("--runs", type=int, default=None, help="simulation: number of runs (walks, or returns to a cell)")
    p.add_argument("--seed", type=int, default=None, help="simulation: random seed")
    p.add_argument("--proof-fields", action="store_true",
                   help="printed traces: also show fields that only proofs read (raft.tla's "
                        "mlog); --json and --itf always have them")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--itf", type=Path, default=None, metavar="FILE",
                   help="write a counterexample as ITF JSON (Apalache/Quint trace format)")
    p.add_argument("--chart", type=Path, default=None, metavar="FILE",
                   help="write a counterexample's message-sequence chart as SVG")
    p.add_argument("--quiet", action="store_true", help="no progress reports")
    p.add_argument("--progress-interval", type=float, default=None, metavar="SECONDS",
                   help="seconds between progress reports on stderr (default: 0.25 for the "
                        "live line on a terminal, 5 otherwise); with --json they are JSON "
                        "objects, one per line")
    p.add_argument("--disk", type=Path, default=None, metavar="DIR",
                   help="breadth-first search with its fingerprints, parent links and "
                        "frontier in DIR (empty or new), in bounded memory; one process; on the "
                        "vector engine where the spec has a batch encoding (see --engine)")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="DIR",
                   help="as --disk, and write a checkpoint in DIR every "
                        "--checkpoint-interval seconds; if DIR holds a checkpoint of the "
                        "same check, resume from it")
    p.add_argument("--checkpoint-interval", type=float, default=None, metavar="SECONDS",
                   help="with --checkpoint: seconds between checkpoints (default: 60; 0: "
                        "after every batch of states)")
    p.add_argument("--disk-buffer", type=int, default=None, metavar="N",
                   help="with --disk or --checkpoint: fingerprints held in memory before "
                        "they are written to disk as a sorted run (default: 4,194,304, "
                        "64 MiB)")


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="model-check a spec", description=__doc__.split("\n\n")[0])
    specs = p.add_subparsers(dest="spec", metavar="SPEC", parser_class=type(p))
    specs.required = True
    for spec_name in SPECS:
        info = load(spec_name)
        sp = specs.add_parser(spec_name, help=info.doc, description=info.doc)
        for param in info.params:
            _add_param(sp, param)
        _add_common(sp, info)
    p.set_defaults(run=run)


def check_mutant(info: SpecInfo, mutant: str | None) -> None:
    """A one-line error for a mutant the spec does not have (argparse cannot refuse it
    when the spec has no mutants at all)."""
    if mutant is not None and mutant not in info.mutants:
        known = ", ".join(sorted(info.mutants)) or "none"
        raise UsageError(f"{info.name} has no mutant {mutant!r} (its mutants: {known})")


def check_output_paths(*paths: tuple[str, Path | None]) -> None:
    """Refuse, before any search, an output file that could not be written afterwards.

    Every output flag of every command goes through here (pairs of flag and path; None
    when the flag was not given), so a long search never ends in a traceback that loses
    its counterexample.  The file itself is not created: a run that finds nothing leaves
    no file behind.
    """
    import os

    for flag, path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise UsageError(f"{flag} {path}: is a directory")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"{flag} {path}: directory {parent} does not exist")
        if path.exists() and not os.access(path, os.W_OK):
            raise UsageError(f"{flag} {path}: file is not writable")
        if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"{flag} {path}: directory {parent} is not writable")


def write_output(flag: str, path: Path, text: str) -> bool:
    """Write an output file after the search; a failure (the disk filled up, the directory
    went away) is one line on stderr, and the caller still prints its result."""
    try:
        path.write_text(text)
    except OSError as exc:
        print(f"quorum: error: {flag} {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def exit_code(result: Any) -> int:
    """1 for a violation; 0 only for a complete search; 4 for a bounded one that found
    nothing (a state limit, or a simulation)."""
    if not result.ok:
        return EXIT_VIOLATION
    return EXIT_OK if verdict(result) == "ok" else EXIT_INCOMPLETE


def verdict(result: Any) -> str:
    """``violation``, ``ok`` (every property holds in the whole bounded model) or
    ``incomplete`` (nothing found, nothing proved)."""
    if not result.ok:
        return "violation"
    if result.mode == "simulation" or not result.complete:
        return "incomplete"
    return "ok"


def _combinations(args: argparse.Namespace) -> None:
    """Flags that mean nothing together are refused rather than silently ignored."""
    if args.liveness and args.simulate:
        raise UsageError("--liveness needs the whole state graph; it cannot be checked "
                         "by --simulate")
    if args.simulate and args.exhaustive:
        raise UsageError("--simulate and --exhaustive exclude each other")
    if args.no_fairness and not args.liveness:
        raise UsageError("--no-fairness only applies to --liveness")
    if args.liveness and args.check_deadlock:
        raise UsageError("--check-deadlock is a safety check; drop it with --liveness")
    if args.disk is not None and args.checkpoint is not None:
        raise UsageError("--checkpoint already keeps the search on disk in its directory; "
                         "drop --disk")
    on_disk = args.disk is not None or args.checkpoint is not None
    flag = "--disk" if args.disk is not None else "--checkpoint"
    if args.ray is not None:
        other = (flag if on_disk else "--liveness" if args.liveness else "--simulate"
                 if args.simulate else "--store exact" if args.store == "exact" else None)
        if other is not None:
            raise UsageError(f"--ray distributes the in-memory breadth-first search over "
                             f"fingerprints; it cannot be used with {other}")
    if on_disk and (args.liveness or args.simulate):
        raise UsageError(f"{flag} is for the breadth-first search; it cannot be used with "
                         f"{'--liveness' if args.liveness else '--simulate'}")
    if on_disk and args.store == "exact":
        raise UsageError(f"{flag} stores fingerprints; drop --store exact")
    if on_disk and args.workers not in (None, 1):
        raise UsageError(f"{flag} runs in one process; drop --workers")
    if args.engine == "vector":
        if args.checkpoint is not None:
            raise UsageError("--engine vector writes no checkpoints: use --disk DIR (its "
                             "search on disk, without them) or --engine objects")
        other = ("--ray" if args.ray is not None else "--liveness" if args.liveness
                 else "--simulate" if args.simulate else "--store exact"
                 if args.store == "exact" else None)
        if other is not None:
            raise UsageError(f"--engine vector is the breadth-first search over "
                             f"fingerprints; it cannot be used with {other}")
    if args.checkpoint_interval is not None and args.checkpoint is None:
        raise UsageError("--checkpoint-interval needs --checkpoint DIR")
    if args.disk_buffer is not None and not on_disk:
        raise UsageError("--disk-buffer needs --disk DIR or --checkpoint DIR")


def spec_values(info: SpecInfo, args: argparse.Namespace) -> dict[str, Any]:
    """Defaults (the mutant's, when one is given) overridden by the flags given."""
    check_mutant(info, args.mutant)
    values = info.defaults(args.mutant)
    for param in info.params:
        given = getattr(args, param.name, None)
        if given is not None:
            values[param.name] = given
    return values


def _positive(args: argparse.Namespace) -> None:
    import math

    for flag in ("depth", "runs", "max_states", "workers", "disk_buffer"):
        x = getattr(args, flag)
        if x is not None and x < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {x}")
    for flag in ("progress_interval", "checkpoint_interval"):
        y = getattr(args, flag)
        if y is not None and not (math.isfinite(y) and y >= 0):
            raise UsageError(f"--{flag.replace('_', '-')} must be a number of seconds, 0 "
                             f"or more, got {y}")


def run(args: argparse.Namespace) -> int:
    from quorum.model_checker.errors import CheckError
    from quorum.spec.common import ConfigError

    info = load(args.spec)
    _positive(args)
    check_mutant(info, args.mutant)
    _combinations(args)
    if args.strategy is not None and not _simulating(info, args):
        raise UsageError("--strategy chooses how to simulate; add --simulate")
    for flag in ("depth", "runs", "seed"):
        if getattr(args, flag) is not None and not _simulating(info, args):
            raise UsageError(f"--{flag} is a simulation flag; add --simulate")
    if args.ray is not None and _simulating(info, args):  # the mutant's default mode
        raise UsageError(f"--ray: mutant {args.mutant} is checked by simulation; add "
                         f"--exhaustive")
    if args.ray is not None:
        from quorum.model_checker.explicit.distributed import ray_available

        if not ray_available():
            raise UsageError("--ray needs Ray: pip install 'quorum-check[ray]'")
    if _simulating(info, args) and args.max_states is not None:
        raise UsageError("--max-states bounds a breadth-first search; a simulation is "
                         "bounded by --runs and --depth")
    check_output_paths(("--itf", args.itf), ("--chart", args.chart))
    values = spec_values(info, args)
    try:
        model = info.build(values, args.mutant, _symmetry(info, args))
        if args.chart is not None:
            from quorum.model_checker.chart import can_chart

            if not can_chart(model):
                raise UsageError(f"--chart: {model.name} has no sequence-chart hooks "
                                 f"(paxos and raft have them)")
        result = _run_check(model, info, values, args)
    except (ConfigError, CheckError) as exc:
        raise UsageError(str(exc)) from None
    _report(model, result, values, args)
    return exit_code(result)


def _symmetry(info: SpecInfo, args: argparse.Namespace) -> bool:
    """``--symmetry``/``--no-symmetry`` when given, else the mutant's default (never with
    ``--liveness``, which refuses symmetry)."""
    if args.symmetry is not None:
        return bool(args.symmetry)
    return bool(args.mutant and info.mutants[args.mutant].symmetry and not args.liveness)


def _simulating(info: SpecInfo, args: argparse.Namespace) -> bool:
    if args.simulate:
        return True
    return bool(args.mutant and info.mutants[args.mutant].mode == "simulation"
                and not args.exhaustive)


def _run_check(model: Any, info: SpecInfo, values: Mapping[str, Any],
               args: argparse.Namespace) -> Any:
    from quorum.model_checker.progress import Progress

    title = f"checking {model.name}"
    mode = "off" if args.quiet else "json" if args.json else (
        "live" if sys.stderr.isatty() else "lines")
    interval = args.progress_interval
    if interval is None:
        interval = 0.25 if mode == "live" else 5.0
    with Progress(title, mode=mode, interval=interval) as progress:
        if _simulating(info, args):
            from quorum.model_checker.simulation.explore import explore
            from quorum.model_checker.simulation.simulate import simulate

            sim = dict(info.mutants[args.mutant].simulation) if args.mutant else {}
            depth = args.depth or sim.get("depth", 100)
            runs = args.runs or sim.get("runs", 1000)
            seed = args.seed if args.seed is not None else sim.get("seed", 0)
            search = explore if (args.strategy or sim.get("strategy")) == "explore" else simulate
            return search(model, depth=depth, runs=runs, seed=seed,
                          properties=args.properties, progress=progress)
        if args.liveness:
            from quorum.model_checker.explicit.liveness import check_liveness

            return check_liveness(model, properties=args.properties,
                                  fairness=not args.no_fairness, max_states=args.max_states)
        return _exhaustive(model, args, progress)


def _exhaustive(model: Any, args: argparse.Namespace, progress: Any) -> Any:
    """BFS with the store and the number of workers asked for."""
    common = {"properties": args.properties, "check_deadlock": args.check_deadlock,
              "max_states": args.max_states, "progress": progress}
    if args.disk is not None or args.checkpoint is not None:
        return _on_disk(model, args, progress, common,
                        _vector(model, args) if args.checkpoint is None else None)
    if args.ray is not None:
        import functools

        from quorum.cli.specs import build_model
        from quorum.model_checker.explicit.distributed import check_ray

        build = functools.partial(build_model, args.spec, spec_values(load(args.spec), args),
                                  args.mutant, model.canonicalize is not None)
        return check_ray(build, workers=args.workers or 2, address=args.ray, **common)
    if args.store == "exact":
        if args.workers not in (None, 1):
            raise UsageError("--store exact runs in one process; drop --workers or use "
                             "--store fingerprint")
        from quorum.model_checker.explicit.bfs import check

        return check(model, **common)
    batch = _vector(model, args)
    if batch is not None:
        from quorum.model_checker.explicit.vector import check_vector

        return check_vector(model, batch=batch, **common)
    from quorum.model_checker.explicit.parallel import check_fingerprints, default_workers

    return check_fingerprints(model, workers=args.workers or default_workers(), **common)


def _vector(model: Any, args: argparse.Namespace) -> Any:
    """The model's batch encoding if ``--engine`` (and the other options) pick the vector
    engine, else None."""
    from quorum.model_checker.explicit.vector import encoding_of

    if args.engine == "objects":
        return None
    if args.engine == "auto" and args.workers is not None:
        return None
    batch = encoding_of(model)
    if batch is None:
        if args.engine == "vector":
            raise UsageError(f"--engine vector: {model.name} has no batch encoding for this "
                             "configuration (Raft has one with raft.tla's own rules or a --mutant "
                             "but stale-append, without --snapshots or --membership, and "
                             "with --symmetry up to 5 servers); use --engine objects")
        return None
    if args.engine == "vector" and args.workers not in (None, 1):
        raise UsageError("--engine vector runs in one process; drop --workers")
    return batch


def _on_disk(model: Any, args: argparse.Namespace, progress: Any,
             common: dict[str, Any], batch: Any) -> Any:
    """``--disk DIR`` / ``--checkpoint DIR``: the disk-backed BFS, on the vector engine
    when ``batch`` (``--disk`` only); a checkpoint is tied to the spec, its bounds, the
    mutant and symmetry (the checker adds the properties)."""
    from quorum.model_checker.explicit.disk import DEFAULT_BUFFER, check_disk
    from quorum.model_checker.explicit.vector import check_vector

    directory = args.checkpoint if args.checkpoint is not None else args.disk
    flag = "--checkpoint" if args.checkpoint is not None else "--disk"
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{flag} {directory}: not a directory")
    if not directory.exists() and not directory.parent.is_dir():
        raise UsageError(f"{flag} {directory}: directory {directory.parent} does not exist")
    key = {"spec": args.spec, "config": spec_values(load(args.spec), args),
           "mutant": args.mutant, "symmetry": model.canonicalize is not None,
           "max_states": args.max_states}
    interval = None
    if args.checkpoint is not None:
        interval = 60.0 if args.checkpoint_interval is None else args.checkpoint_interval

    def checkpointed(fields: dict[str, Any]) -> None:
        progress.note("checkpoint", directory=str(directory), **fields)

    try:
        if batch is not None:
            return check_vector(model, batch=batch, directory=directory,
                                buffer=args.disk_buffer or DEFAULT_BUFFER, **common)
        return check_disk(model, directory, buffer=args.disk_buffer or DEFAULT_BUFFER,
                          key=key, checkpoint_interval=interval, on_checkpoint=checkpointed,
                          **common)
    except OSError as exc:
        raise UsageError(f"{flag} {directory}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        if args.checkpoint is not None:
            print(f"quorum check: the search resumes from its last checkpoint in {directory} "
                  "when this command is run again", file=sys.stderr)
        raise


def _report(model: Any, result: Any, values: Mapping[str, Any], args: argparse.Namespace) -> None:
    from quorum.model_checker.trace import result_json, to_itf

    if args.json:
        out = result_json(model, result, values)
        out = {"verdict": verdict(result), **out}
        print(json.dumps(out, indent=2))
    else:
        _print_human(model, result, values, args)
    if args.itf is not None and result.violation is not None and result.violation.trace:
        sys.stdout.flush()
        write_output("--itf", args.itf,
                     json.dumps(to_itf(model, result.violation, itf_meta(args, values)),
                                indent=2) + "\n")
    if args.chart is not None:
        _write_chart(model, result, args.chart)


def itf_meta(args: argparse.Namespace, values: Mapping[str, Any]) -> dict[str, Any]:
    """What ``quorum replay`` needs to rebuild the model, in the ITF document's ``#meta``."""
    return {"quorum": {"spec": args.spec, "config": dict(values), "mutant": args.mutant,
                       "symmetry": False}}


def _write_chart(model: Any, result: Any, path: Path) -> None:
    """``--chart FILE``: the counterexample's sequence chart (nothing to draw without one)."""
    from quorum.model_checker.chart import can_chart, chart_svg, explained_chart

    v = result.violation
    if v is None or not v.trace or not can_chart(model):  # run() refused a model without hooks
        return
    sys.stdout.flush()
    write_output("--chart", path, chart_svg(explained_chart(model, v)))


def header_values(info: SpecInfo, values: Mapping[str, Any]) -> str:
    """``name=value ...`` of the bounds and options a check ran with, as its header shows
    them: an empty string option, and a layer's parameters while the layer is off, are left
    out (``Param.shown_with``)."""
    params = {p.name: p for p in info.params}

    def shown(name: str, value: Any) -> bool:
        with_ = params[name].shown_with if name in params else None
        return value != "" and (with_ is None or bool(values.get(with_)))
    return " ".join(f"{k}={v}" for k, v in values.items() if shown(k, v))


def _print_human(model: Any, result: Any, values: Mapping[str, Any],
                 args: argparse.Namespace) -> None:
    from quorum.model_checker.trace import format_trace

    print(f"quorum check {model.name}: {header_values(load(args.spec), values)}"
          f"{' (symmetry)' if result.symmetry else ''} [{result.mode}]")
    print(f"properties: {', '.join(result.properties_checked) or '(none)'}")
    v = result.violation
    if v is None:
        _print_ok(result)
    elif v.kind == "unreached":
        print(f"Error: reachability property {v.property} holds in no reachable state.")
    elif v.kind == "liveness":
        print(f"Error: liveness property {v.property} is violated.")
        print(f"A behaviour that violates it, a lasso ({v.length} states):")
        print(format_trace(model, v.trace, args.proof_fields))
        if "stutters_in_state" in v.provenance:
            print(f"Then it stutters in state {v.provenance['stutters_in_state']} forever "
                  "(no fair action is enabled there, or none is required).")
        else:
            print(f"State {v.length} is state {v.provenance['cycle_returns_to_state']}: "
                  "the cycle repeats forever.")
    else:
        what = {"invariant": "invariant", "action-property": "action property",
                "deadlock": "deadlock check"}[v.kind]
        print(f"Error: {what} {v.property} is violated.")
        how = "a shortest" if result.mode == "exhaustive" else "a shrunk"
        print(f"{how.capitalize()} behaviour that violates it ({v.length} states):")
        print(format_trace(model, v.trace, args.proof_fields))
        _print_explanation(model, v)
        if v.provenance:
            print("found by: " + " ".join(f"{k}={x}" for k, x in v.provenance.items()))
    _print_stats(result)
    print(f"Finished in {result.seconds:.2f} s ({result.states_per_second:,.0f} distinct "
          f"states/s), peak RSS {_peak_rss_mib():,.0f} MiB.", file=sys.stderr)
    peak = result.extra.get("disk_peak_bytes")
    if peak is not None:  # --disk, --checkpoint: sizes vary with a resume, so not stdout
        resumed = result.extra.get("resumed_at_depth")
        print(f"Disk: peak {peak / 2**20:,.1f} MiB in the directory "
              f"({peak / max(result.distinct_states, 1):,.1f} bytes per distinct state: "
              f"fingerprint runs and frontier files)"
              + (f"; resumed from a checkpoint at depth {resumed}." if resumed is not None
                 else "."), file=sys.stderr)
    if result.extra.get("engine") == "ray":  # byte counts vary with the workers: not stdout
        x = result.extra
        print(f"Ray: {x['workers']} workers (started in {x['ray_startup_seconds']:.1f} s); "
              f"{x['bytes_exchanged_per_state']:,.1f} bytes per distinct state exchanged "
              f"between them, {x['bytes_via_driver_per_state']:,.1f} through the driver.",
              file=sys.stderr)


def _print_explanation(model: Any, v: Any) -> None:
    from quorum.model_checker.explain import explain, format_explanation

    text = format_explanation(explain(model, v), v.length)
    if text:
        print(text)


def _peak_rss_mib() -> float:
    """Peak resident memory of this process or of its largest worker, in MiB."""
    import resource

    return max(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def _print_ok(result: Any) -> None:
    if result.mode == "simulation":
        print("No violation found by simulation. This was NOT an exhaustive search: "
              "it says nothing about behaviours that no run happened to take (exit 4).")
    elif not result.complete:
        print("No violation found before the state limit; the search is INCOMPLETE "
              "(exit 4).")
    else:
        print("Model checking completed. No error has been found.")


_STORE_KEYS = ("store", "store_bytes_per_state", "workers", "collision_probability_optimistic",
               "collision_probability_actual", "disk_peak_bytes", "resumed_at_depth",
               "engine", "ray_startup_seconds", "bytes_exchanged", "bytes_exchanged_per_state",
               "bytes_via_driver", "bytes_via_driver_per_state", "cpu_seconds")


def _print_stats(result: Any) -> None:
    print(f"{result.generated_states:,} states generated, {result.distinct_states:,} distinct "
          f"states found, depth {result.depth}.")
    extra = dict(result.extra)
    store = {k: extra.pop(k, None) for k in _STORE_KEYS}
    if store["store_bytes_per_state"] is not None and result.ok:
        # As TLC does on success: the odds that a fingerprint collision hid a state.  Only
        # the estimate from the counts: the one from the fingerprints (in --json) moves
        # with Python's per-process string hashing, and stdout must not.
        print(f"Fingerprint store: {store['store_bytes_per_state']} bytes per distinct state; "
              f"probability of a fingerprint collision (optimistic, as TLC): "
              f"{store['collision_probability_optimistic']:.1e}.")
    for key, value in extra.items():  # e.g. a simulation's seed and runs: deterministic
        print(f"{key.replace('_', ' ')}: {value}")
    if result.coverage:
        print("coverage (action: generated / new distinct):")
        for name, c in sorted(result.coverage.items()):
            print(f"  {name}: {c.generated:,} / {c.distinct:,}")
