"""Human tasks (approvals, manual checklist items, reviews): create, decide, expire.

Every statement on ``human_tasks`` and ``task_votes`` lives here and in
:mod:`sopbench.store.task_queries` (the listings and the inbox this store
inherits); rows come back as :class:`~sopbench.store.task_rows.TaskRow`.

Deciding is one compare-and-set on the task row (``status = 'open' AND
version = :seen``), read under a row lock so simultaneous deciders queue:
of any number of simultaneous decisions exactly one settles the task (or,
with ``required: N``, exactly N approvals count), the others are told who
decided first. The same transaction marks the waiting run ready, so it
resumes exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from sopbench.errors import AlreadyDecided, DecisionRefused, InputError, NotFound
from sopbench.model.common import InputSpec
from sopbench.model.inputs import coerce_inputs
from sopbench.model.workspace import PeopleFile
from sopbench.store._task_dialects import task_dialect
from sopbench.store.db import Database, utcnow
from sopbench.store.runs import RunStore
from sopbench.store.tables import human_tasks, task_votes
from sopbench.store.task_queries import TaskQueries
from sopbench.store.task_rows import TaskRow

__all__ = ["Decision", "TaskRow", "TaskStore", "task_id_for"]

_DECISIONS = {"approve": "approved", "reject": "rejected", "complete": "completed"}


def task_id_for(run_id: str, path: str) -> str:
    """One task per step execution: re-running a crashed step finds the same task."""
    return "tsk_" + hashlib.sha256(f"{run_id}\x00{path}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Decision:
    """What a decision did: whether it settled the task, and the run to continue."""

    task_id: str
    run_id: str
    status: str
    settled: bool
    approvals: int
    required: int


class TaskStore(TaskQueries):
    def __init__(self, database: Database) -> None:
        self.db = database
        self._dialect = task_dialect(database.dialect)
        self._runs = RunStore(database)

    def create(self, conn: Connection, task_id: str, **values: Any) -> None:
        exists = conn.execute(select(human_tasks.c.id).where(human_tasks.c.id == task_id)).first()
        if exists is None:
            conn.execute(
                insert(human_tasks).values(id=task_id, status="open", created_at=utcnow(), **values)
            )

    def get(
        self, task_id: str, conn: Connection | None = None, *, for_update: bool = False
    ) -> TaskRow:
        """The task row; ``for_update`` locks it until the transaction ends (PostgreSQL)."""
        if conn is None:
            with self.db.read() as own:
                return self.get(task_id, own)
        query = select(human_tasks).where(human_tasks.c.id == task_id)
        if for_update:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(
                f"no task with id '{task_id}'", hint="`sopbench approvals` lists open tasks"
            )
        return TaskRow.of(row)

    def expire(self, conn: Connection, task_id: str) -> bool:
        result = conn.execute(
            update(human_tasks)
            .where(human_tasks.c.id == task_id, human_tasks.c.status == "open")
            .values(
                status="expired",
                decided_at=utcnow(),
                decided_by="timeout",
                version=human_tasks.c.version + 1,
            )
        )
        return result.rowcount == 1

    def cancel_open(self, conn: Connection, run_id: str) -> None:
        conn.execute(
            update(human_tasks)
            .where(human_tasks.c.run_id == run_id, human_tasks.c.status == "open")
            .values(status="cancelled", decided_at=utcnow(), version=human_tasks.c.version + 1)
        )

    # -- deciding ------------------------------------------------------------

    def decide(
        self,
        conn: Connection,
        task_id: str,
        *,
        person: str,
        action: str,
        comment: str | None,
        fields: Mapping[str, Any],
        people: PeopleFile | None,
        now: datetime | None = None,
    ) -> Decision:
        """Record one person's decision; raises :class:`DecisionRefused` subclasses."""
        now = now or utcnow()
        # Lock the task row: simultaneous deciders queue here and each reads the
        # state the previous one committed. Without it, N-of-M votes cast at once
        # all read the same version and all but one lose the compare-and-set
        # below ("try again") although the task is still open. (SQLite needs no
        # lock: its writers are already serialised by BEGIN IMMEDIATE.)
        task = self.get(task_id, conn, for_update=True)
        self._check_open(task, now)
        run_status = self._runs.status_of(conn, task.run_id)
        if run_status in ("cancelled", "succeeded", "failed"):
            raise DecisionRefused(
                f"run {task.run_id} is {run_status}; its tasks can no longer be decided"
            )
        self._check_person(task, person, action, people)
        values = self._form_values(task, fields) if action != "reject" else dict(fields)
        if action == "approve":
            return self._approve(conn, task, person, comment, values, now)
        status = _DECISIONS[action]
        self._vote(conn, task, person, action, comment, values, now)
        self._settle(conn, task, status, person, comment, values, now)
        return Decision(task_id, task.run_id, status, True, task.approvals, task.required)

    @staticmethod
    def _check_open(task: TaskRow, now: datetime) -> None:
        if task.status != "open":
            who = task.decided_by or "someone"
            when = task.decided_at.isoformat(timespec="seconds") if task.decided_at else "?"
            if task.status == "expired":
                raise DecisionRefused(
                    f"task {task.id} timed out at {when}; it can no longer be decided"
                )
            if task.status == "cancelled":
                raise DecisionRefused(f"task {task.id} was cancelled at {when}")
            raise AlreadyDecided(f"task {task.id} was already {task.status} by {who} at {when}")
        if task.due_at is not None and task.due_at <= now:
            raise DecisionRefused(
                f"task {task.id} timed out at {task.due_at.isoformat(timespec='seconds')}"
            )

    @classmethod
    def may_decide(cls, task: TaskRow, person: str, people: PeopleFile | None) -> bool:
        """Whether ``person`` may decide ``task`` (the checks :meth:`decide` makes)."""
        action = "complete" if task.kind == "manual" else "approve"
        try:
            cls._check_person(task, person, action, people)
        except DecisionRefused:
            return False
        return True

    @staticmethod
    def _check_person(task: TaskRow, person: str, action: str, people: PeopleFile | None) -> None:
        if people is None or person not in people.people:
            raise DecisionRefused(
                f"'{person}' is not in sops/people.yaml", hint="decide as a listed person"
            )
        if action in ("approve", "reject") and person == task.started_by:
            raise DecisionRefused(
                f"{person} started this run and cannot approve its steps",
                hint="ask another approver",
            )
        member = people.people[person]
        if "*" not in member.entities and task.entity not in member.entities:
            raise DecisionRefused(f"{person} does not serve entity '{task.entity}'")
        roles = list(task.approvers or [])
        if task.kind == "manual" and task.assignee:
            roles = [task.assignee, "owner", "manager"]
        if roles and not set(roles) & set(member.roles):
            raise DecisionRefused(
                f"{person} lacks the role to decide this task (needs one of: {', '.join(roles)})"
            )

    @staticmethod
    def _form_values(task: TaskRow, fields: Mapping[str, Any]) -> dict[str, Any]:
        specs = {name: InputSpec.model_validate(spec) for name, spec in (task.form or {}).items()}
        try:
            values = coerce_inputs(specs, fields, what="field")
        except InputError as exc:
            raise DecisionRefused(
                exc.message, hint="fix the form fields and decide again"
            ) from None
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}

    def _vote(
        self,
        conn: Connection,
        task: TaskRow,
        person: str,
        action: str,
        comment: str | None,
        values: Mapping[str, Any],
        now: datetime,
    ) -> None:
        seen = conn.execute(
            select(task_votes.c.decision).where(
                task_votes.c.task_id == task.id, task_votes.c.person == person
            )
        ).first()
        if seen is not None:
            raise AlreadyDecided(f"{person} already decided task {task.id} ({seen[0]})")
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(task_votes).values(
                        task_id=task.id,
                        person=person,
                        decision=action,
                        comment=comment,
                        fields=dict(values),
                        at=now,
                    )
                )
        except IntegrityError:
            # The same person deciding twice at once: the other call won the row.
            self._check_open(self.get(task.id, conn), now)
            raise AlreadyDecided(f"{person} already decided task {task.id}") from None

    def _approve(
        self,
        conn: Connection,
        task: TaskRow,
        person: str,
        comment: str | None,
        values: Mapping[str, Any],
        now: datetime,
    ) -> Decision:
        self._vote(conn, task, person, "approve", comment, values, now)
        approvals = task.approvals + 1
        if approvals < task.required:
            changed = conn.execute(
                update(human_tasks)
                .where(
                    human_tasks.c.id == task.id,
                    human_tasks.c.status == "open",
                    human_tasks.c.version == task.version,
                )
                .values(approvals=approvals, version=human_tasks.c.version + 1)
            ).rowcount
            if changed != 1:
                raise AlreadyDecided(f"task {task.id} changed while deciding; try again")
            return Decision(task.id, task.run_id, "open", False, approvals, task.required)
        self._settle(conn, task, "approved", person, comment, values, now, approvals=approvals)
        return Decision(task.id, task.run_id, "approved", True, approvals, task.required)

    def _settle(
        self,
        conn: Connection,
        task: TaskRow,
        status: str,
        person: str,
        comment: str | None,
        values: Mapping[str, Any],
        now: datetime,
        approvals: int | None = None,
    ) -> None:
        changed = conn.execute(
            update(human_tasks)
            .where(
                human_tasks.c.id == task.id,
                human_tasks.c.status == "open",
                human_tasks.c.version == task.version,
            )
            .values(
                status=status,
                decided_by=person,
                decided_at=now,
                comment=comment,
                fields=dict(values),
                version=human_tasks.c.version + 1,
                approvals=task.approvals if approvals is None else approvals,
            )
        ).rowcount
        if changed != 1:
            latest = self.get(task.id, conn)
            self._check_open(latest, now)
            raise AlreadyDecided(f"task {task.id} changed while deciding; try again")
