"""Steps that wait for people: manual checklist items and approvals."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome, Wait
from sopbench.errors import StepFailed
from sopbench.model.steps import ApprovalParams, ManualParams
from sopbench.steps._base import BaseHandler
from sopbench.store.task_rows import TaskRow

__all__ = ["Approval", "Manual", "fingerprint"]


def fingerprint(subject: Any) -> str | None:
    """A stable hash of what is being approved (None when nothing is named)."""
    if subject is None:
        return None
    text = json.dumps(subject, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _form(params: ApprovalParams | ManualParams) -> dict[str, Any]:
    return {
        name: spec.model_dump(mode="json", exclude_none=True) for name, spec in params.form.items()
    }


def _example_fields(params: ApprovalParams | ManualParams) -> dict[str, Any]:
    """Form values a dry-run pretends a person entered: defaults, else a typed placeholder."""
    samples = {
        "integer": 1,
        "number": 1,
        "boolean": True,
        "date": "2027-01-01",
        "datetime": "2027-01-01T09:00:00",
        "list": [],
    }
    values = {}
    for name, spec in params.form.items():
        if spec.default is not None:
            values[name] = spec.default
        elif spec.type == "enum" and spec.values:
            values[name] = spec.values[0]
        else:
            values[name] = samples.get(spec.type, f"<{name}>")
    return values


class _HumanTask(BaseHandler):
    kind = "manual"

    def _task_fields(self, call: StepCall) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self, call: StepCall) -> Outcome:
        fields = self._task_fields(call)
        task_id = call.services.create_task(call, kind=self.kind, **fields)
        due: datetime | None = fields.get("due_at")
        return Wait(self.kind, wake_at=due, detail={"task_id": task_id})

    def resume(self, call: StepCall) -> Outcome:
        task_id = call.memo.get("task_id")
        if not task_id:  # the crash came before the wait was recorded: start over
            return self.run(call)
        task = call.services.task(task_id)
        status = task.status
        if status == "open":
            due = task.due_at
            if (
                due is not None
                and call.services.now() >= due
                and call.services.expire_task(call, task_id)
            ):
                return self.timed_out(call)
            return Wait(self.kind, wake_at=due, detail={"task_id": task_id})
        if status == "expired":
            return self.timed_out(call)
        if status == "cancelled":
            raise StepFailed(f"task {task_id} was cancelled")
        return self.decided(task)

    def timed_out(self, call: StepCall) -> Outcome:  # pragma: no cover - overridden
        raise NotImplementedError

    def decided(self, task: TaskRow) -> Outcome:  # pragma: no cover - overridden
        raise NotImplementedError


class Approval(_HumanTask):
    """N of M people with the approver roles decide; never approved by a timeout."""

    Params = ApprovalParams
    kind = "approval"

    def _task_fields(self, call: StepCall) -> dict[str, Any]:
        params = call.typed(ApprovalParams)
        return {
            "title": params.title,
            "description": params.description,
            "approvers": list(params.approvers),
            "required": params.required,
            "form": _form(params),
            "subject_fingerprint": fingerprint(params.subject),
            "due_at": call.started_at + params.timeout if params.timeout else None,
            "on_timeout": params.on_timeout,
        }

    def timed_out(self, call: StepCall) -> Outcome:
        params = call.typed(ApprovalParams)
        if params.on_timeout == "fail":
            raise StepFailed(f"approval '{params.title}' timed out without a decision")
        return Done(
            {"decision": "rejected", "decided_by": "timeout", "comment": "timed out", "fields": {}}
        )

    def decided(self, task: TaskRow) -> Outcome:
        return Done(
            {
                "decision": task.status,
                "decided_by": task.decided_by,
                "comment": task.comment,
                "fields": task.fields or {},
                "approvals": task.approvals,
            }
        )

    def simulate(self, call: StepCall) -> Outcome:
        params = call.typed(ApprovalParams)
        return Done(
            {
                "decision": "approved",
                "decided_by": "dry-run",
                "comment": "approved (dry-run)",
                "fields": _example_fields(params),
                "approvals": params.required,
            }
        )


class Manual(_HumanTask):
    """A checklist item; the run waits until the assignee completes it."""

    Params = ManualParams
    kind = "manual"

    def _task_fields(self, call: StepCall) -> dict[str, Any]:
        params = call.typed(ManualParams)
        return {
            "title": call.step.title(),
            "description": params.instructions,
            "checklist": list(params.checklist),
            "approvers": [params.assignee] if params.assignee else [],
            "assignee": params.assignee,
            "required": 1,
            "form": _form(params),
            "due_at": call.started_at + params.due if params.due else None,
            "on_timeout": params.on_timeout,
        }

    def timed_out(self, call: StepCall) -> Outcome:
        params = call.typed(ManualParams)
        if params.on_timeout == "fail":
            raise StepFailed(f"'{call.step.title()}' was not completed in time")
        return Done({"completed_by": None, "fields": {}, "timed_out": True})

    def decided(self, task: TaskRow) -> Outcome:
        return Done({"completed_by": task.decided_by, "fields": task.fields or {}})

    def simulate(self, call: StepCall) -> Outcome:
        return Done(
            {"completed_by": "dry-run", "fields": _example_fields(call.typed(ManualParams))}
        )
