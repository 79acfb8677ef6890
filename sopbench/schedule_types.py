"""Schedule values: ids, fire times, and what ``tick`` reports (see :mod:`sopbench.scheduler`).

:class:`ScheduleView` (a ``schedules`` row) is the store's, re-exported here with the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sopbench.cron import load_zone, parse_cron
from sopbench.store.run_rows import FINAL
from sopbench.store.schedules import ScheduleView, schedule_view

if TYPE_CHECKING:
    from sopbench.engine import Engine
    from sopbench.library import Workspace

__all__ = [
    "Fire",
    "Reporter",
    "RunDriver",
    "ScheduleView",
    "TickResult",
    "next_fire",
    "schedule_view",
    "trigger_id",
]


def trigger_id(sop_id: str, index: int) -> str:
    """The stable schedule id of a SOP's ``index``-th trigger (0-based)."""
    readable = f"trg-{sop_id}-{index}"
    if len(readable) <= 40:
        return readable
    return "trg-" + hashlib.sha256(f"{sop_id}#{index}".encode()).hexdigest()[:36]


def next_fire(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first fire time of ``cron`` in ``timezone`` strictly after ``after`` (UTC)."""
    return parse_cron(cron).next_after(after, load_zone(timezone))


@dataclass(frozen=True)
class Fire:
    """What one (schedule, fire time) did in this tick."""

    schedule_id: str
    fire_time: datetime
    status: str  # fired | skipped | error
    run_id: str | None = None
    run_status: str | None = None
    error: str | None = None


@dataclass
class TickResult:
    fires: list[Fire] = field(default_factory=list)
    lost: int = 0
    """Fire times another tick fired first (this one did nothing for them)."""
    recovered: list[tuple[str, str]] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)

    def finished_runs(self) -> list[str]:
        done = [f.run_id for f in self.fires if f.run_id and f.run_status in FINAL]
        return done + [r for r, s in self.recovered if s in FINAL and r not in done]


Reporter = Callable[[list[str]], list[str]]
"""Writes reports for finished runs; returns the paths written."""


class RunDriver(Protocol):
    """What the scheduler is handed to start and drive runs.

    The application's :class:`~sopbench.services.runs.RunService` is one. The
    scheduler declares what it needs instead of importing that class: the
    services build on the scheduler, never the other way round.
    """

    @property
    def engine(self) -> Engine: ...

    @property
    def workspace(self) -> Workspace:
        """The SOPs now (read at every use: an operator may reload them)."""
        ...

    def recover(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """Drive every run that is ready, due or left behind, once; (run id, status) moved."""
        ...
