"""Where SQLite and PostgreSQL differ for human tasks: one class per backend.

:class:`~sopbench.store.tasks.TaskStore` asks its dialect instead of
branching on the backend's name, so each difference lives in one place
(the shape of :mod:`sopbench.store._run_dialects`).

The inbox (:mod:`sopbench.store.task_queries`) reads a task's ``approvers``,
a JSON list, inside SQL. The JSON functions are the backends' own:
SQLite's JSON1 ``json_each`` / ``json_array_length`` over JSON text,
PostgreSQL's ``jsonb_array_elements_text`` / ``jsonb_array_length`` over
``JSONB`` (the column's type there, see :class:`~sopbench.store.types.JSONDocument`).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, func

__all__ = ["PostgresTasks", "SqliteTasks", "TaskDialect", "task_dialect"]

logger = logging.getLogger(__name__)


class TaskDialect:
    """The default (SQLite) behaviour."""

    def json_list_items(self, column: Any) -> Any:
        """The JSON list in ``column`` as a one-column table (``value``)."""
        return func.json_each(column).table_valued("value")

    def json_list_empty(self, column: Any) -> ColumnElement[bool]:
        return func.json_array_length(column) == 0


class SqliteTasks(TaskDialect):
    pass


class PostgresTasks(TaskDialect):
    def json_list_items(self, column: Any) -> Any:
        return func.jsonb_array_elements_text(column).table_valued("value")

    def json_list_empty(self, column: Any) -> ColumnElement[bool]:
        return func.jsonb_array_length(column) == 0


def task_dialect(name: str) -> TaskDialect:
    return PostgresTasks() if name == "postgresql" else SqliteTasks()
