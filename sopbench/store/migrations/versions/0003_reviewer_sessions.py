"""Reviewer sessions: who is signed in to the dashboard, per browser.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A reviewer signs in once (people.yaml id + access code); the session row
binds a hash of the browser's Voilà login cookie to that person until it
expires, so every page of the dashboard knows who decides without putting
anything secret in a URL. Only hashes are stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sopbench.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reviewer_sessions",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_reviewer_sessions")),
    )
    op.create_index(op.f("ix_reviewer_sessions_expires_at"), "reviewer_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reviewer_sessions_expires_at"), table_name="reviewer_sessions")
    op.drop_table("reviewer_sessions")
