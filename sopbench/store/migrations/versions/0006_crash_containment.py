"""Crash containment and durable retries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

* ``runs.crash_count``: how many times driving the run ended in an
  unexpected error; recovery gives up (the run fails) after a set number.
* ``runs.error_step``: the path of the step a failed or crashed run stopped
  at, so ``show``, History and the report can name it.
* ``human_tasks.checklist``: a manual step's checklist items as a JSON
  list (they were appended to the description as ``[ ] item`` lines).
* Two engine-owned wait kinds: ``retry`` (a failing step waits durably for
  its next attempt) and ``recovery`` (a crashed run waits for its next
  recovery attempt, with backoff).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sopbench.store.types import JSONDocument

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("approval", "manual", "delay", "child", "review", "media")
_NEW_KINDS = (*_OLD_KINDS, "retry", "recovery")


def _check(kinds: Sequence[str]) -> str:
    return "wait_kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))


def _swap_check(kinds: Sequence[str]) -> None:
    # batch mode: SQLite cannot alter a CHECK in place, so the table is rebuilt
    # (Database.upgrade runs migrations with SQLite's foreign keys off, as a
    # rebuild needs, and checks them before committing).
    with op.batch_alter_table("runs", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_runs_wait_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_wait_kind"), _check(kinds))


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("crash_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("error_step", sa.String(400), nullable=True))
    _swap_check(_NEW_KINDS)
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("checklist", JSONDocument(), nullable=True))
    _split_checklists()


def _split_checklists() -> None:
    """Move ``[ ] item`` lines of open and past manual tasks into ``checklist``."""
    tasks = sa.table(
        "human_tasks",
        sa.column("id", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("checklist", JSONDocument()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(tasks.c.id, tasks.c.description).where(tasks.c.kind == "manual")
    ).all()
    for task_id, description in rows:
        lines = (description or "").splitlines()
        items = [line[4:].strip() for line in lines if line.startswith("[ ] ")]
        if not items:
            continue
        text = "\n".join(line for line in lines if not line.startswith("[ ] ")).strip()
        bind.execute(
            sa.update(tasks).where(tasks.c.id == task_id).values(description=text, checklist=items)
        )


def downgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("checklist")
    _swap_check(_OLD_KINDS)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("error_step")
        batch.drop_column("crash_count")
