"""Typed rows of run state and the JSON form the database keeps.

:class:`RunRow` and :class:`StepRow` are what :class:`~sopbench.store.runs.RunStore`
returns; :func:`jsonable` is the form every JSON column reads back in, so
code that keeps values in memory can keep exactly that form too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

__all__ = ["ACTIVE", "FINAL", "RunRow", "StepRow", "json_default", "jsonable"]

logger = logging.getLogger(__name__)

FINAL = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE = frozenset({"pending", "running", "waiting"})


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from the database (dates become ISO text).

    The engine keeps exactly this form in memory too, so a run renders the
    same templates whether it ran straight through or was resumed. Numbers
    JSON cannot hold (infinity, NaN: PostgreSQL refuses them) become the
    text ``"Infinity"``, ``"-Infinity"``, ``"NaN"``.
    """
    return json.loads(json.dumps(value, default=json_default), parse_constant=str)


@dataclass(frozen=True)
class RunRow:
    id: str
    sop_id: str
    entity: str
    status: str
    wait_kind: str | None
    dry_run: bool
    inputs: dict[str, Any]
    vars: dict[str, Any]
    outputs: dict[str, Any]
    definition: dict[str, Any]
    sop_hash: str
    parent_run_id: str | None
    parent_step_path: str | None
    started_by: str | None
    error: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    wake_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    crash_count: int = 0
    error_step: str | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        """The typed form of a selected ``runs`` row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class StepRow:
    path: str
    step_id: str
    type: str
    status: str
    attempt: int
    seq: int
    rendered: Any
    result: Any
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Self:
        """The typed form of a selected ``step_states`` row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})
