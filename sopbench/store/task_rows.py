"""Typed rows of human tasks: what :class:`~sopbench.store.tasks.TaskStore` returns.

A task's structured parts stay structured: ``approvers`` and a manual
step's ``checklist`` are lists, ``form`` (the fields a decider fills in) and
the decided ``fields`` are mappings, all read from JSON columns; nothing is
packed into the description text.

:meth:`TaskRow.to_dict` gives the columns under their own names (the CLI's
``approvals --json`` and the dashboard's tables use it), so a new column is
one new field here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

__all__ = ["InboxTask", "RunTask", "TaskRow", "TaskVote"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskRow:
    """One ``human_tasks`` row."""

    id: str
    run_id: str
    step_path: str
    kind: str
    entity: str
    title: str
    description: str | None
    approvers: list[str]
    assignee: str | None
    required: int
    approvals: int
    status: str
    form: dict[str, Any]
    fields: dict[str, Any] | None
    subject_fingerprint: str | None
    started_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    due_at: datetime | None
    on_timeout: str | None
    checklist: list[str]
    version: int
    created_at: datetime

    @classmethod
    def of(cls, row: Mapping[Any, Any], **extra: Any) -> Self:
        """The typed form of a selected row (``extra``: a subclass's own fields)."""
        values = {name: row[name] for name in _TASK_FIELDS}
        values["approvers"] = list(values["approvers"] or [])
        values["form"] = dict(values["form"] or {})
        values["checklist"] = [str(item) for item in values["checklist"] or []]
        if values["fields"] is not None:
            values["fields"] = dict(values["fields"])
        return cls(**values, **extra)

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, in column order (shallow: the lists are the row's own)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_TASK_FIELDS = tuple(f.name for f in dataclasses.fields(TaskRow))


@dataclass(frozen=True)
class TaskVote:
    """One person's vote on a task (``task_votes``)."""

    person: str
    decision: str
    comment: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class InboxTask(TaskRow):
    """An open task in someone's inbox, with its run's SOP and status."""

    sop_id: str
    run_status: str


@dataclass(frozen=True)
class RunTask(TaskRow):
    """A task of a run's history, with the votes cast on it (oldest first)."""

    votes: list[TaskVote]

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["votes"] = [vote.to_dict() for vote in self.votes]
        return data
