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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from sopbench.content.calendar_types import CalendarEntry, Window, short_title
from sopbench.store.tables import draft_revisions, drafts, effects, runs, step_states

__all__ = ["OPEN_STATUSES", "OUT_STATUSES", "draft_entries", "scheduled_times"]

OUT_STATUSES = ("scheduled", "published", "failed")
"""Drafts that were handed to a platform: calendar kind ``post``."""
OPEN_STATUSES = ("draft", "in_review", "approved")
"""Drafts still on their way: calendar kind ``draft`` (rejected ones are left out)."""


def draft_entries(conn: Connection, window: Window) -> list[CalendarEntry]:
    rows = conn.execute(_query(window)).mappings().all()
    pending = [r for r in rows if r["status"] == "scheduled" and r["publish_at"] is None]
    handed = scheduled_times(conn, {r["source_run_id"] for r in pending if r["source_run_id"]})
    return [_entry(row, handed) for row in rows]


def _query(window: Window) -> Any:
    d, start, end = drafts, window.start, window.end
    unplanned = d.c.publish_at.is_(None)
    query = (
        select(
            d.c.id,
            d.c.entity,
            d.c.platform,
            d.c.status,
            d.c.publish_at,
            d.c.source_run_id,
            d.c.created_at,
            d.c.updated_at,
            draft_revisions.c.body,
            runs.c.sop_id,
        )
        .join(
            draft_revisions,
            and_(draft_revisions.c.draft_id == d.c.id, draft_revisions.c.revision == d.c.revision),
        )
        .outerjoin(runs, runs.c.id == d.c.source_run_id)
        .where(
            d.c.status.in_(OUT_STATUSES + OPEN_STATUSES),
            # a coarse filter; the exact time is worked out per row, then checked again
            or_(
                and_(d.c.publish_at >= start, d.c.publish_at < end),
                and_(
                    unplanned,
                    d.c.status.in_(("published", "failed")),
                    d.c.updated_at >= start,
                    d.c.updated_at < end,
                ),
                and_(
                    unplanned,
                    d.c.status.in_(OPEN_STATUSES),
                    d.c.created_at >= start,
                    d.c.created_at < end,
                ),
                # handed over for a later time: that time is after the draft was made
                and_(unplanned, d.c.status == "scheduled", d.c.created_at < end),
            ),
        )
    )
    if window.entity is not None:
        query = query.where(d.c.entity == window.entity)
    return query


def _entry(row: Any, handed: Mapping[str, datetime]) -> CalendarEntry:
    status = row["status"]
    if row["publish_at"] is not None:
        when = row["publish_at"]
    elif status == "scheduled":
        when = handed.get(row["id"], row["updated_at"])
    elif status in OPEN_STATUSES:
        when = row["created_at"]
    else:
        when = row["updated_at"]
    return CalendarEntry(
        when=when,
        kind="post" if status in OUT_STATUSES else "draft",
        entity=row["entity"],
        sop_id=row["sop_id"],
        run_id=row["source_run_id"],
        ref_id=row["id"],
        title=short_title(row["body"]) or f"({row['platform']} draft)",
        status=status,
        platform=row["platform"],
    )


def scheduled_times(conn: Connection, run_ids: set[str]) -> dict[str, datetime]:
    """Draft id → the time a ``social_post`` step of one of ``run_ids`` scheduled it for."""
    if not run_ids:
        return {}
    query = (
        select(effects.c.request, effects.c.response)
        .join(
            step_states,
            and_(
                step_states.c.run_id == effects.c.run_id,
                step_states.c.path == effects.c.step_path,
            ),
        )
        .where(
            effects.c.run_id.in_(sorted(run_ids)),
            effects.c.status == "done",
            step_states.c.type == "social_post",
        )
    )
    found: dict[str, datetime] = {}
    for row in conn.execute(query).mappings():
        when = _time(dict(row["request"] or {}).get("publish_at"))
        if when is None:
            continue
        for post in dict(row["response"] or {}).get("posts") or []:
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
