"""Run services: start, dry-run, list, show, decide, cancel, recover, work.

The CLI and the dashboard both call these; neither talks to the engine or
the database directly. The run vocabulary they show (:class:`RunRow`,
:class:`StepRow`, :class:`TaskRow` and its listings, the statuses,
:func:`json_default` for journal data) is exported from here for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sopbench.config import Settings
from sopbench.engine.crashes import database_unavailable
from sopbench.engine.services import ClientFactory
from sopbench.errors import DecisionRefused, NotFound
from sopbench.library import Workspace, load_workspace
from sopbench.model.workspace import Person
from sopbench.store import Database, open_database
from sopbench.store.run_queries import RunPageQuery
from sopbench.store.run_rows import ACTIVE, FINAL, RunRow, StepRow, json_default
from sopbench.store.tables import RUN_STATUSES
from sopbench.store.task_rows import InboxTask, RunTask, TaskRow, TaskVote
from sopbench.wiring import LEASE_TTL, standard_engine

logger = logging.getLogger(__name__)

__all__ = [
    "ACTIVE",
    "FINAL",
    "RUN_STATUSES",
    "InboxTask",
    "RunRow",
    "RunService",
    "RunTask",
    "RunView",
    "StepRow",
    "TaskRow",
    "TaskVote",
    "json_default",
]

_ACTIONS = {
    "approval": ("approve", "reject"),
    "media": ("approve", "reject"),
    "review": ("approve", "reject"),
    "manual": ("complete",),
}


@dataclass(frozen=True)
class RunView:
    """A run with its steps, as shown by ``run``, ``dry-run`` and ``show``."""

    run: RunRow
    steps: list[StepRow]

    def as_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "run_id": run.id,
            "sop_id": run.sop_id,
            "entity": run.entity,
            "status": run.status,
            "wait_kind": run.wait_kind,
            "dry_run": run.dry_run,
            "inputs": run.inputs,
            "vars": run.vars,
            "outputs": run.outputs,
            "error": run.error,
            "started_by": run.started_by,
            "parent_run_id": run.parent_run_id,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "wake_at": run.wake_at,
            "crash_count": run.crash_count,
            "error_step": run.error_step,
            "steps": [
                {
                    "path": s.path,
                    "type": s.type,
                    "status": s.status,
                    "attempt": s.attempt,
                    "with": s.rendered,
                    "result": s.result,
                    "error": s.error,
                }
                for s in self.steps
            ],
        }


class RunService:
    """One workspace's runs, over its database."""

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: Workspace | None = None,
        database: Database | None = None,
        clients: Mapping[str, ClientFactory] | None = None,
        hooks: Sequence[object] = (),
        lease_ttl: timedelta = LEASE_TTL,
    ) -> None:
        """``hooks`` observe the run lifecycle (see :mod:`sopbench.engine.hooks`);
        ``lease_ttl`` is how long a dead driver keeps its runs before others take over."""
        self.settings = settings
        self.workspace = workspace or load_workspace(settings.home)
        self.db = database or open_database(settings)
        self.engine = standard_engine(
            self.db, self.workspace, settings, clients=clients, hooks=hooks, lease_ttl=lease_ttl
        )

    def close(self) -> None:
        self.db.dispose()

    # -- starting ----------------------------------------------------------------

    def start(
        self,
        sop_id: str,
        inputs: Mapping[str, Any],
        *,
        started_by: str | None = None,
        dry_run: bool = False,
        detach: bool = False,
    ) -> RunView:
        """Start a run; unless ``detach``, drive it here until it first waits or ends."""
        sop = self.workspace.sop(sop_id)
        run_id = self.engine.start_run(sop, inputs, started_by=started_by, dry_run=dry_run)
        if not detach:
            self.engine.drive(run_id)
        return self.view(run_id)

    def drive(self, run_id: str) -> RunView:
        """Drive a started run here until it first waits or ends (``start(detach=True)`` first)."""
        self.engine.drive(run_id)
        return self.view(run_id)

    def dry_run_all(self) -> list[RunView]:
        """Dry-run every SOP with each of its example inputs (or none when it has none)."""
        self.workspace.raise_if_invalid()
        views = []
        for sop in sorted(self.workspace.sops.values(), key=lambda s: s.sop_id):
            for example in sop.examples or [{}]:
                views.append(self.start(sop.sop_id, example, started_by="dry-run", dry_run=True))
        return views

    # -- reading -----------------------------------------------------------------

    def view(self, run_id: str) -> RunView:
        run = self.engine.runs.get_run(run_id)
        return RunView(run, list(self.engine.runs.steps_of(run_id).values()))

    def journal(self, run_id: str) -> list[dict[str, Any]]:
        self.engine.runs.get_run(run_id)
        return self.engine.runs.journal_of(run_id)

    def list_runs(
        self,
        *,
        entity: str | None = None,
        sop_id: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[RunRow]:
        return self.engine.runs.list_runs(entity=entity, sop_id=sop_id, status=status, limit=limit)

    def runs_page(
        self,
        *,
        entity: str | None = None,
        sop_id: str | None = None,
        status: str | None = None,
        text: str = "",
        include_dry_runs: bool = True,
        offset: int = 0,
        limit: int = 20,
        sort: str | None = None,
        descending: bool = True,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of runs (newest first unless ``sort``), filtered and paged in SQL, and the
        total; see :mod:`sopbench.store.run_queries`."""
        query = RunPageQuery(
            entity=entity,
            sop_id=sop_id,
            status=status,
            text=text,
            include_dry_runs=include_dry_runs,
        )
        return self.engine.runs.runs_page(
            query, offset=offset, limit=limit, sort=sort, descending=descending
        )

    def run_tasks(self, run_id: str) -> list[RunTask]:
        """The run's human tasks with the votes cast on them (who decided what, when)."""
        self.engine.runs.get_run(run_id)
        return self.engine.tasks.with_votes(run_id)

    def status_counts(self) -> dict[tuple[str, str], int]:
        """How many non-dry runs each (entity, status) has."""
        return self.engine.runs.status_counts()

    def tasks(
        self, *, person: str | None = None, status: str = "open", limit: int = 200
    ) -> list[TaskRow]:
        """Human tasks; with ``person``, only those that person may decide."""
        rows = self.engine.tasks.listing(status=status, limit=limit)
        if person is None:
            return rows
        people = self.workspace.people
        self._member(person)
        return [r for r in rows if self.engine.tasks.may_decide(r, person, people)]

    def inbox(
        self,
        person: str,
        *,
        offset: int = 0,
        limit: int = 20,
        sort: str | None = None,
        descending: bool = False,
        text: str = "",
    ) -> tuple[list[InboxTask], int]:
        """One page of the open tasks ``person`` may decide and has not voted on, and the total.

        Filtered, sorted and paged in SQL (see :mod:`sopbench.store.task_queries`),
        so it stays fast with thousands of open tasks.
        """
        member = self._member(person, hint="sign in as a listed person")
        return self.engine.tasks.inbox_page(
            person,
            member,
            offset=offset,
            limit=limit,
            sort=sort,
            descending=descending,
            text=text,
        )

    def task_detail(self, task_id: str) -> dict[str, Any]:
        """A task (:class:`TaskRow`) with its run, the step it waits in, and the votes
        cast so far (:class:`TaskVote`)."""
        task = self.engine.tasks.get(task_id)
        run = self.engine.runs.get_run(task.run_id)
        step = self.engine.runs.steps_of(run.id).get(task.step_path)
        return {
            "task": task,
            "run": run,
            "step": step,
            "votes": self.engine.tasks.votes_of(task_id),
        }

    def _member(self, person: str, *, hint: str | None = None) -> Person:
        people = self.workspace.people
        member = people.people.get(person) if people else None
        if member is None:
            raise NotFound(f"'{person}' is not in sops/people.yaml", hint=hint)
        return member

    # -- deciding ------------------------------------------------------------------

    def decide(
        self,
        task_id: str,
        *,
        person: str,
        action: str,
        comment: str | None = None,
        fields: Mapping[str, Any] | None = None,
        continue_run: bool = True,
    ) -> dict[str, Any]:
        """Record a decision; once it settles the task, continue the run here (unless told not)."""
        engine = self.engine
        with self.db.write() as conn:
            task = engine.tasks.get(task_id, conn)
            allowed = _ACTIONS.get(task.kind, ())
            if action not in allowed:
                raise DecisionRefused(
                    f"a {task.kind} task is decided with {' or '.join(allowed)}, not {action}"
                )
            decision = engine.tasks.decide(
                conn,
                task_id,
                person=person,
                action=action,
                comment=comment,
                fields=fields or {},
                people=self.workspace.people,
            )
            engine.runs.journal(
                conn,
                "task.decided" if decision.settled else "task.vote",
                run_id=decision.run_id,
                actor=person,
                step_path=task.step_path,
                data={
                    "task_id": task_id,
                    "action": action,
                    "comment": comment,
                    "status": decision.status,
                    "approvals": decision.approvals,
                    "required": decision.required,
                },
            )
            if decision.settled:
                engine.runs.wake(conn, decision.run_id)
        logger.info(
            "task %s: %s by %s (%s)",
            task_id,
            action,
            person,
            decision.status,
            extra={"run_id": decision.run_id, "step_id": task.step_path},
        )
        run_status = engine.runs.get_run(decision.run_id).status
        if decision.settled and continue_run:
            run_status = engine.drive(decision.run_id)
        return {
            "task_id": task_id,
            "status": decision.status,
            "settled": decision.settled,
            "approvals": decision.approvals,
            "required": decision.required,
            "run_id": decision.run_id,
            "run_status": run_status,
        }

    def cancel(self, run_id: str, *, actor: str, reason: str = "cancelled") -> list[str]:
        run = self.engine.runs.get_run(run_id)
        if run.status in FINAL:
            raise DecisionRefused(f"run {run_id} is already {run.status}")
        return self.engine.cancel(run_id, actor=actor, reason=reason)

    # -- workers ---------------------------------------------------------------------

    def recover(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """Drive every run that is ready, due, or whose holder's lease expired, once.

        Returns the runs this process moved (not those another worker took
        first) with their status afterwards.
        """
        moved: list[tuple[str, str]] = []
        seen: set[str] = set()
        while len(seen) < limit:
            run_id = self.engine.claim_next(skip=seen)
            if run_id is None:
                break
            seen.add(run_id)
            status = self.engine.drive_if_free(run_id)
            if status is not None:
                moved.append((run_id, status))
        return moved

    def work(self, *, poll: float = 1.0, max_idle: float | None = None, stop: Any = None) -> int:
        """Loop over :meth:`recover` until ``stop()`` is true or idle for ``max_idle`` seconds."""
        driven, idle_since = 0, time.monotonic()
        while not (stop is not None and stop()):
            try:
                moved = self.recover()
            except Exception as exc:
                # One run's crash is contained by the engine; this is the pass
                # itself. A database that went away comes back: say so and look
                # again. Anything else is a bug that must stop the worker.
                if not database_unavailable(exc):
                    raise
                logger.warning(
                    "worker pass failed (%s); looking again in %.1f s", exc, poll, exc_info=True
                )
                time.sleep(poll)
                continue
            driven += len(moved)
            if moved:
                idle_since = time.monotonic()
            elif max_idle is not None and time.monotonic() - idle_since >= max_idle:
                break
            else:
                time.sleep(poll)
        return driven
