"""The schema: migrations reach head, match tables.py, and upgrade old databases."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sopbench.errors import StoreError
from sopbench.store import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    Database,
    connect_database,
    new_id,
    open_database,
)
from sopbench.store import tables as t
from sopbench.store.db import MIGRATIONS_DIR
from tests.store.old_schema import as_of

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def table_names(db: Database) -> set[str]:
    with db.read() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_head_revision_constant_matches_alembic() -> None:
    script = script_directory()
    assert script.get_current_head() == HEAD_REVISION
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert chain == list(KNOWN_REVISIONS)


def test_fresh_database_reaches_head(empty_db_url: str) -> None:
    db = open_database(empty_db_url)
    try:
        assert db.revision() == HEAD_REVISION
        assert set(t.metadata.tables) <= table_names(db)
    finally:
        db.dispose()


def test_migrations_match_tables_module(database: Database) -> None:
    """tables.py and the migrations describe the same schema (no drift)."""
    with database.read() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "target_metadata": t.metadata}
        )
        diff = compare_metadata(context, t.metadata)
    assert diff == []


@pytest.mark.slow
def test_open_is_cheap_at_head(database: Database) -> None:
    """Reopening a database at head does not need (or import) Alembic."""
    code = (
        "import sys\n"
        "from sopbench.store import open_database\n"
        f"open_database({str(database.url.render_as_string(hide_password=False))!r}).dispose()\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def add_rows(db: Database) -> None:
    """Rows as revision 0001 knew them: columns added later are not named."""
    run_id = new_id("run")
    old_runs = as_of(db, t.runs)
    with db.write() as conn:
        conn.execute(
            old_runs.insert().values(
                id=run_id,
                sop_id="cs_weekly",
                entity="computer_store",
                status="waiting",
                wait_kind="approval",
                inputs={"a": 1},
                definition={"steps": []},
                sop_hash="0" * 64,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        conn.execute(
            t.events.insert(),
            [
                {"run_id": run_id, "ts": NOW, "actor": "alice", "kind": "run.started", "data": {}},
                {
                    "run_id": run_id,
                    "ts": NOW,
                    "actor": "system",
                    "kind": "step.waiting",
                    "step_path": "sign_off",
                    "data": {"task": "t1"},
                },
            ],
        )
        conn.execute(
            t.human_tasks.insert().values(
                id=new_id("task"),
                run_id=run_id,
                step_path="sign_off",
                kind="approval",
                entity="computer_store",
                title="Publish?",
                approvers=["manager"],
                status="open",
                form={},
                due_at=NOW,
                created_at=NOW,
            )
        )


def test_upgrade_from_0001_keeps_rows(empty_db_url: str) -> None:
    old = connect_database(empty_db_url)
    try:
        old.upgrade("0001")
        assert old.revision() == "0001"
        assert "workers" not in table_names(old)
        add_rows(old)
    finally:
        old.dispose()

    with pytest.raises(StoreError, match="revision 0001, this sopbench needs"):
        open_database(empty_db_url, upgrade=False)

    db = open_database(empty_db_url)
    try:
        assert db.revision() == HEAD_REVISION
        assert "workers" in table_names(db)
        with db.read() as conn:
            counts = {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for table in (t.runs, t.events, t.human_tasks)
            }
            task = conn.execute(sa.select(t.human_tasks)).one()
        assert counts == {"runs": 1, "events": 2, "human_tasks": 1}
        assert task.approvers == ["manager"] and task.due_at == NOW
        with db.read() as conn:
            run = conn.execute(sa.select(t.runs)).one()
        assert run.crash_count == 0 and run.error_step is None  # revision 0006
    finally:
        db.dispose()


@pytest.mark.slow
def test_concurrent_first_opens_migrate_once(empty_db_url: str) -> None:
    """Several processes opening one empty database at once all succeed."""
    code = (
        "import sys\n"
        "from sopbench.store import open_database\n"
        "db = open_database(sys.argv[1]); print(db.revision()); db.dispose()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [HEAD_REVISION] * 2


def test_upgrade_to_0006_moves_checklists_out_of_descriptions(empty_db_url: str) -> None:
    old = connect_database(empty_db_url)
    try:
        old.upgrade("0005")
        add_rows(old)
        tasks = sa.Table("human_tasks", sa.MetaData(), autoload_with=old.engine)
        with old.write() as conn:
            conn.execute(
                sa.update(tasks).values(
                    kind="manual", description="Count the stock.\n[ ] Shelf A\n[ ] Shelf B"
                )
            )
    finally:
        old.dispose()
    db = open_database(empty_db_url)
    try:
        with db.read() as conn:
            task = conn.execute(sa.select(t.human_tasks)).one()
        assert task.description == "Count the stock."
        assert task.checklist == ["Shelf A", "Shelf B"]
    finally:
        db.dispose()
