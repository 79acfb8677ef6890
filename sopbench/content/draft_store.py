"""Drafts as stored: every statement on ``drafts``, ``draft_revisions`` and ``draft_comments``.

:class:`~sopbench.content.drafts.DraftService` holds the review rules
(statuses, fingerprints, who may change what); this store reads and writes
the rows. Methods that take a ``conn`` run inside the caller's transaction
(a decision changes the draft, adds its comments and wakes the run in one),
the others open their own.

The store lives in :mod:`sopbench.content`, not :mod:`sopbench.store`,
because the rows come back as :class:`~sopbench.content.draft_types.Draft`,
whose rule checks need the platform rules of this layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from sopbench.content.draft_types import Draft, Revision, draft_of, revision_of
from sopbench.errors import NotFound
from sopbench.store import Database, utcnow
from sopbench.store.tables import draft_comments, draft_revisions, drafts, runs

__all__ = ["OPEN_STATUSES", "OUT_STATUSES", "CalendarDraft", "DraftStore"]

logger = logging.getLogger(__name__)

OUT_STATUSES = ("scheduled", "published", "failed")
"""Drafts that were handed to a platform: calendar kind ``post``."""
OPEN_STATUSES = ("draft", "in_review", "approved")
"""Drafts still on their way: calendar kind ``draft`` (rejected ones are left out)."""


@dataclass(frozen=True)
class CalendarDraft:
    """What the calendar shows of a draft: its times, current text and run's SOP."""

    id: str
    entity: str
    platform: str
    status: str
    publish_at: datetime | None
    source_run_id: str | None
    created_at: datetime
    updated_at: datetime
    body: str
    sop_id: str | None


