"""Run reports: one row per finished run whose report a tick claimed or wrote.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

``sopbench tick`` writes one report notebook per finished run, also for runs
that finished outside a tick (a later approval, a worker). The row's primary
key is the claim: of two ticks at once, one inserts it and writes the
report, the other skips the run. Runs that had already finished when this
revision was applied are marked ``skipped``, so upgrading an old workspace
does not make the next tick write a report for every run in its history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sopbench.store.types import UTCDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("writing", "written", "failed", "skipped")


def upgrade() -> None:
    allowed = ", ".join(f"'{s}'" for s in STATUSES)
    op.create_table(
        "run_reports",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(f"status IN ({allowed})", name=op.f("ck_run_reports_status")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_run_reports_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_reports")),
    )
    # The history before this revision: finished, real runs get no late report.
    op.execute(
        "INSERT INTO run_reports (run_id, status, owner, claimed_at) "
        "SELECT id, 'skipped', 'migration 0004', COALESCE(finished_at, updated_at) FROM runs "
        "WHERE status IN ('succeeded', 'failed', 'cancelled')"
    )


def downgrade() -> None:
    op.drop_table("run_reports")
