"""Schedules and their fire records: every statement on ``schedules`` and ``fire_records``.

:class:`~sopbench.scheduler.Scheduler` decides what to fire and when; this
store reads and writes the rows. Methods that take a ``conn`` run inside the
caller's transaction (the scheduler records a fire and its run in one), the
others open their own.

The primary key of ``fire_records`` is (schedule, fire time): of two ticks
recording the same fire, one gets an ``IntegrityError`` from
:meth:`ScheduleStore.record_fire` and its whole transaction rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sopbench.errors import NotFound
from sopbench.store.db import Database
from sopbench.store.tables import fire_records, runs, schedules

__all__ = ["RecordedFire", "ScheduleStore", "ScheduleView", "schedule_view"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleView:
    """One schedule as listed by ``sopbench schedule list``."""

    id: str
    sop_id: str
    cron: str
    timezone: str
    catchup: str
    source: str
    paused: bool
    inputs: dict[str, Any]
    next_fire_at: datetime | None

    @property
    def state(self) -> str:
        if self.paused and self.next_fire_at is None and self.source == "trigger":
            return "removed"
        return "paused" if self.paused else "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sop_id": self.sop_id,
            "cron": self.cron,
            "timezone": self.timezone,
            "catchup": self.catchup,
            "source": self.source,
            "state": self.state,
            "inputs": self.inputs,
            "next_fire_at": self.next_fire_at,
        }


def schedule_view(row: Mapping[Any, Any]) -> ScheduleView:
    return ScheduleView(
        id=row["id"],
        sop_id=row["sop_id"],
        cron=row["cron"],
        timezone=row["timezone"],
        catchup=row["catchup"],
        source=row["source"],
        paused=bool(row["paused"]),
        inputs=dict(row["inputs"] or {}),
        next_fire_at=row["next_fire_at"],
    )


@dataclass(frozen=True)
class RecordedFire:
    """A fire record with its schedule's SOP and cron (a calendar entry)."""

    schedule_id: str
    fire_time: datetime
    run_id: str | None
    status: str
    sop_id: str
    cron: str
    timezone: str


class ScheduleStore:
    """The ``schedules`` and ``fire_records`` of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- schedules ---------------------------------------------------------------------

    def get(self, schedule_id: str) -> ScheduleView:
        with self.db.read() as conn:
            found = (
                conn.execute(select(schedules).where(schedules.c.id == schedule_id))
                .mappings()
                .first()
            )
        if found is None:
            raise NotFound(f"no schedule with id '{schedule_id}'", hint="`sopbench schedule list`")
        return schedule_view(found)

    def listing(self, *, sop_id: str | None = None) -> list[ScheduleView]:
        """Every schedule (of one SOP), by SOP then id."""
        query = select(schedules).order_by(schedules.c.sop_id, schedules.c.id)
        if sop_id:
            query = query.where(schedules.c.sop_id == sop_id)
        with self.db.read() as conn:
            return [schedule_view(row) for row in conn.execute(query).mappings()]

    def every(self, conn: Connection) -> list[ScheduleView]:
        """Every schedule, inside the caller's transaction (the calendar)."""
        return [schedule_view(row) for row in conn.execute(select(schedules)).mappings()]

    def triggers(self, conn: Connection) -> dict[str, ScheduleView]:
        """The schedules made from SOP triggers, by id."""
        query = select(schedules).where(schedules.c.source == "trigger")
        return {row["id"]: schedule_view(row) for row in conn.execute(query).mappings()}

    def due(self, now: datetime) -> list[ScheduleView]:
        """Active schedules whose next fire time has come, soonest first."""
        query = (
            select(schedules)
            .where(schedules.c.paused.is_(False), schedules.c.next_fire_at <= now)
            .order_by(schedules.c.next_fire_at)
        )
        with self.db.read() as conn:
            return [schedule_view(row) for row in conn.execute(query).mappings()]

    def insert(self, conn: Connection, schedule_id: str, **values: Any) -> None:
        conn.execute(insert(schedules).values(id=schedule_id, **values))

    def change(self, conn: Connection, schedule_id: str, **values: Any) -> None:
        conn.execute(update(schedules).where(schedules.c.id == schedule_id).values(**values))

    def advance(self, schedule_id: str, seen: datetime | None, upcoming: datetime | None) -> None:
        """Move the next fire time on, only from ``seen``: a slower tick never moves it back."""
        with self.db.write() as conn:
            conn.execute(
                update(schedules)
                .where(schedules.c.id == schedule_id, schedules.c.next_fire_at == seen)
                .values(next_fire_at=upcoming)
            )

    def remove(self, schedule_id: str) -> None:
        """Delete the schedule and its fire history, in one transaction."""
        with self.db.write() as conn:
            conn.execute(fire_records.delete().where(fire_records.c.schedule_id == schedule_id))
            conn.execute(schedules.delete().where(schedules.c.id == schedule_id))

    # -- fire records ------------------------------------------------------------------

    def record_fire(self, conn: Connection, schedule_id: str, fire_time: datetime) -> None:
        """Claim (schedule, fire time); ``IntegrityError`` when another tick did first."""
        conn.execute(
            insert(fire_records).values(
                schedule_id=schedule_id, fire_time=fire_time, status="fired"
            )
        )

    def settle_fire(
        self,
        conn: Connection,
        schedule_id: str,
        fire_time: datetime,
        *,
        status: str,
        run_id: str | None,
    ) -> None:
        conn.execute(
            update(fire_records)
            .where(
                fire_records.c.schedule_id == schedule_id,
                fire_records.c.fire_time == fire_time,
            )
            .values(status=status, run_id=run_id)
        )

    def fires(self, schedule_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The schedule's latest fire records (newest first) with their runs' status now."""
        query = (
            select(fire_records, runs.c.status.label("run_status"))
            .select_from(fire_records.outerjoin(runs, runs.c.id == fire_records.c.run_id))
            .where(fire_records.c.schedule_id == schedule_id)
            .order_by(fire_records.c.fire_time.desc())
            .limit(limit)
        )
        with self.db.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def fires_between(self, conn: Connection, start: datetime, end: datetime) -> list[RecordedFire]:
        """Fires recorded in ``[start, end)``, with their schedules (the calendar)."""
        query = (
            select(
                fire_records.c.schedule_id,
                fire_records.c.fire_time,
                fire_records.c.run_id,
                fire_records.c.status,
                schedules.c.sop_id,
                schedules.c.cron,
                schedules.c.timezone,
            )
            .join(schedules, schedules.c.id == fire_records.c.schedule_id)
            .where(fire_records.c.fire_time >= start, fire_records.c.fire_time < end)
        )
        return [RecordedFire(**row) for row in conn.execute(query).mappings()]