class DraftStore:
    """The drafts of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- one draft (inside the caller's transaction) -----------------------------------

    def load(self, conn: Connection, draft_id: str, *, full: bool = False) -> Draft:
        """The draft; ``full`` adds every revision and the comments."""
        row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
        if row is None:
            raise NotFound(f"no draft with id '{draft_id}'", hint="`sopbench drafts` lists drafts")
        revs = conn.execute(
            select(draft_revisions)
            .where(draft_revisions.c.draft_id == draft_id)
            .order_by(draft_revisions.c.revision)
        ).mappings()
        history = [revision_of(r) for r in revs]
        current = next(r for r in history if r.revision == row["revision"])
        comments: list[dict[str, Any]] = []
        if full:
            comments = [
                {"author": c["author"], "body": c["body"], "created_at": c["created_at"]}
                for c in conn.execute(
                    select(draft_comments)
                    .where(draft_comments.c.draft_id == draft_id)
                    .order_by(draft_comments.c.id)
                ).mappings()
            ]
        return draft_of(row, current, history if full else [], comments)

    def exists(self, conn: Connection, draft_id: str) -> bool:
        return conn.execute(select(drafts.c.id).where(drafts.c.id == draft_id)).first() is not None

    def insert(
        self, conn: Connection, draft_id: str, *, revision: dict[str, Any], **values: Any
    ) -> None:
        """A new draft row (``values``) with its first revision (body, hashtags, media, author,
        note)."""
        now = utcnow()
        conn.execute(
            insert(drafts).values(
                id=draft_id, revision=1, version=0, created_at=now, updated_at=now, **values
            )
        )
        conn.execute(
            insert(draft_revisions).values(
                draft_id=draft_id, revision=1, created_at=now, **revision
            )
        )

    def add_revision(self, conn: Connection, draft_id: str, revision: int, **values: Any) -> None:
        """Revision ``revision`` (body, hashtags, media, author, note); none is overwritten."""
        conn.execute(
            insert(draft_revisions).values(
                draft_id=draft_id, revision=revision, created_at=utcnow(), **values
            )
        )

    def swap(self, conn: Connection, draft: Draft, **values: Any) -> bool:
        """Compare-and-set on ``version``: False when the draft changed since ``draft``."""
        result = conn.execute(
            update(drafts)
            .where(drafts.c.id == draft.id, drafts.c.version == draft.version)
            .values(version=draft.version + 1, updated_at=utcnow(), **values)
        )
        return bool(result.rowcount == 1)

    def comment(self, conn: Connection, draft_id: str, author: str, body: str) -> None:
        conn.execute(
            insert(draft_comments).values(
                draft_id=draft_id, author=author, body=body, created_at=utcnow()
            )
        )

    # -- listings ----------------------------------------------------------------------

    def find(
        self,
        *,
        status: str | None = None,
        entity: str | None = None,
        run_id: str | None = None,
        ids: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[Draft]:
        """Drafts (current revision only), oldest first."""
        query = select(drafts).order_by(drafts.c.created_at, drafts.c.id).limit(limit)
        if status:
            query = query.where(drafts.c.status == status)
        if entity:
            query = query.where(drafts.c.entity == entity)
        if run_id:
            query = query.where(drafts.c.source_run_id == run_id)
        if ids is not None:
            query = query.where(drafts.c.id.in_(list(ids)))
        with self.db.read() as conn:  # two queries, however many drafts
            rows = conn.execute(query).mappings().all()
            current = self._current_revisions(conn, [row["id"] for row in rows])
        return [draft_of(row, current[row["id"]], [], []) for row in rows]

    def status_counts(self) -> dict[tuple[str, str], int]:
        """How many drafts each (entity, status) has."""
        query = select(drafts.c.entity, drafts.c.status, func.count()).group_by(
            drafts.c.entity, drafts.c.status
        )
        with self.db.read() as conn:
            return {(e, s): int(n) for e, s, n in conn.execute(query)}

    def latest_out(self, *, entity: str | None = None, limit: int = 20) -> list[str]:
        """Ids of drafts handed to a platform (scheduled, published, failed), newest first."""
        query = (
            select(drafts.c.id)
            .where(drafts.c.status.in_(OUT_STATUSES))
            .order_by(drafts.c.updated_at.desc(), drafts.c.id)
            .limit(limit)
        )
        if entity:
            query = query.where(drafts.c.entity == entity)
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    def published_between(
        self, entity: str, since: datetime, until: datetime
    ) -> list[tuple[str, datetime]]:
        """(platform, publish time) of ``entity``'s published posts in ``[since, until)``:
        the planned ``publish_at``, else when the draft was marked published."""
        d = drafts.c
        query = select(d.platform, d.publish_at, d.updated_at).where(
            d.entity == entity,
            d.status == "published",
            or_(
                and_(d.publish_at >= since, d.publish_at < until),
                and_(d.publish_at.is_(None), d.updated_at >= since, d.updated_at < until),
            ),
        )
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [(row["platform"], row["publish_at"] or row["updated_at"]) for row in rows]

    def calendar_rows(
        self, conn: Connection, start: datetime, end: datetime, *, entity: str | None = None
    ) -> list[CalendarDraft]:
        """Drafts that may fall in ``[start, end)`` (a coarse filter: the calendar works out
        each one's time, then checks it again)."""
        d = drafts.c
        unplanned = d.publish_at.is_(None)
        query = (
            select(
                d.id,
                d.entity,
                d.platform,
                d.status,
                d.publish_at,
                d.source_run_id,
                d.created_at,
                d.updated_at,
                draft_revisions.c.body,
                runs.c.sop_id,
            )
            .join(
                draft_revisions,
                and_(draft_revisions.c.draft_id == d.id, draft_revisions.c.revision == d.revision),
            )
            .outerjoin(runs, runs.c.id == d.source_run_id)
            .where(
                d.status.in_(OUT_STATUSES + OPEN_STATUSES),
                or_(
                    and_(d.publish_at >= start, d.publish_at < end),
                    and_(
                        unplanned,
                        d.status.in_(("published", "failed")),
                        d.updated_at >= start,
                        d.updated_at < end,
                    ),
                    and_(
                        unplanned,
                        d.status.in_(OPEN_STATUSES),
                        d.created_at >= start,
                        d.created_at < end,
                    ),
                    # handed over for a later time: that time is after the draft was made
                    and_(unplanned, d.status == "scheduled", d.created_at < end),
                ),
            )
        )
        if entity is not None:
            query = query.where(d.entity == entity)
        return [CalendarDraft(**row) for row in conn.execute(query).mappings()]

    @staticmethod
    def _current_revisions(conn: Connection, draft_ids: Sequence[str]) -> dict[str, Revision]:
        if not draft_ids:
            return {}
        query = (
            select(draft_revisions)
            .join(
                drafts,
                (drafts.c.id == draft_revisions.c.draft_id)
                & (drafts.c.revision == draft_revisions.c.revision),
            )
            .where(drafts.c.id.in_(list(draft_ids)))
        )
        return {r["draft_id"]: revision_of(r) for r in conn.execute(query).mappings()}
