"""Listings of runs: the history page, counts, and what the calendar and reviews read.

The part of :class:`~sopbench.store.runs.RunStore` that only reads for the
faces and for :mod:`sopbench.content`, kept in its own module so the run
state machine's statements stay together in :mod:`sopbench.store.runs`.

The History page lists every run the workspace ever had (tens of thousands
after a year), so filtering, sorting and paging happen in the database and
only one page of rows is read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, true

from sopbench.store.db import Database
from sopbench.store.run_rows import RunRow
from sopbench.store.tables import runs, step_states

__all__ = ["RUN_SORTS", "RunPageQuery", "RunQueries", "WaitingRun"]

logger = logging.getLogger(__name__)

# Columns the runs table may be sorted by (anything else sorts by creation time).
RUN_SORTS: dict[str, Any] = {
    "run_id": runs.c.id,
    "sop_id": runs.c.sop_id,
    "entity": runs.c.entity,
    "status": runs.c.status,
    "started_by": runs.c.started_by,
    "created_at": runs.c.created_at,
    "finished_at": runs.c.finished_at,
    "dry_run": runs.c.dry_run,
}

# Only these columns are read for a listing: inputs, vars and the definition
# can be large, and a page of 20 rows should not drag them along.
_LISTED = (
    runs.c.id.label("run_id"),
    runs.c.sop_id,
    runs.c.entity,
    runs.c.status,
    runs.c.wait_kind,
    runs.c.dry_run,
    runs.c.started_by,
    runs.c.parent_run_id,
    runs.c.error,
    runs.c.created_at,
    runs.c.finished_at,
)


@dataclass(frozen=True)
class RunPageQuery:
    """The filters of one runs listing (all optional)."""

    entity: str | None = None
    sop_id: str | None = None
    status: str | None = None
    text: str = ""
    include_dry_runs: bool = True

    def where(self) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        if self.entity:
            conditions.append(runs.c.entity == self.entity)
        if self.sop_id:
            conditions.append(runs.c.sop_id == self.sop_id)
        if self.status:
            conditions.append(runs.c.status == self.status)
        if not self.include_dry_runs:
            conditions.append(runs.c.dry_run.is_(False))
        needle = self.text.strip().lower()
        if needle:
            searched = (runs.c.id, runs.c.sop_id, runs.c.entity, runs.c.status, runs.c.started_by)
            conditions.append(
                or_(*(func.lower(c).contains(needle, autoescape=True) for c in searched))
            )
        return and_(true(), *conditions)


@dataclass(frozen=True)
class WaitingRun:
    """A real run waiting on a ``delay`` step until ``wake_at`` (a calendar entry)."""

    id: str
    sop_id: str
    entity: str
    wake_at: datetime


class RunQueries:
    """Mixed into :class:`~sopbench.store.runs.RunStore`."""

    db: Database

    def list_runs(
        self,
        *,
        entity: str | None = None,
        sop_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[RunRow]:
        """The newest runs matching the filters."""
        query = select(runs).order_by(runs.c.created_at.desc()).limit(limit)
        if entity:
            query = query.where(runs.c.entity == entity)
        if sop_id:
            query = query.where(runs.c.sop_id == sop_id)
        if status:
            query = query.where(runs.c.status == status)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [RunRow.of(row) for row in rows]

    def runs_page(
        self,
        query: RunPageQuery,
        *,
        offset: int = 0,
        limit: int = 20,
        sort: str | None = None,
        descending: bool = True,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of runs matching ``query`` (newest first unless sorted), and their total."""
        where = query.where()
        order = RUN_SORTS.get(sort or "", runs.c.created_at)
        # The id breaks ties so pages never overlap or skip rows with equal keys.
        tiebreak = runs.c.id.desc() if descending else runs.c.id.asc()
        statement: Select[Any] = (
            select(*_LISTED)
            .where(where)
            .order_by(order.desc() if descending else order.asc(), tiebreak)
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        )
        count = select(func.count()).select_from(runs).where(where)
        with self.db.read() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = [dict(r) for r in conn.execute(statement).mappings()] if total else []
        return rows, total

    def status_counts(self) -> dict[tuple[str, str], int]:
        """How many non-dry runs each (entity, status) has."""
        query = (
            select(runs.c.entity, runs.c.status, func.count())
            .where(runs.c.dry_run.is_(False))
            .group_by(runs.c.entity, runs.c.status)
        )
        with self.db.read() as conn:
            return {(e, s): n for e, s, n in conn.execute(query)}

    def sop_ids(self, run_ids: Iterable[str]) -> dict[str, str]:
        """The SOP id of each of ``run_ids`` that exists."""
        wanted = sorted(set(run_ids))
        if not wanted:
            return {}
        query = select(runs.c.id, runs.c.sop_id).where(runs.c.id.in_(wanted))
        with self.db.read() as conn:
            return {run_id: sop_id for run_id, sop_id in conn.execute(query)}

    def review_source(self, run_id: str, step_path: str | None) -> tuple[str | None, Any]:
        """Who started the run, and what its step at ``step_path`` was given (or None)."""
        with self.db.read() as conn:  # one snapshot of run and step
            started_by = conn.execute(select(runs.c.started_by).where(runs.c.id == run_id)).scalar()
            rendered = None
            if step_path is not None:
                rendered = conn.execute(
                    select(step_states.c.rendered).where(
                        step_states.c.run_id == run_id, step_states.c.path == step_path
                    )
                ).scalar()
        return started_by, rendered

    # -- the calendar (inside its one read transaction) ------------------------------------

    def delays_between(
        self, conn: Connection, start: datetime, end: datetime, *, entity: str | None = None
    ) -> list[WaitingRun]:
        """Real runs waiting on a delay that ends in ``[start, end)``."""
        query = select(runs.c.id, runs.c.sop_id, runs.c.entity, runs.c.wake_at).where(
            runs.c.status == "waiting",
            runs.c.wait_kind == "delay",
            runs.c.dry_run.is_(False),
            runs.c.wake_at >= start,
            runs.c.wake_at < end,
        )
        if entity is not None:
            query = query.where(runs.c.entity == entity)
        return [WaitingRun(**row) for row in conn.execute(query).mappings()]

    def waiting_steps(self, conn: Connection, run_ids: list[str], step_type: str) -> dict[str, str]:
        """Run id → the id of its waiting step of ``step_type``."""
        if not run_ids:
            return {}
        query = select(step_states.c.run_id, step_states.c.step_id).where(
            step_states.c.run_id.in_(run_ids),
            step_states.c.status == "waiting",
            step_states.c.type == step_type,
        )
        return {row["run_id"]: row["step_id"] for row in conn.execute(query).mappings()}
