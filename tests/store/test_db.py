"""Opening databases: SQLite settings, concurrent writers, clear errors, ids."""

from __future__ import annotations

import socket
import threading
import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

from sopbench.config import load_settings
from sopbench.errors import StoreError
from sopbench.store import HEAD_REVISION, Database, connect_database, new_id, open_database
from sopbench.store import tables as t

PASSWORD = "s3cret-Pa55"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_connections_are_durable_and_patient(database: Database) -> None:
    with database.read() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 30000,
        "foreign_keys": 1,
        "synchronous": 2,
    }  # 2 = FULL


def test_settings_open_the_workspace_database(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    with open_database(settings) as db:
        assert db.dialect == "sqlite"
        assert db.revision() == HEAD_REVISION
    assert (tmp_path / ".sopbench" / "sopbench.db").is_file()


def test_concurrent_writers_never_fail_or_lose_updates(db_url: str) -> None:
    """Read-modify-write transactions from two engines and four threads all land."""
    engines = [open_database(db_url), open_database(db_url)]
    with engines[0].write() as conn:
        conn.execute(
            t.runs.insert().values(
                id="run_counter",
                sop_id="s",
                entity="e",
                status="running",
                definition={},
                sop_hash="h",
            )
        )
    errors: list[BaseException] = []
    per_thread = 40

    def work(db: Database) -> None:
        try:
            for _ in range(per_thread):
                with db.write() as conn:
                    query = sa.select(t.runs.c.version).where(t.runs.c.id == "run_counter")
                    current = conn.execute(query.with_for_update()).scalar_one()
                    conn.execute(
                        t.runs.update()
                        .where(t.runs.c.id == "run_counter")
                        .values(version=current + 1)
                    )
                    conn.execute(t.events.insert().values(actor="w", kind="bump", data={}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(engines[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with engines[1].read() as conn:
            version = conn.execute(sa.select(t.runs.c.version)).scalar_one()
            events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar()
        assert version == events == 4 * per_thread
    finally:
        for db in engines:
            db.dispose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def assert_clear(error: StoreError) -> None:
    text = str(error)
    chain = "".join(traceback.format_exception(error))
    assert PASSWORD not in text and PASSWORD not in chain
    assert "Traceback" not in text and "sqlalche.me" not in text and "\n" not in text


def test_unreachable_database_is_a_clear_error(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        url = f"postgresql+psycopg://sop:{PASSWORD}@127.0.0.1:{closed_port()}/state"
    else:
        (tmp_path / "state.db").write_text("this is not a database " * 100)
        url = f"sqlite:///{tmp_path / 'state.db'}"
    with pytest.raises(StoreError, match="cannot open the database") as caught:
        open_database(url)
    assert_clear(caught.value)
    if backend == "postgresql":
        assert "sop:***@127.0.0.1" in str(caught.value)
        assert "PostgreSQL is running" in str(caught.value)


def test_newer_schema_revision_is_refused(db_url: str) -> None:
    with open_database(db_url) as db, db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="0099, unknown to this sopbench") as caught:
        open_database(db_url)
    assert "newer sopbench" in str(caught.value)
    assert "upgrade sopbench" in str(caught.value)  # the hint
    assert_clear(caught.value)


def test_foreign_database_is_refused(empty_db_url: str) -> None:
    with connect_database(empty_db_url) as other, other.write() as conn:
        conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    with pytest.raises(StoreError, match="not a sopbench database"):
        open_database(empty_db_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("no url at all", "not a database URL"),
        (f"mysql://root:{PASSWORD}@localhost/db", "unsupported database"),
        (f"postgresql+psycopg2://root:{PASSWORD}@localhost/db", "cannot use database URL"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        open_database(url)
    assert_clear(caught.value)


def test_new_ids_are_unique_sortable_and_short() -> None:
    ids = [new_id("run") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(i.startswith("run_") and len(i) == 30 for i in ids)
    assert len(new_id("abcdefghijklm")) <= 40
    with pytest.raises(ValueError):
        new_id("Bad-Prefix")
