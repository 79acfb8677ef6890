"""Calendar entries of drafts: ``post`` (scheduled, published, failed) and ``draft``.

Where a draft's time comes from (see :mod:`sopbench.content.calendar`):

1. its own ``publish_at`` (the planned time a reviewer approved);
2. for a ``scheduled`` draft without one, the ``publish_at`` that the
   ``social_post`` step of the draft's run handed to Mixpost. The draft row
   does not keep that time, but the step's effect does: its request holds
   ``publish_at``, its response the posts by draft id;
3. else when the outcome was recorded (``updated_at``: nothing changes a
   draft once it is out) for posts, and ``created_at`` for drafts that wait
   for review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from sopbench.content.calendar_types import CalendarEntry, Window, short_title
from sopbench.content.draft_store import OPEN_STATUSES, OUT_STATUSES, CalendarDraft, DraftStore
from sopbench.store.effects import EffectLog
from sopbench.store.media_requests import MediaStore
from sopbench.store.runs import RunStore
from sopbench.store.schedules import ScheduleStore
from sopbench.store.tasks import TaskStore

__all__ = ["OPEN_STATUSES", "OUT_STATUSES", "CalendarReads", "draft_entries", "scheduled_times"]


@dataclass(frozen=True)
class CalendarReads:
    """The stores the calendar reads, all inside one read transaction (``conn``),
    so every entry comes from the same snapshot."""

    conn: Connection
    runs: RunStore
    tasks: TaskStore
    drafts: DraftStore
    effects: EffectLog
    schedules: ScheduleStore
    media: MediaStore


def draft_entries(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    rows = reads.drafts.calendar_rows(reads.conn, window.start, window.end, entity=window.entity)
    pending = [r for r in rows if r.status == "scheduled" and r.publish_at is None]
    handed = scheduled_times(reads, {r.source_run_id for r in pending if r.source_run_id})
    return [_entry(row, handed) for row in rows]


def _entry(row: CalendarDraft, handed: Mapping[str, datetime]) -> CalendarEntry:
    status = row.status
    if row.publish_at is not None:
        when = row.publish_at
    elif status == "scheduled":
        when = handed.get(row.id, row.updated_at)
    elif status in OPEN_STATUSES:
        when = row.created_at
    else:
        when = row.updated_at
    return CalendarEntry(
        when=when,
        kind="post" if status in OUT_STATUSES else "draft",
        entity=row.entity,
        sop_id=row.sop_id,
        run_id=row.source_run_id,
        ref_id=row.id,
        title=short_title(row.body) or f"({row.platform} draft)",
        status=status,
        platform=row.platform,
    )


def scheduled_times(reads: CalendarReads, run_ids: set[str]) -> dict[str, datetime]:
    """Draft id → the time a ``social_post`` step of one of ``run_ids`` scheduled it for."""
    found: dict[str, datetime] = {}
    for request, response in reads.effects.done_of_type(reads.conn, run_ids, "social_post"):
        when = _time(request.get("publish_at"))
        if when is None:
            continue
        for post in response.get("posts") or []:
            if isinstance(post, Mapping) and post.get("status") == "scheduled":
                found[str(post.get("draft_id"))] = when
    return found


def _time(value: object) -> datetime | None:
    """An ISO time as ``social_post`` took it (naive means UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
