"""Drive a real run of a reference SOP to its end, the way its people would.

:class:`Crew` plays the people of ``sops/people.yaml``: every open approval,
media or manual task is decided by the first listed person the engine lets
decide it (never the person who started the run; a ``required: 2`` task gets
votes from as many people as it needs), every draft waiting for review is
approved by a person holding one of the step's reviewer roles, and a run
parked on a durable ``delay`` is woken the way ``sopbench tick`` wakes it
(``RunService.recover``) once the clock has reached its ``wake_at``.

Runs wait until dates in 2027 (a show's start, a trial's end) or for 30
days, so the clock is moved forward with ``time_machine`` (wall-clock time
only: the engine, the doubles and the database see the same moved time,
nothing of sopbench is patched). The crew only ever answers what the engine
asks; it never writes a run's state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from sopbench.model.common import InputSpec
from sopbench.model.workspace import PeopleFile
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService, TaskRow
from sopbench.store.run_rows import FINAL
from sopbench.store.tables import drafts, runs

__all__ = ["Crew", "form_answers"]

_ACTION = {"approval": "approve", "media": "approve", "review": "approve", "manual": "complete"}


def _answer(spec: InputSpec) -> Any:
    """A plausible value a person would type into one form field."""
    if spec.default is not None:
        return spec.default
    low = int(spec.minimum) if spec.minimum is not None else 0
    match spec.type:
        case "integer":
            return max(low, 3)
        case "number":
            return max(float(low), 120.0)
        case "boolean":
            return True
        case "date":
            return date(2027, 4, 1).isoformat()
        case "datetime":
            return "2027-04-01T10:00:00"
        case "enum":
            return (spec.values or [""])[0]
        case "list":
            return ["first item"]
        case _:
            return "done as asked"


def form_answers(form: Mapping[str, Any]) -> dict[str, Any]:
    """Answers for every field of a task's form."""
    return {name: _answer(InputSpec.model_validate(spec)) for name, spec in form.items()}


class Crew:
    """The people of a workspace answering one run (and its children) to the end."""

    def __init__(self, service: RunService, content: ContentService, starter: str) -> None:
        self.service = service
        self.content = content
        self.starter = starter
        people = service.workspace.people
        assert people is not None, "the reference workspace lists its people"
        self.people: PeopleFile = people
        self.decisions: list[tuple[str, str, str]] = []  # (what, step path, person)
        self._clock = ExitStack()

    def close(self) -> None:
        self._clock.close()

    # -- human tasks --------------------------------------------------------------

    def _deciders(self, task: TaskRow) -> Iterator[str]:
        for person in self.people.people:
            if person == self.starter:
                continue
            if self.service.engine.tasks.may_decide(task, person, self.people):
                yield person

    def _decide_task(self, task: TaskRow) -> None:
        action = _ACTION[task.kind]
        fields = form_answers(task.form)
        for person in self._deciders(task):
            out = self.service.decide(
                task.id, person=person, action=action, fields=fields, comment="looks right"
            )
            self.decisions.append((task.kind, task.step_path, person))
            if out["settled"]:
                return
        raise AssertionError(f"nobody in people.yaml may settle task {task.to_dict()}")

    # -- drafts --------------------------------------------------------------------

    def _reviewer(self, run_id: str, step_path: str, entity: str) -> str:
        step = self.service.view(run_id).steps
        rendered = next((s.rendered for s in step if s.path == step_path), None) or {}
        roles = set(rendered.get("reviewers") or ["manager"])
        for name, person in self.people.people.items():
            serves = "*" in person.entities or entity in person.entities
            if name != self.starter and serves and roles & set(person.roles):
                return name
        raise AssertionError(f"nobody may review {entity} drafts with roles {sorted(roles)}")

    def _review_drafts(self) -> bool:
        with self.service.db.read() as conn:
            waiting = list(
                conn.execute(
                    select(drafts.c.id, drafts.c.source_run_id, drafts.c.source_step)
                    .where(drafts.c.status == "in_review")
                    .order_by(drafts.c.id)
                ).mappings()
            )
        for row in waiting:
            draft = self.content.drafts.get(row["id"])
            person = self._reviewer(row["source_run_id"], row["source_step"], draft.entity)
            self.content.approve(draft.id, person=person, comment="on brand")
            self.decisions.append(("draft", row["source_step"], person))
        return bool(waiting)

    # -- time ------------------------------------------------------------------------

    def _next_wake(self) -> datetime | None:
        """The earliest wake time; a parent re-checking its child every 30 s does not
        count while the child itself waits for a later moment."""
        with self.service.db.read() as conn:
            rows = conn.execute(
                select(runs.c.wake_at, runs.c.wait_kind)
                .where(runs.c.status == "waiting", runs.c.wake_at.is_not(None))
                .order_by(runs.c.wake_at)
            ).all()
        own = [r.wake_at for r in rows if r.wait_kind != "child"]
        moments = own or [r.wake_at for r in rows]
        return moments[0] if moments else None

    def _wake_delays(self) -> bool:
        moment = self._next_wake()
        if moment is None:
            return False
        if moment > datetime.now(moment.tzinfo):
            # move the wall clock to just past the wake time, then let it tick on
            target = moment + timedelta(seconds=1)
            self._clock.enter_context(time_machine.travel(target, tick=True))
        moved = self.service.recover()
        self.decisions.append(("delay", moment.isoformat(), "tick"))
        return bool(moved)

    # -- the loop ---------------------------------------------------------------------

    def finish(self, run_id: str, *, max_rounds: int = 200) -> str:
        """Answer everything the run (and its children) asks until it ends; its status."""
        for _ in range(max_rounds):
            status = self.service.engine.runs.get_run(run_id).status
            if status in FINAL:
                return status
            tasks = self.service.tasks(status="open")
            if tasks:
                self._decide_task(tasks[0])
                continue
            if self._review_drafts() or self._wake_delays():
                continue
            if self.service.recover():  # e.g. a parent whose child just finished
                continue
            view = self.service.view(run_id)
            raise AssertionError(
                f"run {run_id} is {status} ({view.run.wait_kind}) and nothing is left to answer"
            )
        raise AssertionError(
            f"run {run_id} did not end in {max_rounds} rounds; last: {self.decisions[-5:]}"
        )
