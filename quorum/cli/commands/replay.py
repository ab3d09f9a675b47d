"""`quorum replay FILE.itf.json`: read an ITF trace back and check it against its spec.

The spec, its bounds and its mutant come from the document's ``#meta.quorum`` (written by
``quorum check ... --itf FILE``), or from ``--spec`` and the spec's own flags for a trace
written by another tool.  The first state must be an initial state and every later state
must follow from the one before by a step of the spec's Next (compared on the file's
variables); then every invariant is evaluated again on every state.  Exit 1 when a state
is not reachable that way or an invariant fails, 0 when the trace is a behaviour of the
spec that violates nothing, 2 for a file that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from quorum.cli import EXIT_OK, EXIT_VIOLATION, UsageError
from quorum.cli.specs import SPECS, load

__all__ = ["add_parser", "run"]


def add_parser(sub: Any, name: str) -> None:
    p = sub.add_parser(name, help="check an ITF trace against its spec, step by step",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path, metavar="FILE", help="an ITF document (JSON)")
    p.add_argument("--spec", choices=list(SPECS), default=None,
                   help="the spec, when the file does not name it (#meta.quorum.spec)")
    p.add_argument("--mutant", default=None, metavar="NAME",
                   help="replay against a known-bug variant (default: the file's)")
    p.add_argument("--invariant", action="append", dest="properties", metavar="NAME",
                   help="evaluate only this invariant (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                   help="a spec parameter, when the file does not give it (repeatable), "
                        "e.g. --set servers=3")
    p.add_argument("--proof-fields", action="store_true",
                   help="the printed trace also shows fields that only proofs read "
                        "(raft.tla's mlog)")
    p.set_defaults(run=run)


def _model(doc: dict[str, Any], args: argparse.Namespace) -> tuple[Any, str, dict[str, Any]]:
    from quorum.spec.common import ConfigError

    meta = doc.get("#meta", {})
    ours = meta.get("quorum", {}) if isinstance(meta, dict) else {}
    if not isinstance(ours, dict):
        raise UsageError(f"{args.file}: #meta.quorum is not a JSON object")
    spec = args.spec or ours.get("spec")
    if spec not in SPECS:
        raise UsageError(f"{args.file}: the file names no spec of ours (#meta.quorum.spec); "
                         f"give --spec ({', '.join(SPECS)})")
    info = load(spec)
    mutant = args.mutant if args.mutant is not None else ours.get("mutant")
    if mutant is not None and mutant not in info.mutants:
        raise UsageError(f"{spec} has no mutant {mutant!r} (its mutants: "
                         f"{', '.join(sorted(info.mutants)) or 'none'})")
    values = info.defaults(mutant)
    config = ours.get("config", {})
    if not isinstance(config, dict):
        raise UsageError(f"{args.file}: #meta.quorum.config is not a JSON object")
    params = {p.name: p for p in info.params}
    for key, value in config.items():
        if key not in params:
            raise UsageError(f"{args.file}: {spec} has no parameter {key!r}")
        values[key] = value
    for item in args.set:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in params:
            raise UsageError(f"--set {item}: expected PARAM=VALUE with PARAM one of "
                             f"{', '.join(params)}")
        values[key] = _parse(params[key].type, text, item)
    try:
        return info.build(values, mutant, False), spec, values
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _parse(kind: type, text: str, item: str) -> Any:
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise UsageError(f"--set {item}: expected true or false")
        return text.lower() == "true"
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"--set {item}: not a valid {kind.__name__}") from None


def run(args: argparse.Namespace) -> int:
    from quorum.model_checker.trace import ItfError, format_trace, read_itf, replay_itf

    try:
        text = args.file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    try:
        doc = read_itf(text)
        model, spec, values = _model(doc, args)
        replay = replay_itf(model, doc, args.properties)
    except ItfError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    shown = " ".join(f"{k}={v}" for k, v in values.items() if v != "")
    n = len(doc["states"])
    print(f"quorum replay {args.file}: {spec} {shown}; {n} states, variables "
          f"{', '.join(doc['vars'])}")
    if replay.invalid is not None:
        print(f"Error: {replay.invalid}.")
        if replay.steps:
            print(f"The first {len(replay.steps)} states are a behaviour of the spec:")
            print(format_trace(model, replay.steps, args.proof_fields))
        return EXIT_VIOLATION
    print(f"Every state follows from the one before by a step of {spec}'s Next.")
    print(format_trace(model, replay.steps, args.proof_fields))
    if replay.violated is not None:
        state, name = replay.violated
        print(f"Error: invariant {name} is violated in state {state}.")
        return EXIT_VIOLATION
    print("No invariant is violated along the trace.", file=sys.stdout)
    return EXIT_OK
