"""Listings of human tasks: by status, of one run, due in a window, and the inbox.

The part of :class:`~sopbench.store.tasks.TaskStore` that only reads, kept
in its own module so the deciding logic stays short.

The inbox
    :meth:`TaskStore.may_decide` answers "may this person decide this
    task?" for one row in Python. The dashboard's Approvals page needs the
    same answer for thousands of open tasks at once, a page at a time, so
    :func:`decidable_by` states the same rules as one SQL condition
    (SQLite and PostgreSQL, through the store's dialect):

    * the person serves the task's entity (or every entity, ``*``);
    * approvals, reviews and media requests: the person did not start the run;
    * a manual task with an assignee: the person holds the assignee role,
      or ``owner`` or ``manager``;
    * any other task: it names no approver roles, or the person holds one.

    The inbox also leaves out tasks the person has already voted on (an
    N-of-M approval stays open until enough others approve).
    ``tests/services/test_inbox.py`` checks the condition against
    ``may_decide`` on a mixed set of tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from sopbench.model.workspace import Person
from sopbench.store._task_dialects import TaskDialect
from sopbench.store.db import Database
from sopbench.store.tables import human_tasks, runs, task_votes
from sopbench.store.task_rows import InboxTask, RunTask, TaskRow, TaskVote

__all__ = ["INBOX_SORTS", "TaskQueries", "decidable_by"]

logger = logging.getLogger(__name__)

# Columns the inbox may be sorted by (anything else sorts by creation time).
INBOX_SORTS: dict[str, Any] = {
    "created_at": human_tasks.c.created_at,
    "due_at": human_tasks.c.due_at,
    "sop_id": runs.c.sop_id,
    "entity": human_tasks.c.entity,
    "kind": human_tasks.c.kind,
    "title": human_tasks.c.title,
    "step_path": human_tasks.c.step_path,
    "progress": human_tasks.c.approvals,
}

# Roles that may always complete an assigned manual task (as in TaskStore._check_person).
_MANUAL_OVERRIDE = {"owner", "manager"}

_VOTE_COLUMNS = (task_votes.c.person, task_votes.c.decision, task_votes.c.comment, task_votes.c.at)


def decidable_by(person: str, member: Person, dialect: TaskDialect) -> ColumnElement[bool]:
    """SQL condition: ``person`` may decide the task (``TaskStore.may_decide``)."""
    t = human_tasks.c
    roles = sorted(set(member.roles))
    entity_ok = true() if "*" in member.entities else t.entity.in_(list(member.entities))
    manual = t.kind == "manual"
    starter_ok = or_(manual, t.started_by.is_(None), t.started_by != person)
    assigned = and_(manual, t.assignee.is_not(None), t.assignee != "")
    assignee_ok = true() if _MANUAL_OVERRIDE & set(roles) else t.assignee.in_(roles)
    listed = dialect.json_list_items(t.approvers)
    no_roles = dialect.json_list_empty(t.approvers)
    has_role = select(literal(1)).select_from(listed).where(listed.c.value.in_(roles)).exists()
    roles_ok = or_(and_(assigned, assignee_ok), and_(not_(assigned), or_(no_roles, has_role)))
    return and_(entity_ok, starter_ok, roles_ok)


def _not_voted(person: str) -> ColumnElement[bool]:
    voted = (
        select(literal(1))
        .select_from(task_votes)
        .where(task_votes.c.task_id == human_tasks.c.id, task_votes.c.person == person)
        .exists()
    )
    return not_(voted)


def _matches(text: str) -> ColumnElement[bool]:
    needle = text.strip().lower()
    if not needle:
        return true()
    columns = [
        human_tasks.c.title,
        human_tasks.c.kind,
        human_tasks.c.entity,
        human_tasks.c.step_path,
        human_tasks.c.id,
        runs.c.sop_id,
    ]
    return or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns))


class TaskQueries:
    """Mixed into :class:`~sopbench.store.tasks.TaskStore`."""

    db: Database
    _dialect: TaskDialect

    def listing(self, *, status: str = "open", limit: int = 200) -> list[TaskRow]:
        """Tasks with ``status`` (``all``: any), oldest first."""
        query = select(human_tasks).order_by(human_tasks.c.created_at).limit(limit)
        if status != "all":
            query = query.where(human_tasks.c.status == status)
        with self.db.read() as conn:
            return [TaskRow.of(row) for row in conn.execute(query).mappings()]

    def of_run(self, run_id: str) -> list[TaskRow]:
        """The run's tasks, oldest first."""
        with self.db.read() as conn:
            return [TaskRow.of(row) for row in conn.execute(self._of_run(run_id)).mappings()]

    def with_votes(self, run_id: str) -> list[RunTask]:
        """The run's tasks, oldest first, each with the votes cast on it (who, what, when)."""
        votes_query = (
            select(task_votes.c.task_id, *_VOTE_COLUMNS)
            .join(human_tasks, human_tasks.c.id == task_votes.c.task_id)
            .where(human_tasks.c.run_id == run_id)
            .order_by(task_votes.c.at, task_votes.c.person)
        )
        with self.db.read() as conn:  # one snapshot: no vote without its task
            tasks = conn.execute(self._of_run(run_id)).mappings().all()
            votes = conn.execute(votes_query).mappings().all() if tasks else []
        return [
            RunTask.of(
                task,
                votes=[_vote(v) for v in votes if v["task_id"] == task["id"]],
            )
            for task in tasks
        ]

    def votes_of(self, task_id: str) -> list[TaskVote]:
        """The votes cast on a task so far (who, what, when), oldest first."""
        query = (
            select(*_VOTE_COLUMNS)
            .where(task_votes.c.task_id == task_id)
            .order_by(task_votes.c.at, task_votes.c.person)
        )
        with self.db.read() as conn:
            return [_vote(row) for row in conn.execute(query).mappings()]

    def due_between(
        self, conn: Connection, start: datetime, end: datetime, *, entity: str | None = None
    ) -> list[tuple[TaskRow, str]]:
        """Open tasks due in ``[start, end)`` with their run's SOP id (the calendar)."""
        query = (
            select(human_tasks, runs.c.sop_id)
            .join(runs, runs.c.id == human_tasks.c.run_id)
            .where(
                human_tasks.c.status == "open",
                human_tasks.c.due_at >= start,
                human_tasks.c.due_at < end,
            )
        )
        if entity is not None:
            query = query.where(human_tasks.c.entity == entity)
        return [(TaskRow.of(row), row["sop_id"]) for row in conn.execute(query).mappings()]

    def inbox_page(
        self,
        person: str,
        member: Person,
        *,
        offset: int = 0,
        limit: int = 20,
        sort: str | None = None,
        descending: bool = False,
        text: str = "",
    ) -> tuple[list[InboxTask], int]:
        """One page of the open tasks ``person`` may decide and has not voted on, and the total."""
        where = and_(
            human_tasks.c.status == "open",
            decidable_by(person, member, self._dialect),
            _not_voted(person),
            _matches(text),
        )
        # Filtering and sorting read every open task, so they touch ``human_tasks``
        # alone unless the text or the sort needs the run's SOP id; the page's rows
        # are then read in full (with their runs) by id.
        needs_run = bool(text.strip()) or sort == "sop_id"
        source = human_tasks.join(runs, runs.c.id == human_tasks.c.run_id)
        scanned = source if needs_run else human_tasks
        order = INBOX_SORTS.get(sort or "", human_tasks.c.created_at)
        page: Select[Any] = (
            select(human_tasks.c.id)
            .select_from(scanned)
            .where(where)
            .order_by(order.desc() if descending else order.asc(), human_tasks.c.id)
            .offset(max(offset, 0))
            .limit(max(limit, 0))
        )
        with self.db.read() as conn:
            total = int(
                conn.execute(select(func.count()).select_from(scanned).where(where)).scalar_one()
            )
            ids = list(conn.execute(page).scalars()) if total else []
            if not ids:
                return [], total
            full = select(human_tasks, runs.c.sop_id, runs.c.status.label("run_status"))
            found = conn.execute(full.select_from(source).where(human_tasks.c.id.in_(ids)))
            by_id = {
                row["id"]: InboxTask.of(row, sop_id=row["sop_id"], run_status=row["run_status"])
                for row in found.mappings()
            }
        return [by_id[i] for i in ids if i in by_id], total

    @staticmethod
    def _of_run(run_id: str) -> Select[Any]:
        return (
            select(human_tasks)
            .where(human_tasks.c.run_id == run_id)
            .order_by(human_tasks.c.created_at, human_tasks.c.id)
        )


def _vote(row: Any) -> TaskVote:
    return TaskVote(
        person=row["person"], decision=row["decision"], comment=row["comment"], at=row["at"]
    )
