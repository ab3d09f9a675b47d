"""Progress of a long search on stderr: a live line on a terminal (rich), a plain line
every few seconds in a log, or one JSON object per line for CI (``quorum check --json``).

Every search calls its progress callback with ``(distinct, generated, depth, queued)``
now and then (the exhaustive searches after every round of a level).  :class:`Progress`
turns those calls into reports at most every ``interval`` seconds, so a short run
prints nothing and stdout stays identical from run to run.  Besides the counts, a report
gives the rate (distinct states per second since the start) and the *growth per
level*: the distinct states found so far in the level being expanded, and in the level
before it, whose ratio is the best guess a breadth-first search has of how much is left
(a ratio below 1 means the levels have started to shrink: past the middle).

Forms (``mode``): ``live`` redraws one line on a terminal (rich); ``lines`` prints::

    progress: 12.0 s, depth 9, 41,210 distinct (level 10: +9,876, level 9: +8,001), 190,331 generated, 3,104 queued, 3,434 states/s

and ``json`` prints the same as one object per line, ``{"event": "progress", ...}``,
with keys ``seconds, distinct, generated, depth, queued, states_per_second,
level_distinct, previous_level_distinct``.  :meth:`Progress.note` adds other events
(``{"event": "checkpoint", ...}``); ``off`` prints nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ["MODES", "Progress", "ProgressFn"]

#: what every search calls now and then: ``(distinct, generated, depth, queued)``
ProgressFn = Callable[[int, int, int, int], None]

MODES = ("live", "lines", "json", "off")


class Progress:
    """A callback ``(distinct, generated, depth, queued)`` reporting on stderr.

    Use as a context manager.  ``mode`` is one of :data:`MODES`; ``live`` falls back to
    ``off`` when stderr is not a terminal.  The old signature ``Progress(title, enabled)``
    still means a live line or nothing.
    """

    def __init__(self, title: str, enabled: bool = True, interval: float = 0.25,
                 mode: str = "live", stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r}: not one of {', '.join(MODES)}")
        self.stream = stream if stream is not None else sys.stderr
        if not enabled or (mode == "live" and not self.stream.isatty()):
            mode = "off"
        self.mode = mode
        self.enabled = mode != "off"
        self.title, self.interval = title, interval
        self._start = self._last = time.perf_counter()
        self._live: Any = None
        self._depth = -1
        self._depth_start = 0  # distinct states when the current level began
        self._previous_level: int | None = None
        self._distinct = 0  # distinct states at the previous call

    def __enter__(self) -> Progress:
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            self._text = Text
            self._live = Live(Text(self.title), console=Console(stderr=True),
                              transient=True, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(et, ev, tb)

    def _levels(self, distinct: int, depth: int) -> tuple[int, int | None]:
        """Distinct states found in the level being expanded, and in the one before."""
        if depth != self._depth:  # the level began when the previous call was made
            known = self._depth >= 0 and depth == self._depth + 1
            self._previous_level = self._distinct - self._depth_start if known else None
            self._depth, self._depth_start = depth, self._distinct
        self._distinct = distinct
        return distinct - self._depth_start, self._previous_level

    def __call__(self, distinct: int, generated: int, depth: int, queued: int) -> None:
        if self.mode == "off":
            return
        level, previous = self._levels(distinct, depth)
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        seconds = now - self._start
        rate = distinct / max(seconds, 1e-9)
        if self.mode == "json":
            self._emit({"event": "progress", "seconds": round(seconds, 3),
                        "distinct": distinct, "generated": generated, "depth": depth,
                        "queued": queued, "states_per_second": round(rate, 1),
                        "level_distinct": level, "previous_level_distinct": previous})
            return
        growth = (f" (level {depth + 1}: +{level:,}"
                  + (f", level {depth}: +{previous:,})" if previous is not None else ")"))
        text = (f"{distinct:,} distinct{growth}, {generated:,} generated, depth {depth}, "
                f"{queued:,} queued, {rate:,.0f} states/s")
        if self.mode == "live":
            self._live.update(self._text(f"{self.title}: {text}"))
        else:
            print(f"progress: {seconds:.1f} s, {text}", file=self.stream, flush=True)

    def note(self, event: str, **fields: Any) -> None:
        """Report something else than counts (a checkpoint written, a search resumed)."""
        if self.mode == "off":
            return
        if self.mode == "json":
            self._emit({"event": event, **fields})
            return
        text = f"{event}: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int)
                                       else f"{k.replace('_', ' ')} {v}"
                                       for k, v in fields.items())
        if self.mode == "live":
            self._live.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def _emit(self, obj: dict[str, Any]) -> None:
        print(json.dumps(obj), file=self.stream, flush=True)
