"""A reviewer's inbox: the open human tasks one person may decide, paged in SQL.

:meth:`TaskStore.may_decide` answers "may this person decide this task?"
for one row in Python. The dashboard's Approvals page needs the same answer
for thousands of open tasks at once, a page at a time, so :func:`decidable_by`
states the same rules as one SQL condition (SQLite and PostgreSQL):

* the person serves the task's entity (or every entity, ``*``);
* approvals, reviews and media requests: the person did not start the run;
* a manual task with an assignee: the person holds the assignee role, or
  ``owner`` or ``manager``;
* any other task: it names no approver roles, or the person holds one.

The inbox also leaves out tasks the person has already voted on (an N-of-M
approval stays open until enough others approve). ``tests/services`` checks
the condition against ``may_decide`` on a mixed set of tasks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from sopbench.errors import NotFound
from sopbench.model.workspace import PeopleFile, Person
from sopbench.store import Database
from sopbench.store.tables import human_tasks, runs, task_votes

__all__ = ["INBOX_SORTS", "decidable_by", "inbox_page", "task_votes_of"]

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


def _approver_roles(dialect: str) -> Any:
    """The task's ``approvers`` JSON list as a one-column table (``value``)."""
    name = "jsonb_array_elements_text" if dialect == "postgresql" else "json_each"
    return getattr(func, name)(human_tasks.c.approvers).table_valued("value")


def _no_approvers(dialect: str) -> ColumnElement[bool]:
    approvers = human_tasks.c.approvers
    if dialect == "postgresql":
        return func.jsonb_array_length(approvers) == 0
    return func.json_array_length(approvers) == 0


def decidable_by(person: str, member: Person, dialect: str) -> ColumnElement[bool]:
    """SQL condition: ``person`` may decide the task (``TaskStore.may_decide``)."""
    t = human_tasks.c
    roles = sorted(set(member.roles))
    entity_ok = true() if "*" in member.entities else t.entity.in_(list(member.entities))
    manual = t.kind == "manual"
    starter_ok = or_(manual, t.started_by.is_(None), t.started_by != person)
    assigned = and_(manual, t.assignee.is_not(None), t.assignee != "")
    assignee_ok = true() if _MANUAL_OVERRIDE & set(roles) else t.assignee.in_(roles)
    listed = _approver_roles(dialect)
    no_roles = _no_approvers(dialect)
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


def _member(person: str, people: PeopleFile | None) -> Person:
    member = people.people.get(person) if people else None
    if member is None:
        raise NotFound(f"'{person}' is not in sops/people.yaml", hint="sign in as a listed person")
    return member


def inbox_page(
    db: Database,
    people: PeopleFile | None,
    person: str,
    *,
    offset: int = 0,
    limit: int = 20,
    sort: str | None = None,
    descending: bool = False,
    text: str = "",
) -> tuple[list[dict[str, Any]], int]:
    """One page of the open tasks ``person`` may decide and has not voted on, and their total."""
    member = _member(person, people)
    where = and_(
        human_tasks.c.status == "open",
        decidable_by(person, member, db.dialect),
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
    with db.read() as conn:
        total = int(
            conn.execute(select(func.count()).select_from(scanned).where(where)).scalar_one()
        )
        ids = list(conn.execute(page).scalars()) if total else []
        if not ids:
            return [], total
        full = select(human_tasks, runs.c.sop_id, runs.c.status.label("run_status"))
        found = conn.execute(full.select_from(source).where(human_tasks.c.id.in_(ids))).mappings()
        by_id = {row["id"]: dict(row) for row in found}
    return [by_id[i] for i in ids if i in by_id], total


def task_votes_of(db: Database, task_id: str) -> list[dict[str, Any]]:
    """The votes cast on a task so far (who, what, when), oldest first."""
    query = (
        select(task_votes.c.person, task_votes.c.decision, task_votes.c.comment, task_votes.c.at)
        .where(task_votes.c.task_id == task_id)
        .order_by(task_votes.c.at, task_votes.c.person)
    )
    with db.read() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
