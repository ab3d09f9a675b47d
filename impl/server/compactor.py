"""Auto-compaction (etcd's ``--auto-compaction-mode`` / ``--auto-compaction-retention``) as a
pure planner: fed the clock and the store's revision, it says when to compact and to what.

* ``periodic`` with retention R seconds: keep R seconds of history.  The planner samples the
  revision every R/10 seconds; once a sample is R old, it compacts to that sample's revision
  (so at any time the last R seconds, and at most R/10 more, can still be read), as etcd's
  periodic compactor does.
* ``revision`` with retention R revisions: every :data:`REVISION_INTERVAL` seconds (etcd's
  five minutes) compact to ``revision - R`` when that moved since the last compaction.

Only the leader proposes the Compact it plans (:meth:`Requests.maintain
<quorum.impl.server.requests.Requests.maintain>`); every member keeps sampling, so a new
leader carries on where the old one stopped.  A retention of 0 turns it off.
"""

from __future__ import annotations

from collections import deque

__all__ = ["REVISION_INTERVAL", "Compactor"]

REVISION_INTERVAL = 300.0  # seconds between checks in revision mode (etcd's 5 minutes)


class Compactor:
    """Plans compactions; see the module docstring."""

    def __init__(self, mode: str, retention: float) -> None:
        if mode not in ("periodic", "revision"):
            raise ValueError(f"unknown auto-compaction mode {mode!r}")
        self.mode, self.retention = mode, retention
        self._samples: deque[tuple[float, int]] = deque()
        self._done = 0  # the revision last planned

    @property
    def enabled(self) -> bool:
        return self.retention > 0

    @property
    def interval(self) -> float:
        """Seconds between two calls of :meth:`observe`."""
        return self.retention / 10 if self.mode == "periodic" else REVISION_INTERVAL

    def observe(self, now: float, revision: int) -> int | None:
        """Record the store's ``revision`` at time ``now``; return the revision to compact to,
        or None when nothing is due."""
        if not self.enabled:
            return None
        if self.mode == "revision":
            target = revision - int(self.retention)
        else:
            self._samples.append((now, revision))
            target = 0
            while self._samples and self._samples[0][0] <= now - self.retention:
                target = self._samples.popleft()[1]
        if target <= max(self._done, 1):
            return None
        self._done = target
        return target
