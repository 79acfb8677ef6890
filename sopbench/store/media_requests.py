"""Media requests as stored: every statement on ``media_requests``.

:class:`~sopbench.content.media.MediaService` drives a request through its
states and calls Canva or the video provider; this store reads and writes
the row. Every move that could race (two processes starting or polling the
same request) is a compare-and-set on the row's status (and job id), so
only one of them moves it; the methods say which by their return value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, update

from sopbench.errors import NotFound
from sopbench.store.db import Database, utcnow
from sopbench.store.tables import media_requests, runs

__all__ = ["FINAL", "MediaRequestView", "MediaStore"]

logger = logging.getLogger(__name__)

FINAL = ("succeeded", "failed", "rejected", "cancelled")
"""Statuses a request never leaves."""


@dataclass(frozen=True)
class MediaRequestView:
    """One media request as stored."""

    id: str
    entity: str
    prompt_id: str
    kind: str
    status: str
    cost_class: str
    params: dict[str, Any]
    job_id: str | None
    asset: dict[str, Any] | None
    run_id: str | None
    step_path: str | None
    requested_by: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.status in FINAL

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data


def _view(row: Mapping[Any, Any]) -> MediaRequestView:
    return MediaRequestView(
        id=row["id"],
        entity=row["entity"],
        prompt_id=row["prompt_id"],
        kind=row["kind"],
        status=row["status"],
        cost_class=row["cost_class"],
        params=dict(row["params"] or {}),
        job_id=row["job_id"],
        asset=dict(row["asset"]) if row["asset"] is not None else None,
        run_id=row["run_id"],
        step_path=row["step_path"],
        requested_by=row["requested_by"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _as_seen(view: MediaRequestView) -> ColumnElement[bool]:
    """The row is still in the state ``view`` read: same status, same job."""
    t = media_requests.c
    job = t.job_id.is_(None) if view.job_id is None else t.job_id == view.job_id
    return and_(t.id == view.id, t.status == view.status, job)


class MediaStore:
    """The ``media_requests`` of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, request_id: str) -> MediaRequestView:
        query = select(media_requests).where(media_requests.c.id == request_id)
        with self.db.read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no media request '{request_id}'", hint="`sopbench media` lists them")
        return _view(row)

    def listing(
        self, *, status: str | None = None, entity: str | None = None, limit: int = 200
    ) -> list[MediaRequestView]:
        """Requests, newest first."""
        query = select(media_requests).order_by(media_requests.c.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(media_requests.c.status == status)
        if entity is not None:
            query = query.where(media_requests.c.entity == entity)
        with self.db.read() as conn:
            return [_view(row) for row in conn.execute(query).mappings()]

    def add(self, values: Mapping[str, Any]) -> None:
        """Record a request unless its id exists (a repeat with the same idempotency key)."""
        with self.db.write() as conn:
            query = select(media_requests.c.id).where(media_requests.c.id == values["id"])
            if conn.execute(query).first() is None:
                conn.execute(insert(media_requests).values(**values))

    def decide(
        self, request_id: str, status: str, *, params: Mapping[str, Any], error: str | None
    ) -> bool:
        """Approve or reject a request that awaits approval; False when it no longer does."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(media_requests)
                .where(media_requests.c.id == request_id, media_requests.c.status == "requested")
                .values(status=status, params=dict(params), error=error)
            ).rowcount
        return bool(changed)

    def swap(self, view: MediaRequestView, **values: Any) -> bool:
        """Compare-and-set on (status, job_id): only one process moves a request."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(media_requests).where(_as_seen(view)).values(updated_at=utcnow(), **values)
            ).rowcount
        return bool(changed)

    def touch(self, view: MediaRequestView, params: Mapping[str, Any]) -> None:
        """Store ``params`` only if nobody moved the request since ``view`` was read."""
        with self.db.write() as conn:
            conn.execute(update(media_requests).where(_as_seen(view)).values(params=dict(params)))

    def running(self, request_id: str, job_id: str, params: Mapping[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(media_requests)
                .where(media_requests.c.id == request_id)
                .values(status="running", job_id=job_id, params=dict(params), error=None)
            )

    def succeed(self, request_id: str, asset: Mapping[str, Any]) -> None:
        """A running request's job is done and its files are kept."""
        with self.db.write() as conn:
            conn.execute(
                update(media_requests)
                .where(media_requests.c.id == request_id, media_requests.c.status == "running")
                .values(status="succeeded", asset=dict(asset), error=None)
            )

    def fail(self, request_id: str, error: str) -> None:
        """An unfinished request fails (``error`` already redacted)."""
        with self.db.write() as conn:
            conn.execute(
                update(media_requests)
                .where(media_requests.c.id == request_id, media_requests.c.status.notin_(FINAL))
                .values(status="failed", error=error)
            )

    def between(
        self, conn: Connection, start: datetime, end: datetime, *, entity: str | None = None
    ) -> list[tuple[MediaRequestView, str | None]]:
        """Requests finished (or, while open, made) in ``[start, end)`` with their run's
        SOP id (the calendar)."""
        t = media_requests.c
        finished = t.status.in_(FINAL)
        query = (
            select(media_requests, runs.c.sop_id)
            .outerjoin(runs, runs.c.id == t.run_id)
            .where(
                or_(
                    and_(finished, t.updated_at >= start, t.updated_at < end),
                    and_(~finished, t.created_at >= start, t.created_at < end),
                )
            )
        )
        if entity is not None:
            query = query.where(t.entity == entity)
        return [(_view(row), row["sop_id"]) for row in conn.execute(query).mappings()]
