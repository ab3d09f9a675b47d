"""Live progress of a search on a terminal (rich), silent when not a TTY or when quiet."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A callback ``(distinct, generated, depth, queued)`` that redraws a status line.

    Use as a context manager; it draws on stderr only when stderr is a terminal, so
    that piped output stays identical from run to run.
    """

    def __init__(self, title: str, enabled: bool = True, interval: float = 0.25) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.title, self.interval = title, interval
        self._start = self._last = time.perf_counter()
        self._live: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
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

    def __call__(self, distinct: int, generated: int, depth: int, queued: int) -> None:
        if self._live is None:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        rate = distinct / max(now - self._start, 1e-9)
        self._live.update(self._text(
            f"{self.title}: {distinct:,} distinct, {generated:,} generated, depth {depth}, "
            f"{queued:,} queued, {rate:,.0f} states/s"))
