"""Run history queries for the dashboard: runs filtered, sorted and paged in SQL.

The History page lists every run the workspace ever had (tens of thousands
after a year), so filtering, sorting and paging happen in the database and
only one page of rows is read. A run's human tasks come with the votes cast
on them, so a reader sees who decided what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true

from sopbench.store import Database
from sopbench.store.tables import human_tasks, runs, task_votes

__all__ = ["RUN_SORTS", "RunPageQuery", "runs_page", "tasks_of_run"]

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


def runs_page(
    db: Database,
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
    with db.read() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = [dict(r) for r in conn.execute(statement).mappings()] if total else []
    return rows, total


def tasks_of_run(db: Database, run_id: str) -> list[dict[str, Any]]:
    """The run's human tasks, oldest first, each with its ``votes`` (who, what, when)."""
    tasks_query = (
        select(human_tasks)
        .where(human_tasks.c.run_id == run_id)
        .order_by(human_tasks.c.created_at, human_tasks.c.id)
    )
    votes_query = (
        select(
            task_votes.c.task_id,
            task_votes.c.person,
            task_votes.c.decision,
            task_votes.c.comment,
            task_votes.c.at,
        )
        .join(human_tasks, human_tasks.c.id == task_votes.c.task_id)
        .where(human_tasks.c.run_id == run_id)
        .order_by(task_votes.c.at, task_votes.c.person)
    )
    with db.read() as conn:
        tasks = [dict(r) for r in conn.execute(tasks_query).mappings()]
        votes = [dict(r) for r in conn.execute(votes_query).mappings()] if tasks else []
    for task in tasks:
        task["votes"] = [
            {k: v for k, v in vote.items() if k != "task_id"}
            for vote in votes
            if vote["task_id"] == task["id"]
        ]
    return tasks
