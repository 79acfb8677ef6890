"""The sopbench schema as SQLAlchemy Core tables (no ORM).

This module describes the schema at the newest migration. Alembic owns the
actual DDL (``sopbench/store/migrations/versions``): tables are never
created from this metadata in production, and a test compares the two so
they cannot drift apart.

Statuses are plain strings guarded by CHECK constraints: readable in any SQL
shell, enforced by the database itself, and listed here as tuples so code
and constraints share one source of truth.

Timestamps use :class:`UTCDateTime`, JSON data :class:`JSONDocument`.
``created_at``/``updated_at`` get Python-side defaults for Core inserts and
updates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
    text,
)

from sopbench.store.types import JSONDocument, UTCDateTime, utcnow

__all__ = [
    "CATCHUP_POLICIES",
    "DRAFT_STATUSES",
    "EFFECT_STATUSES",
    "ENGINE_WAIT_KINDS",
    "HANDLER_WAIT_KINDS",
    "MEDIA_KINDS",
    "NAMING_CONVENTION",
    "REPORT_STATUSES",
    "RUN_STATUSES",
    "SCHEDULE_SOURCES",
    "STEP_STATUSES",
    "TASK_KINDS",
    "TASK_STATUSES",
    "WAIT_KINDS",
    "draft_comments",
    "draft_revisions",
    "drafts",
    "effects",
    "events",
    "fire_records",
    "human_tasks",
    "media_requests",
    "metadata",
    "people",
    "reviewer_sessions",
    "run_reports",
    "runs",
    "schedules",
    "step_states",
    "task_votes",
    "workers",
]

RUN_STATUSES = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")
HANDLER_WAIT_KINDS = ("approval", "manual", "delay", "child", "review", "media")
"""What a step handler may wait for."""
ENGINE_WAIT_KINDS = ("retry", "recovery")
"""Waits only the engine sets: a step's next attempt, a crashed run's next recovery."""
WAIT_KINDS = (*HANDLER_WAIT_KINDS, *ENGINE_WAIT_KINDS)
STEP_STATUSES = ("running", "waiting", "succeeded", "failed", "skipped", "cancelled")
EFFECT_STATUSES = ("intent", "done", "failed")
TASK_KINDS = ("approval", "manual", "review", "media")
TASK_STATUSES = ("open", "approved", "rejected", "completed", "expired", "cancelled")
DRAFT_STATUSES = (
    "draft",
    "in_review",
    "approved",
    "rejected",
    "scheduled",
    "published",
    "failed",
)
MEDIA_KINDS = ("canva", "sora")
CATCHUP_POLICIES = ("none", "latest", "all")
SCHEDULE_SOURCES = ("trigger", "manual")

# Deterministic constraint names: migrations (and future batch migrations on
# SQLite, which recreate tables) must be able to refer to constraints by name.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 40  # length of ids made by sopbench.store.new_id
PERSON = 200  # people ids, actors, lease owners
PATH = 400  # step paths such as ``each[3].child``


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (NULL passes, as in SQL)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def _empty() -> dict[str, Any]:
    return {}


def created() -> Column[Any]:
    return Column("created_at", UTCDateTime(), nullable=False, default=utcnow)


def updated() -> Column[Any]:
    return Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


def version() -> Column[int]:
    """Optimistic-lock counter: compare-and-set updates bump it."""
    return Column("version", Integer, nullable=False, default=0, server_default=text("0"))


runs = Table(
    "runs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("sop_id", String(120), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("status", String(20), nullable=False),
    Column("wait_kind", String(20), nullable=True),
    Column("dry_run", Boolean, nullable=False, default=False, server_default=false()),
    Column("inputs", JSONDocument(), nullable=False, default=_empty),
    Column("vars", JSONDocument(), nullable=False, default=_empty),
    Column("outputs", JSONDocument(), nullable=False, default=_empty),
    Column("definition", JSONDocument(), nullable=False),
    Column("sop_hash", String(64), nullable=False),
    Column("parent_run_id", String(ID), ForeignKey("runs.id"), nullable=True),
    Column("parent_step_path", String(PATH), nullable=True),
    Column("started_by", String(PERSON), nullable=True),
    Column("error", Text, nullable=True),
    Column("lease_owner", String(PERSON), nullable=True),
    Column("lease_expires_at", UTCDateTime(), nullable=True),
    Column("wake_at", UTCDateTime(), nullable=True),
    # Revision 0006: crash containment (see Engine._crashed).
    Column("crash_count", Integer, nullable=False, default=0, server_default=text("0")),
    Column("error_step", String(PATH), nullable=True),
    version(),
    created(),
    updated(),
    Column("finished_at", UTCDateTime(), nullable=True),
    one_of("status", RUN_STATUSES),
    one_of("wait_kind", WAIT_KINDS),
    Index("ix_runs_status", "status"),
    Index("ix_runs_sop_id_status", "sop_id", "status"),
    Index("ix_runs_wake_at", "wake_at"),
    Index("ix_runs_lease_expires_at", "lease_expires_at"),
    Index("ix_runs_parent_run_id", "parent_run_id"),
    # Revision 0005: newest-first listings (history, home, entity pages).
    Index("ix_runs_created_at", "created_at"),
    Index("ix_runs_entity_created_at", "entity", "created_at"),
)

step_states = Table(
    "step_states",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=False),
    Column("path", String(PATH), nullable=False),
    Column("step_id", String(120), nullable=False),
    Column("type", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, default=1, server_default=text("1")),
    Column("seq", Integer, nullable=False),
    Column("rendered", JSONDocument(), nullable=True),
    Column("result", JSONDocument(), nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("finished_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("run_id", "path"),
    one_of("status", STEP_STATUSES),
)

effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=False),
    Column("step_path", String(PATH), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("attempt", Integer, nullable=False, default=1, server_default=text("1")),
    Column("status", String(20), nullable=False),
    Column("request", JSONDocument(), nullable=True),
    Column("response", JSONDocument(), nullable=True),
    created(),
    Column("completed_at", UTCDateTime(), nullable=True),
    one_of("status", EFFECT_STATUSES),
    Index("ix_effects_run_id", "run_id"),
)

# The audit journal. Append-only: triggers installed by migration 0001 make
# UPDATE and DELETE fail inside the database, whoever issues them.
events = Table(
    "events",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=True),
    Column("ts", UTCDateTime(), nullable=False, default=utcnow),
    Column("actor", String(PERSON), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("step_path", String(PATH), nullable=True),
    Column("data", JSONDocument(), nullable=False, default=_empty),
    Index("ix_events_run_id", "run_id"),
    sqlite_autoincrement=True,  # ids never reused: the journal order is the id order
)

human_tasks = Table(
    "human_tasks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("run_id", String(ID), ForeignKey("runs.id"), nullable=False),
    Column("step_path", String(PATH), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("approvers", JSONDocument(), nullable=False),
    Column("assignee", String(PERSON), nullable=True),
    Column("required", Integer, nullable=False, default=1, server_default=text("1")),
    Column("approvals", Integer, nullable=False, default=0, server_default=text("0")),
    Column("status", String(20), nullable=False),
    Column("form", JSONDocument(), nullable=False, default=_empty),
    Column("fields", JSONDocument(), nullable=True),
    Column("subject_fingerprint", String(64), nullable=True),
    Column("started_by", String(PERSON), nullable=True),
    Column("decided_by", String(PERSON), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("comment", Text, nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("on_timeout", String(20), nullable=True),
    # Revision 0006: a manual step's checklist items, as data (not in the description).
    Column("checklist", JSONDocument(), nullable=True),
    version(),
    created(),
    one_of("kind", TASK_KINDS),
    one_of("status", TASK_STATUSES),
    Index("ix_human_tasks_status", "status"),
    Index("ix_human_tasks_run_id", "run_id"),
    Index("ix_human_tasks_status_due_at", "status", "due_at"),
    Index("ix_human_tasks_status_created_at", "status", "created_at"),  # revision 0005
)

task_votes = Table(
    "task_votes",
    metadata,
    Column(
        "task_id",
        String(ID),
        ForeignKey("human_tasks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("person", String(PERSON), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("comment", Text, nullable=True),
    Column("fields", JSONDocument(), nullable=True),
    Column("at", UTCDateTime(), nullable=False, default=utcnow),
    PrimaryKeyConstraint("task_id", "person"),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity", String(80), nullable=False),
    Column("platform", String(40), nullable=False),
    Column("account", String(200), nullable=True),
    Column("status", String(20), nullable=False),
    Column("revision", Integer, nullable=False, default=1, server_default=text("1")),
    Column("source_run_id", String(ID), nullable=True),
    Column("source_step", String(PATH), nullable=True),
    Column("publish_at", UTCDateTime(), nullable=True),
    Column("approved_fingerprint", String(64), nullable=True),
    Column("approved_by", String(PERSON), nullable=True),
    Column("approved_at", UTCDateTime(), nullable=True),
    Column("post_id", String(200), nullable=True),
    version(),
    created(),
    updated(),
    one_of("status", DRAFT_STATUSES),
    Index("ix_drafts_status", "status"),
    Index("ix_drafts_entity", "entity"),
)

draft_revisions = Table(
    "draft_revisions",
    metadata,
    Column("draft_id", String(ID), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("hashtags", JSONDocument(), nullable=False),
    Column("media", JSONDocument(), nullable=False),
    Column("author", String(PERSON), nullable=False),
    Column("note", Text, nullable=True),
    created(),
    PrimaryKeyConstraint("draft_id", "revision"),
)

draft_comments = Table(
    "draft_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("draft_id", String(ID), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(PERSON), nullable=False),
    Column("body", Text, nullable=False),
    created(),
    Index("ix_draft_comments_draft_id", "draft_id"),
)

media_requests = Table(
    "media_requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("entity", String(80), nullable=False),
    Column("prompt_id", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("cost_class", String(20), nullable=False),
    Column("params", JSONDocument(), nullable=False, default=_empty),
    Column("job_id", String(200), nullable=True),
    Column("asset", JSONDocument(), nullable=True),
    Column("run_id", String(ID), nullable=True),
    Column("step_path", String(PATH), nullable=True),
    Column("requested_by", String(PERSON), nullable=True),
    Column("error", Text, nullable=True),
    created(),
    updated(),
    one_of("kind", MEDIA_KINDS),
    Index("ix_media_requests_status", "status"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("sop_id", String(120), nullable=False),
    Column("cron", String(120), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("catchup", String(10), nullable=False),
    Column("source", String(20), nullable=False),
    Column("paused", Boolean, nullable=False, default=False, server_default=false()),
    Column("inputs", JSONDocument(), nullable=False, default=_empty),
    Column("next_fire_at", UTCDateTime(), nullable=True),
    created(),
    updated(),
    one_of("catchup", CATCHUP_POLICIES),
    one_of("source", SCHEDULE_SOURCES),
    Index("ix_schedules_next_fire_at", "next_fire_at"),
)

# The primary key is the "fires exactly once" guarantee: of two tick
# processes inserting the same (schedule, fire time), one gets an IntegrityError.
fire_records = Table(
    "fire_records",
    metadata,
    Column(
        "schedule_id",
        String(ID),
        ForeignKey("schedules.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("fire_time", UTCDateTime(), nullable=False),
    Column("run_id", String(ID), nullable=True),
    Column("fired_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("status", String(20), nullable=False),
    PrimaryKeyConstraint("schedule_id", "fire_time"),
)

people = Table(
    "people",
    metadata,
    Column("id", String(PERSON), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("roles", JSONDocument(), nullable=False),
    Column("entities", JSONDocument(), nullable=False),
    Column("access_code_hash", String(200), nullable=True),
    updated(),
)

# Revision 0002: live processes, so `recover` can tell a dead lease holder
# (stale heartbeat) from a slow one.
workers = Table(
    "workers",
    metadata,
    Column("id", String(PERSON), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("heartbeat_at", UTCDateTime(), nullable=False, default=utcnow),
    Index("ix_workers_heartbeat_at", "heartbeat_at"),
)

# Revision 0003: dashboard sign-ins. ``key_hash`` is a SHA-256 of the
# browser's login cookie; the person is who every decision from it records.
reviewer_sessions = Table(
    "reviewer_sessions",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("person", String(PERSON), nullable=False),
    created(),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_reviewer_sessions_expires_at", "expires_at"),
)

# Revision 0004: one report per finished run. The primary key is the claim:
# of two ticks reporting the same run, one inserts the row and writes the
# notebook, the other skips it. ``writing`` rows older than a few minutes
# belong to a dead tick and may be taken over (compare-and-set on claimed_at).
REPORT_STATUSES = ("writing", "written", "failed", "skipped")
run_reports = Table(
    "run_reports",
    metadata,
    Column("run_id", String(ID), ForeignKey("runs.id"), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("owner", String(PERSON), nullable=True),
    Column("claimed_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("written_at", UTCDateTime(), nullable=True),
    Column("path", Text, nullable=True),
    Column("error", Text, nullable=True),
    one_of("status", REPORT_STATUSES),
)
