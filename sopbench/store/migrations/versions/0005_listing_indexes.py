"""Indexes for the newest-first listings of the dashboard and the CLI.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

History pages runs newest first (optionally per entity) and the approvals
inbox pages open tasks oldest first; without these indexes both sort the
whole table on every page (~50 ms at 50,000 runs on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_runs_created_at"), "runs", ["created_at"])
    op.create_index(op.f("ix_runs_entity_created_at"), "runs", ["entity", "created_at"])
    op.create_index(
        op.f("ix_human_tasks_status_created_at"), "human_tasks", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_human_tasks_status_created_at"), table_name="human_tasks")
    op.drop_index(op.f("ix_runs_entity_created_at"), table_name="runs")
    op.drop_index(op.f("ix_runs_created_at"), table_name="runs")
