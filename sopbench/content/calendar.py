"""The content calendar: what is planned, due or published when, over one date range.

Pure queries over the state database; no writes, no calls out. Each entry is
one point in time of one kind:

``post``
    A draft that went out or is queued: ``scheduled``, ``published`` or
    ``failed``. Its time is the draft's own ``publish_at``; else, for a
    scheduled draft, the ``publish_at`` the ``social_post`` step handed to
    Mixpost (read from that step's recorded effect); else the time the
    outcome was recorded (when it was published, or failed).
``draft``
    A draft not yet out (``draft``, ``in_review``, ``approved``): at its
    planned ``publish_at``, else at its creation (it waits for review).
    Rejected drafts are not planned and are left out.
``schedule``
    Every fire time of an active schedule inside the range (from its next
    fire time on, by its cron in its own zone, so daylight saving time is
    the scheduler's), status ``planned``; and fires already recorded in the
    range, with their outcome (``fired``, ``skipped``, ``error``) and run.
``delay``
    A run waiting on a ``delay`` step, at its ``wake_at``.
``approval_due``
    An open human task (approval, manual, review, media) at its ``due_at``.
``media``
    A media request: when it finished (succeeded, failed, rejected) or, while
    it is open, when it was requested.
``slot`` and ``theme``
    Weekly posting slots (``open`` or ``filled`` by a post) and monthly
    themes of the entities passed in (``entities.yaml``); see
    :mod:`sopbench.content.calendar_slots` for their daylight-saving rules.
    A theme is listed for every month overlapping the range, at 00:00 local
    on the 1st, even when that is before the range starts.

SOP names and entities (schedules carry neither) come from the caller as
:class:`SopInfo`; so do trigger schedules not yet synced into the database
(``extra_schedules``), so a fresh workspace shows its triggers before the
first ``tick``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sopbench.content.calendar_drafts import CalendarReads, draft_entries
from sopbench.content.calendar_slots import slot_entries, theme_entries
from sopbench.content.calendar_types import KINDS, CalendarEntry, SopInfo, Window
from sopbench.content.draft_store import DraftStore
from sopbench.cron import load_zone, parse_cron
from sopbench.errors import InputError
from sopbench.model.workspace import Entity
from sopbench.store import Database, as_utc
from sopbench.store.effects import EffectLog
from sopbench.store.media_requests import FINAL as MEDIA_FINAL
from sopbench.store.media_requests import MediaRequestView, MediaStore
from sopbench.store.runs import RunStore
from sopbench.store.schedules import ScheduleStore
from sopbench.store.tasks import TaskStore

__all__ = [
    "KINDS",
    "MAX_FIRES_PER_SCHEDULE",
    "CalendarEntry",
    "PlannedSchedule",
    "SopInfo",
    "calendar_entries",
]

MAX_FIRES_PER_SCHEDULE = 500
"""Fire times listed per schedule and range: an every-minute cron over two weeks
would otherwise bury everything else (20,160 entries)."""


@dataclass(frozen=True)
class PlannedSchedule:
    """A schedule as the calendar needs it (a database row, or an unsynced trigger)."""

    id: str
    sop_id: str
    cron: str
    timezone: str
    next_fire_at: datetime | None


def calendar_entries(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    sops: Mapping[str, SopInfo] | None = None,
    entity: str | None = None,
    kinds: Collection[str] | None = None,
    extra_schedules: Sequence[PlannedSchedule] = (),
    entities: Mapping[str, Entity] | None = None,
) -> list[CalendarEntry]:
    """Entries with ``start <= when < end``, sorted by time (then kind, then id).

    Themes are the exception: one per month overlapping the range, at its 1st.
    Slots and themes come from ``entities`` (none without it).
    """
    window = _window(start, end, entity, sops or {})
    wanted = _kinds(kinds)
    found: list[CalendarEntry] = []
    with db.read() as conn:  # one snapshot for every kind
        reads = CalendarReads(
            conn=conn,
            runs=RunStore(db),
            tasks=TaskStore(db),
            drafts=DraftStore(db),
            effects=EffectLog(db),
            schedules=ScheduleStore(db),
            media=MediaStore(db),
        )
        if "post" in wanted or "draft" in wanted:
            found += [e for e in draft_entries(reads, window) if e.kind in wanted]
        if "schedule" in wanted:
            found += _schedule_entries(reads, window, extra_schedules)
        if "delay" in wanted:
            found += _delay_entries(reads, window)
        if "approval_due" in wanted:
            found += _approval_entries(reads, window)
        if "media" in wanted:
            found += _media_entries(reads, window)
        if "slot" in wanted:
            found += slot_entries(reads, window, entities or {})
    found = [e for e in found if window.holds(e.when)]
    if "theme" in wanted:
        found += theme_entries(window, entities or {})
    return sorted(found, key=_order)


def _order(entry: CalendarEntry) -> tuple[datetime, int, str, str, str]:
    ref = entry.ref_id or entry.run_id or ""
    return (entry.when, KINDS.index(entry.kind), ref, entry.entity or "", entry.platform or "")


def _window(
    start: datetime, end: datetime, entity: str | None, sops: Mapping[str, SopInfo]
) -> Window:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                f"calendar {name} {value.isoformat()} has no time zone",
                hint="pass aware datetimes, e.g. datetime(2026, 3, 1, tzinfo=UTC)",
            )
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise InputError(
            f"calendar range ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return Window(start=start, end=end, entity=entity, sops=dict(sops))


def _kinds(kinds: Collection[str] | None) -> frozenset[str]:
    if kinds is None or not kinds:
        return frozenset(KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InputError(
            f"unknown calendar kind(s): {', '.join(unknown)}", hint=f"use {', '.join(KINDS)}"
        )
    return frozenset(kinds)


# -- schedules -------------------------------------------------------------------------------


def _schedule_entries(
    reads: CalendarReads, window: Window, extra: Sequence[PlannedSchedule]
) -> list[CalendarEntry]:
    rows = reads.schedules.every(reads.conn)
    known = {row.id for row in rows}
    planned = [
        PlannedSchedule(r.id, r.sop_id, r.cron, r.timezone, r.next_fire_at)
        for r in rows
        if not r.paused
    ]
    planned += [s for s in extra if s.id not in known]
    found: list[CalendarEntry] = []
    for schedule in planned:
        if window.wants_sop(schedule.sop_id):
            found += _fires_ahead(schedule, window)
    return found + _fires_recorded(reads, window)


def _fire_times(schedule: PlannedSchedule, window: Window) -> Iterable[datetime]:
    if schedule.next_fire_at is None:
        return
    expr, zone = parse_cron(schedule.cron), load_zone(schedule.timezone)
    current: datetime | None = schedule.next_fire_at
    if current is not None and current < window.start:
        # next_after is strictly after: step back a hair so a fire exactly at start counts
        current = expr.next_after(window.start - timedelta(microseconds=1), zone)
    count = 0
    while current is not None and current < window.end and count < MAX_FIRES_PER_SCHEDULE:
        yield current
        count += 1
        current = expr.next_after(current, zone)


def _fires_ahead(schedule: PlannedSchedule, window: Window) -> list[CalendarEntry]:
    info = window.sops.get(schedule.sop_id)
    title = info.name if info else schedule.sop_id
    return [
        CalendarEntry(
            when=when,
            kind="schedule",
            entity=info.entity if info else None,
            sop_id=schedule.sop_id,
            run_id=None,
            ref_id=schedule.id,
            title=f"{title} ({schedule.cron}, {schedule.timezone})",
            status="planned",
            platform=None,
        )
        for when in _fire_times(schedule, window)
    ]


def _fires_recorded(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    found = []
    for fire in reads.schedules.fires_between(reads.conn, window.start, window.end):
        if not window.wants_sop(fire.sop_id):
            continue
        info = window.sops.get(fire.sop_id)
        found.append(
            CalendarEntry(
                when=fire.fire_time,
                kind="schedule",
                entity=info.entity if info else None,
                sop_id=fire.sop_id,
                run_id=fire.run_id,
                ref_id=fire.schedule_id,
                title=f"{info.name if info else fire.sop_id} ({fire.cron}, {fire.timezone})",
                status=fire.status,
                platform=None,
            )
        )
    return found


# -- runs waiting, tasks due, media ------------------------------------------------------------


def _delay_entries(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    rows = reads.runs.delays_between(reads.conn, window.start, window.end, entity=window.entity)
    waiting = reads.runs.waiting_steps(reads.conn, [row.id for row in rows], "delay")
    found = []
    for row in rows:
        name = window.sop_name(row.sop_id)
        step = waiting.get(row.id)
        found.append(
            CalendarEntry(
                when=row.wake_at,
                kind="delay",
                entity=row.entity,
                sop_id=row.sop_id,
                run_id=row.id,
                ref_id=None,
                title=f"{name} resumes" + (f" after {step}" if step else ""),
                status="waiting",
                platform=None,
            )
        )
    return found


def _approval_entries(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    due = reads.tasks.due_between(reads.conn, window.start, window.end, entity=window.entity)
    return [
        CalendarEntry(
            when=task.due_at,
            kind="approval_due",
            entity=task.entity,
            sop_id=sop_id,
            run_id=task.run_id,
            ref_id=task.id,
            title=task.title,
            status=task.status,
            platform=None,
        )
        for task, sop_id in due
        if task.due_at is not None
    ]


def _media_entries(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    found = reads.media.between(reads.conn, window.start, window.end, entity=window.entity)
    return [_media_entry(view, sop_id) for view, sop_id in found]


def _media_entry(view: MediaRequestView, sop_id: str | None) -> CalendarEntry:
    done = view.status in MEDIA_FINAL
    return CalendarEntry(
        when=view.updated_at if done else view.created_at,
        kind="media",
        entity=view.entity,
        sop_id=sop_id,
        run_id=view.run_id,
        ref_id=view.id,
        title=f"{view.kind}: {view.params.get('prompt_title') or view.prompt_id}",
        status=view.status,
        platform=None,
    )
