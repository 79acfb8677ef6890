"""Schedules: SOP triggers and manual schedules, fired exactly once by ``tick``.

Where schedules come from
    Every ``schedule:`` trigger of a SOP becomes a row of the ``schedules``
    table with a stable id (the SOP id and the trigger's index), synced at
    every tick. A trigger removed from its SOP is disabled (paused, no next
    fire time), never deleted: its fire history stays. Manual schedules
    (``sopbench schedule add``) live only in the database.

Exactly once
    The primary key of ``fire_records`` is (schedule, fire time). A tick
    inserts the fire record and records the run in one write transaction;
    a second tick firing the same time loses on the key, its transaction
    rolls back and it does nothing. No file lock: two tick processes on
    two machines over one PostgreSQL are as safe as on one SQLite file.

Catch-up after downtime (fire times between the schedule's next fire time
and now)
    ``none``: missed times are skipped; only a fire time less than
    :data:`GRACE` old fires (a tick that is a little late still fires).
    ``latest``: only the most recent missed time fires.
    ``all``: every missed time fires, oldest first, at most ``cap`` per
    schedule and tick; the rest fire at the next tick (none is lost).

Daylight saving time (see :mod:`sopbench.cron`), in the schedule's zone: a
local time skipped in spring fires once, at the first valid minute after
the gap (``30 2 * * *`` in America/Denver fires at 03:00 MDT on that day);
a local time repeated in autumn fires once, at its first occurrence.

Concurrency: a fired run of a SOP whose policy is ``skip`` while its limit
is reached is not created (the fire record says ``skipped``); under
``queue`` the run is recorded and waits as ``pending`` until a slot frees.

Reports: after firing and recovering, a tick hands its reporter the runs it
finished and then every run that finished elsewhere since (a reviewer's
decision, a worker) and has no report yet; the reporter claims each run in
``run_reports`` first (:mod:`sopbench.store.run_reports`), so every run gets one
report even with two ticks at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from sopbench.cron import load_zone, parse_cron
from sopbench.errors import ConcurrencyLimited, SopbenchError, UsageError
from sopbench.model.inputs import coerce_inputs
from sopbench.model.sop import ScheduleTrigger
from sopbench.schedule_types import (
    Fire,
    Reporter,
    RunDriver,
    ScheduleView,
    TickResult,
    next_fire,
    trigger_id,
)
from sopbench.store import new_id, utcnow
from sopbench.store.run_reports import ReportStore
from sopbench.store.run_rows import jsonable
from sopbench.store.schedules import ScheduleStore
from sopbench.store.tables import CATCHUP_POLICIES

__all__ = ["GRACE", "Fire", "ScheduleView", "Scheduler", "TickResult", "next_fire", "trigger_id"]

logger = logging.getLogger(__name__)

GRACE = timedelta(minutes=5)
"""Under ``catchup: none``, how late a fire time may be and still fire."""

DEFAULT_CAP = 100
_SCAN_LIMIT = 100_000  # fire times looked at per schedule and tick (a year of minutes is 525k)


class Scheduler:
    """Schedules of one workspace over a :class:`~sopbench.schedule_types.RunDriver`
    (the application's ``RunService``)."""

    def __init__(
        self,
        service: RunDriver,
        *,
        reporter: Reporter | None = None,
        cap: int = DEFAULT_CAP,
        actor: str = "scheduler",
        report_batch: int = 50,
    ) -> None:
        """``report_batch``: at most this many runs finished outside the tick are
        reported per tick (the rest wait for the next ones)."""
        self.service = service
        self.engine = service.engine
        self.db = self.engine.db
        self.store = ScheduleStore(self.db)
        self.reporter = reporter
        self.cap = cap
        self.actor = actor
        self.report_batch = report_batch

    # -- sync from SOP triggers ----------------------------------------------------

    def sync(self, now: datetime | None = None) -> None:
        """Make the trigger schedules match the SOP files (ids stable per SOP + index)."""
        now = now or utcnow()
        wanted: dict[str, dict[str, Any]] = {}
        for sop in self.service.workspace.sops.values():
            for index, trigger in enumerate(sop.triggers):
                if isinstance(trigger, ScheduleTrigger):
                    spec = trigger.schedule
                    wanted[trigger_id(sop.sop_id, index)] = {
                        "sop_id": sop.sop_id,
                        "cron": spec.cron,
                        "timezone": spec.timezone,
                        "catchup": spec.catchup,
                        "inputs": jsonable(dict(spec.inputs)),
                    }
        for _attempt in range(3):
            try:
                with self.db.write() as conn:
                    self._sync(conn, wanted, now)
                return
            except IntegrityError:  # another tick inserted the same row first: look again
                continue

    def _sync(self, conn: Connection, wanted: dict[str, dict[str, Any]], now: datetime) -> None:
        existing = self.store.triggers(conn)
        for sid, spec in wanted.items():
            row = existing.get(sid)
            if row is None:
                self.store.insert(
                    conn,
                    sid,
                    source="trigger",
                    paused=False,
                    next_fire_at=next_fire(spec["cron"], spec["timezone"], now),
                    **spec,
                )
                continue
            changed = any(getattr(row, key) != value for key, value in spec.items())
            removed = row.paused and row.next_fire_at is None
            if changed or removed:
                values: dict[str, Any] = dict(spec)
                if removed or (row.cron, row.timezone) != (spec["cron"], spec["timezone"]):
                    values["next_fire_at"] = next_fire(spec["cron"], spec["timezone"], now)
                if removed:
                    values["paused"] = False
                self.store.change(conn, sid, **values)
        for sid, row in existing.items():
            if sid not in wanted and not (row.paused and row.next_fire_at is None):
                self.store.change(conn, sid, paused=True, next_fire_at=None)

    # -- manual schedules ------------------------------------------------------------

    def add(
        self,
        sop_id: str,
        cron: str,
        *,
        timezone: str = "UTC",
        catchup: str = "latest",
        inputs: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> ScheduleView:
        sop = self.service.workspace.sop(sop_id)
        try:
            parse_cron(cron)
            load_zone(timezone)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if catchup not in CATCHUP_POLICIES:
            raise UsageError(f"catchup is one of {', '.join(CATCHUP_POLICIES)}, not {catchup!r}")
        values = jsonable(dict(inputs or {}))
        coerce_inputs(sop.inputs, values)  # fail now, not at every fire
        sid = new_id("sch")
        with self.db.write() as conn:
            self.store.insert(
                conn,
                sid,
                sop_id=sop_id,
                cron=cron,
                timezone=timezone,
                catchup=catchup,
                source="manual",
                paused=False,
                inputs=values,
                next_fire_at=next_fire(cron, timezone, now or utcnow()),
            )
        return self.get(sid)

    def get(self, schedule_id: str) -> ScheduleView:
        return self.store.get(schedule_id)

    def schedules(self, *, sop_id: str | None = None) -> list[ScheduleView]:
        return self.store.listing(sop_id=sop_id)

    def pause(self, schedule_id: str, *, actor: str | None = None) -> ScheduleView:
        """Stop firing; the journal records ``actor`` (default: this scheduler's actor)."""
        view = self.get(schedule_id)
        if view.state == "removed":
            raise UsageError(f"schedule {schedule_id}: its trigger was removed from the SOP")
        with self.db.write() as conn:
            self.store.change(conn, schedule_id, paused=True)
            self._journal(conn, "schedule.paused", schedule_id, actor)
        return self.get(schedule_id)

    def resume(
        self, schedule_id: str, *, now: datetime | None = None, actor: str | None = None
    ) -> ScheduleView:
        """Unpause; fire times that passed while paused are not fired."""
        view = self.get(schedule_id)
        if view.state == "removed":
            raise UsageError(
                f"schedule {schedule_id}: its trigger was removed from the SOP; "
                "add the trigger back to the SOP file to enable it"
            )
        upcoming = next_fire(view.cron, view.timezone, now or utcnow())
        with self.db.write() as conn:
            self.store.change(conn, schedule_id, paused=False, next_fire_at=upcoming)
            self._journal(conn, "schedule.resumed", schedule_id, actor)
        return self.get(schedule_id)

    def _journal(self, conn: Connection, kind: str, schedule_id: str, actor: str | None) -> None:
        data = {"schedule_id": schedule_id}
        self.engine.runs.journal(conn, kind, run_id=None, actor=actor or self.actor, data=data)

    def fires(self, schedule_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The schedule's latest fire records (newest first) with their runs' status now."""
        self.get(schedule_id)
        return self.store.fires(schedule_id, limit=limit)

    def remove(self, schedule_id: str) -> None:
        """Delete a manual schedule (and its fire history); trigger schedules are refused."""
        view = self.get(schedule_id)
        if view.source == "trigger":
            raise UsageError(
                f"schedule {schedule_id} comes from the triggers of SOP {view.sop_id}; "
                "edit the SOP file (or pause the schedule)"
            )
        self.store.remove(schedule_id)

    # -- ticking -----------------------------------------------------------------------

    def tick(self, now: datetime | None = None, *, sync: bool = True) -> TickResult:
        """Fire due schedules, drive their runs, recover runs, write reports."""
        now = now or utcnow()
        if sync:
            self.sync(now)
        result = TickResult()
        for view in self.store.due(now):
            self._fire_schedule(view, now, result)
        result.recovered = self.service.recover()
        if self.reporter is not None:
            result.reports = self.reporter(self._to_report(result, now))
        return result

    def _to_report(self, result: TickResult, now: datetime) -> list[str]:
        """Runs this tick finished, then runs that finished elsewhere since (a decision,
        a worker) and have no report yet; the reporter claims each before writing."""
        mine = result.finished_runs()
        ledger = ReportStore(self.db, self.engine.owner)
        later = ledger.unreported(limit=self.report_batch, now=now)
        return mine + [run_id for run_id in later if run_id not in mine]

    def due_times(
        self, view: ScheduleView, now: datetime
    ) -> tuple[list[datetime], datetime | None]:
        """The fire times to fire now (per catch-up policy) and the next fire time after."""
        assert view.next_fire_at is not None
        expr, zone = parse_cron(view.cron), load_zone(view.timezone)
        missed: list[datetime] = []
        current: datetime | None = view.next_fire_at
        limit = self.cap if view.catchup == "all" else _SCAN_LIMIT
        while current is not None and current <= now and len(missed) < limit:
            missed.append(current)
            current = expr.next_after(current, zone)
        if current is not None and current <= now and view.catchup != "all":
            current = expr.next_after(now, zone)  # gave up scanning: skip to the future
        if view.catchup == "all" or not missed:
            return missed, current
        last = missed[-1]
        if view.catchup == "none" and now - last > GRACE:
            return [], current
        return [last], current

    def _fire_schedule(self, view: ScheduleView, now: datetime, result: TickResult) -> None:
        times, upcoming = self.due_times(view, now)
        fired: list[Fire] = []
        for fire_time in times:
            fire = self._fire_once(view, fire_time)
            if fire is None:
                result.lost += 1
            else:
                fired.append(fire)
        # Advance only forward: a slower tick never moves the schedule back.
        self.store.advance(view.id, view.next_fire_at, upcoming)
        for fire in fired:
            if fire.run_id is not None:
                status = self.engine.drive(fire.run_id)
                fire = Fire(fire.schedule_id, fire.fire_time, fire.status, fire.run_id, status)
            result.fires.append(fire)

    def _fire_once(self, view: ScheduleView, fire_time: datetime) -> Fire | None:
        """Record the fire and the run in one transaction; ``None`` when another tick won."""
        try:
            with self.db.write() as conn:
                self.store.record_fire(conn, view.id, fire_time)
                fire = self._start(conn, view, fire_time)
                self.store.settle_fire(
                    conn, view.id, fire_time, status=fire.status, run_id=fire.run_id
                )
                return fire
        except IntegrityError:
            return None

    def _start(self, conn: Connection, view: ScheduleView, fire_time: datetime) -> Fire:
        data = {"schedule_id": view.id, "fire_time": fire_time.isoformat()}
        try:
            sop = self.service.workspace.sop(view.sop_id)
            run_id = self.engine.start_run(
                sop, view.inputs, started_by=f"schedule:{view.id}", conn=conn
            )
        except ConcurrencyLimited as exc:
            self.engine.runs.journal(
                conn, "schedule.skipped", run_id=None, actor=self.actor, data={**data}
            )
            return Fire(view.id, fire_time, "skipped", error=str(exc))
        except SopbenchError as exc:
            message = self.engine.redact(str(exc))
            logger.warning(
                "schedule %s could not start SOP %s at %s: %s",
                view.id,
                view.sop_id,
                fire_time.isoformat(),
                message,
                extra={"sop_id": view.sop_id},
            )
            self.engine.runs.journal(
                conn,
                "schedule.error",
                run_id=None,
                actor=self.actor,
                data={**data, "error": message},
            )
            return Fire(view.id, fire_time, "error", error=message)
        self.engine.runs.journal(conn, "schedule.fired", run_id=run_id, actor=self.actor, data=data)
        logger.info(
            "schedule %s fired %s for %s: run %s",
            view.id,
            view.sop_id,
            fire_time.isoformat(),
            run_id,
            extra={"run_id": run_id, "sop_id": view.sop_id},
        )
        return Fire(view.id, fire_time, "fired", run_id=run_id)
