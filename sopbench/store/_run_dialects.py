"""Where SQLite and PostgreSQL differ for run state: one class per backend.

:class:`~sopbench.store.runs.RunStore` asks its dialect instead of
branching on the backend's name, so each difference lives in one place.

* SQLite serialises writers (``BEGIN IMMEDIATE``), so a concurrency check
  inside a write transaction needs no extra lock and a claim query no
  ``SKIP LOCKED``.
* PostgreSQL lets writers run side by side: a transaction-scoped advisory
  lock per SOP makes two workers starting runs of one SOP count one after
  the other, and ``FOR UPDATE SKIP LOCKED`` lets concurrent workers claim
  different runs instead of racing for the same one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, Select, text

__all__ = ["PostgresRuns", "RunDialect", "SqliteRuns", "run_dialect"]

_Query = TypeVar("_Query", bound=Select[Any])


class RunDialect:
    """The default (SQLite) behaviour."""

    def lock_sop(self, conn: Connection, sop_id: str) -> None:
        """Nothing to do: SQLite's write transaction already holds the only write lock."""

    def skip_locked(self, query: _Query) -> _Query:
        return query


class SqliteRuns(RunDialect):
    pass


class PostgresRuns(RunDialect):
    def lock_sop(self, conn: Connection, sop_id: str) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:sop))"), {"sop": sop_id})

    def skip_locked(self, query: _Query) -> _Query:
        return query.with_for_update(skip_locked=True)


def run_dialect(name: str) -> RunDialect:
    return PostgresRuns() if name == "postgresql" else SqliteRuns()
