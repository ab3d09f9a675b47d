"""The nemesis: process-level faults against the members, on a seeded schedule.

A schedule is a list of :class:`Fault` drawn from the seed before the run: its kind, how
its target is chosen (the leader, or any member), how long the fault holds and the quiet
gap after it heals.  Every kind asked for occurs at least once (the first faults are the
kinds, shuffled), then kinds are drawn at random.  Faults come one at a time, so a
majority stays up except while a pause or crash hits a member whose peer is being
replaced, which is the interesting case anyway.

Kinds (:data:`KINDS`):

* ``kill``: SIGKILL (a crash), then, after the hold, the member restarts on its data
  directory (recovery from the WAL fsynced on the real disk);
* ``pause``: SIGSTOP, then SIGCONT after the hold: the member's peers and clients see
  it hang, then it wakes up believing what it believed (a deposed leader included);
* ``restart``: a clean stop (SIGTERM) and an immediate start;
* ``member``: ``MemberRemove`` of the target, then ``MemberAdd`` of a fresh member that
  starts empty and catches up (by snapshot when the log was compacted).

Each step is recorded as an event (time, kind, phase, member, ok, detail); ``heal``
undoes whatever is still in effect at the end (resume, restart, restore the
configuration's size) before the quiet phase.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

import grpc

from quorum.harness.processes import Cluster, HarnessError, Member

__all__ = ["KINDS", "Fault", "Nemesis", "schedule"]

KINDS = ("kill", "pause", "restart", "member")


@dataclass(frozen=True)
class Fault:
    kind: str
    on_leader: bool  # target the leader (else a member drawn at random)
    hold: float  # seconds the fault holds before it heals
    gap: float  # seconds of quiet after it heals


def schedule(kinds: tuple[str, ...], duration: float, seed: int) -> list[Fault]:
    """The faults of a run of ``duration`` seconds: every kind once (shuffled), then
    random kinds, until the holds and gaps fill the duration."""
    rng = random.Random(f"{seed}/nemesis")
    if not kinds:
        return []
    first = list(kinds)
    rng.shuffle(first)
    faults: list[Fault] = []
    total = 0.0
    while total < duration:
        kind = first.pop(0) if first else rng.choice(kinds)
        hold = 0.0 if kind in ("restart", "member") else round(rng.uniform(1.0, 3.0), 2)
        fault = Fault(kind, rng.random() < 0.5, hold, round(rng.uniform(1.0, 2.5), 2))
        faults.append(fault)
        total += fault.hold + fault.gap + (2.0 if kind in ("restart", "member") else 0.0)
    return faults


@dataclass
class Event:
    t: float
    kind: str
    phase: str  # "start", "end", or the membership step ("remove", "add")
    member: str
    ok: bool = True
    detail: str = ""


class Nemesis:
    """Runs a schedule against ``cluster`` in a thread; ``events`` is its record."""

    def __init__(self, cluster: Cluster, faults: list[Fault], now: Any, seed: int,
                 stopping: threading.Event) -> None:
        self.cluster, self.faults, self.now = cluster, faults, now
        self.rng = random.Random(f"{seed}/targets")
        self.stopping = stopping
        self.events: list[Event] = []
        self.killed: list[Member] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="nemesis")
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _event(self, kind: str, phase: str, member: Member | None, ok: bool = True,
               detail: str = "") -> None:
        self.events.append(Event(self.now(), kind, phase, member.name if member else "",
                                 ok, detail))

    def _run(self) -> None:
        try:
            for fault in self.faults:
                if self.stopping.is_set():
                    return
                self._inject(fault)
                if self.stopping.wait(fault.gap):
                    return
        except BaseException as exc:  # reported by the run, never lost in the thread
            self.error = exc

    def _target(self, fault: Fault) -> Member | None:
        live = self.cluster.responsive()
        if not live:
            return None
        if fault.on_leader:
            try:
                return self.cluster.leader(timeout=3.0)
            except HarnessError:
                pass
        return self.rng.choice(live)

    def _inject(self, fault: Fault) -> None:
        target = self._target(fault)
        if target is None:
            self._event(fault.kind, "start", None, False, "no member to target")
            return
        getattr(self, f"_{fault.kind}")(target, fault)

    def _kill(self, m: Member, fault: Fault) -> None:
        m.kill9()
        self._event("kill", "start", m, detail="SIGKILL")
        self.stopping.wait(fault.hold)
        m.start()
        self._event("kill", "end", m, detail="restarted on its data dir")

    def _pause(self, m: Member, fault: Fault) -> None:
        m.pause()
        self._event("pause", "start", m, detail="SIGSTOP")
        self.stopping.wait(fault.hold)
        m.resume()
        self._event("pause", "end", m, detail="SIGCONT")

    def _restart(self, m: Member, fault: Fault) -> None:
        m.stop()
        self._event("restart", "start", m, detail="SIGTERM")
        m.start()
        self._event("restart", "end", m, detail="started")

    def _member(self, m: Member, fault: Fault) -> None:
        try:
            self.cluster.remove(m)
            self._event("member", "remove", m)
        except (grpc.RpcError, HarnessError) as exc:
            self._event("member", "remove", m, False, _why(exc))
            return
        try:
            fresh = self.cluster.add()
            self._event("member", "add", fresh)
        except (grpc.RpcError, HarnessError) as exc:
            self._event("member", "add", None, False, _why(exc))

    def heal(self, n: int) -> None:
        """Undo every fault still in effect and restore ``n`` members."""
        for m in self.cluster.members:
            if m.paused:
                m.resume()
                self._event("heal", "end", m, detail="SIGCONT")
            elif not m.up:
                m.start()
                self._event("heal", "end", m, detail="started")
        self.cluster.leader(timeout=30)
        self.cluster.reconcile(n)
        self._event("heal", "end", None, detail=f"{len(self.cluster.members)} members")

    def records(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.events]

    def counts(self) -> dict[str, int]:
        """Faults that took effect, by kind (a membership change counts when its removal
        succeeded)."""
        out = dict.fromkeys(KINDS, 0)
        for e in self.events:
            if e.ok and e.kind in out and e.phase in ("start", "remove"):
                out[e.kind] += 1
        return out


def _why(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc)
