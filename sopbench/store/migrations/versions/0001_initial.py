"""Initial schema: runs, steps, effects, the append-only journal, human tasks,
drafts, media requests, schedules and people.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Every constraint is named explicitly (``op.f``) so later migrations, and
SQLite batch migrations that rebuild tables, can address them by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sopbench.store.types import JSONDocument, UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(40)
PERSON = sa.String(200)
PATH = sa.String(400)
ZERO = sa.text("0")
ONE = sa.text("1")


def ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def doc(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, JSONDocument(), nullable=nullable)


def one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def fk(table: str, column: str, target: str, *, cascade: bool = False) -> sa.ForeignKeyConstraint:
    target_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{target_table}"),
        ondelete="CASCADE" if cascade else None,
    )


def pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


SQLITE_APPEND_ONLY = [
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
]

POSTGRES_APPEND_ONLY = [
    """
    CREATE FUNCTION sopbench_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are append-only (% refused)', TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION sopbench_events_append_only()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION sopbench_events_append_only()
    """,
]


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("sop_id", sa.String(120), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("wait_kind", sa.String(20), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()),
        doc("inputs"),
        doc("vars"),
        doc("outputs"),
        doc("definition"),
        sa.Column("sop_hash", sa.String(64), nullable=False),
        sa.Column("parent_run_id", ID, nullable=True),
        sa.Column("parent_step_path", PATH, nullable=True),
        sa.Column("started_by", PERSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", PERSON, nullable=True),
        ts("lease_expires_at", nullable=True),
        ts("wake_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default=ZERO),
        ts("created_at"),
        ts("updated_at"),
        ts("finished_at", nullable=True),
        pk("runs", "id"),
        fk("runs", "parent_run_id", "runs.id"),
        one_of(
            "runs", "status", ["pending", "running", "waiting", "succeeded", "failed", "cancelled"]
        ),
        one_of("runs", "wait_kind", ["approval", "manual", "delay", "child", "review", "media"]),
    )
    index("runs", "status")
    index("runs", "sop_id", "status")
    index("runs", "wake_at")
    index("runs", "lease_expires_at")
    index("runs", "parent_run_id")

    op.create_table(
        "step_states",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("path", PATH, nullable=False),
        sa.Column("step_id", sa.String(120), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=ONE),
        sa.Column("seq", sa.Integer(), nullable=False),
        doc("rendered", nullable=True),
        doc("result", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        ts("started_at"),
        ts("finished_at", nullable=True),
        pk("step_states", "run_id", "path"),
        fk("step_states", "run_id", "runs.id"),
        one_of(
            "step_states",
            "status",
            ["running", "waiting", "succeeded", "failed", "skipped", "cancelled"],
        ),
    )

    op.create_table(
        "effects",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_path", PATH, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=ONE),
        sa.Column("status", sa.String(20), nullable=False),
        doc("request", nullable=True),
        doc("response", nullable=True),
        ts("created_at"),
        ts("completed_at", nullable=True),
        pk("effects", "id"),
        fk("effects", "run_id", "runs.id"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_effects_idempotency_key")),
        one_of("effects", "status", ["intent", "done", "failed"]),
    )
    index("effects", "run_id")

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("run_id", ID, nullable=True),
        ts("ts"),
        sa.Column("actor", PERSON, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("step_path", PATH, nullable=True),
        doc("data"),
        pk("events", "id"),
        fk("events", "run_id", "runs.id"),
        sqlite_autoincrement=True,
    )
    index("events", "run_id")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_APPEND_ONLY:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRES_APPEND_ONLY:
            op.execute(statement)

    op.create_table(
        "human_tasks",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("step_path", PATH, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        doc("approvers"),
        sa.Column("assignee", PERSON, nullable=True),
        sa.Column("required", sa.Integer(), nullable=False, server_default=ONE),
        sa.Column("approvals", sa.Integer(), nullable=False, server_default=ZERO),
        sa.Column("status", sa.String(20), nullable=False),
        doc("form"),
        doc("fields", nullable=True),
        sa.Column("subject_fingerprint", sa.String(64), nullable=True),
        sa.Column("started_by", PERSON, nullable=True),
        sa.Column("decided_by", PERSON, nullable=True),
        ts("decided_at", nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        ts("due_at", nullable=True),
        sa.Column("on_timeout", sa.String(20), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default=ZERO),
        ts("created_at"),
        pk("human_tasks", "id"),
        fk("human_tasks", "run_id", "runs.id"),
        one_of("human_tasks", "kind", ["approval", "manual", "review", "media"]),
        one_of(
            "human_tasks",
            "status",
            ["open", "approved", "rejected", "completed", "expired", "cancelled"],
        ),
    )
    index("human_tasks", "status")
    index("human_tasks", "run_id")
    index("human_tasks", "status", "due_at")

    op.create_table(
        "task_votes",
        sa.Column("task_id", ID, nullable=False),
        sa.Column("person", PERSON, nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        doc("fields", nullable=True),
        ts("at"),
        pk("task_votes", "task_id", "person"),
        fk("task_votes", "task_id", "human_tasks.id", cascade=True),
    )

    op.create_table(
        "drafts",
        sa.Column("id", ID, nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("account", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default=ONE),
        sa.Column("source_run_id", ID, nullable=True),
        sa.Column("source_step", PATH, nullable=True),
        ts("publish_at", nullable=True),
        sa.Column("approved_fingerprint", sa.String(64), nullable=True),
        sa.Column("approved_by", PERSON, nullable=True),
        ts("approved_at", nullable=True),
        sa.Column("post_id", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default=ZERO),
        ts("created_at"),
        ts("updated_at"),
        pk("drafts", "id"),
        one_of(
            "drafts",
            "status",
            ["draft", "in_review", "approved", "rejected", "scheduled", "published", "failed"],
        ),
    )
    index("drafts", "status")
    index("drafts", "entity")

    op.create_table(
        "draft_revisions",
        sa.Column("draft_id", ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        doc("hashtags"),
        doc("media"),
        sa.Column("author", PERSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        ts("created_at"),
        pk("draft_revisions", "draft_id", "revision"),
        fk("draft_revisions", "draft_id", "drafts.id", cascade=True),
    )

    op.create_table(
        "draft_comments",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("draft_id", ID, nullable=False),
        sa.Column("author", PERSON, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        ts("created_at"),
        pk("draft_comments", "id"),
        fk("draft_comments", "draft_id", "drafts.id", cascade=True),
    )
    index("draft_comments", "draft_id")

    op.create_table(
        "media_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("prompt_id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cost_class", sa.String(20), nullable=False),
        doc("params"),
        sa.Column("job_id", sa.String(200), nullable=True),
        doc("asset", nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("step_path", PATH, nullable=True),
        sa.Column("requested_by", PERSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        ts("created_at"),
        ts("updated_at"),
        pk("media_requests", "id"),
        one_of("media_requests", "kind", ["canva", "sora"]),
    )
    index("media_requests", "status")

    op.create_table(
        "schedules",
        sa.Column("id", ID, nullable=False),
        sa.Column("sop_id", sa.String(120), nullable=False),
        sa.Column("cron", sa.String(120), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("catchup", sa.String(10), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        doc("inputs"),
        ts("next_fire_at", nullable=True),
        ts("created_at"),
        ts("updated_at"),
        pk("schedules", "id"),
        one_of("schedules", "catchup", ["none", "latest", "all"]),
        one_of("schedules", "source", ["trigger", "manual"]),
    )
    index("schedules", "next_fire_at")

    op.create_table(
        "fire_records",
        sa.Column("schedule_id", ID, nullable=False),
        ts("fire_time"),
        sa.Column("run_id", ID, nullable=True),
        ts("fired_at"),
        sa.Column("status", sa.String(20), nullable=False),
        pk("fire_records", "schedule_id", "fire_time"),
        fk("fire_records", "schedule_id", "schedules.id", cascade=True),
    )

    op.create_table(
        "people",
        sa.Column("id", PERSON, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        doc("roles"),
        doc("entities"),
        sa.Column("access_code_hash", sa.String(200), nullable=True),
        ts("updated_at"),
        pk("people", "id"),
    )


def downgrade() -> None:
    for table in [
        "people",
        "fire_records",
        "schedules",
        "media_requests",
        "draft_comments",
        "draft_revisions",
        "drafts",
        "task_votes",
        "human_tasks",
    ]:
        op.drop_table(table)
    op.drop_table("events")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION sopbench_events_append_only()")
    for table in ["effects", "step_states", "runs"]:
        op.drop_table(table)
