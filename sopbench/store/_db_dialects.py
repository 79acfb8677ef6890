"""Where SQLite and PostgreSQL differ for the database itself: one class per backend.

:class:`~sopbench.store.db.Database` asks its dialect instead of branching
on the backend's name (the shape of :mod:`sopbench.store._run_dialects`):
how the engine is made, how a write transaction begins, how migrations are
serialised, and what to suggest when the server cannot be reached.

SQLite is configured for durability and concurrent writers: WAL (readers
never block the writer), ``synchronous=FULL`` (a committed step survives a
power cut), ``busy_timeout`` and ``BEGIN IMMEDIATE`` for writes. The last
one matters: a deferred transaction that reads and then writes must upgrade
its lock, and SQLite answers "database is locked" at once instead of
waiting when another writer got there first. Taking the write lock up front
makes writers queue on the busy timeout instead.

PostgreSQL serialises migrations with a transaction-scoped advisory lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sopbench.errors import StoreError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "DatabaseDialect",
    "PostgresDatabase",
    "SqliteDatabase",
    "database_dialect",
]

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
_ADVISORY_LOCK = 0x736F_7062_656E_6368  # "sopbench": serialises migrations on PostgreSQL
_BEGIN_OPTION = "sopbench_sqlite_begin"

Connect = Callable[[], AbstractContextManager[Connection]]
"""Opens a pooled connection (no transaction yet)."""


class DatabaseDialect:
    """What every backend does the same way."""

    def create_engine(self, url: URL, shown: str) -> Engine:  # pragma: no cover - overridden
        raise NotImplementedError

    def begin_write(self, conn: Connection) -> None:
        """Prepare ``conn`` (no transaction yet) for a write transaction."""

    def lock_migrations(self, conn: Connection) -> None:
        """Hold the migration lock until the transaction ends (beyond the write lock)."""

    @contextmanager
    def migrating(self, connect: Connect, write: Connect) -> Iterator[Connection]:
        """A write transaction for migrations."""
        with write() as conn:
            yield conn

    def unreachable_hint(self, url: URL, reason: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class SqliteDatabase(DatabaseDialect):
    def create_engine(self, url: URL, shown: str) -> Engine:
        path = url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            try:
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder for {path}: {exc.strerror}",
                    hint="check the workspace path and its permissions",
                ) from exc
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def begin_write(self, conn: Connection) -> None:
        conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})

    @contextmanager
    def migrating(self, connect: Connect, write: Connect) -> Iterator[Connection]:
        """A migration may rebuild a table that others reference (``ALTER`` cannot
        change a CHECK). SQLite's documented way is to turn foreign keys off
        outside the transaction, rebuild, then run ``foreign_key_check`` before
        committing; they are turned on again before the connection goes back
        to the pool."""
        with connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                self.begin_write(conn)
                with conn.begin():
                    yield conn
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"a migration left {len(broken)} broken foreign key(s): {broken[:3]}",
                            hint="the database was left at its previous revision",
                        )
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    def unreachable_hint(self, url: URL, reason: str) -> str:
        return "check that the path is a writable folder and the file is a sopbench database"


class PostgresDatabase(DatabaseDialect):
    def create_engine(self, url: URL, shown: str) -> Engine:
        try:
            return create_engine(
                url,
                # No pre-ping: it costs a round trip on every transaction (a third
                # of a step's time). After a server restart the first statement
                # on a dead pooled connection fails, the pool is invalidated, and
                # the engine's leases and recovery retry the work.
                pool_pre_ping=False,
                pool_recycle=1800,
                connect_args={"connect_timeout": 10, "application_name": "sopbench"},
            )
        except (NoSuchModuleError, ArgumentError, ImportError) as exc:
            raise StoreError(
                f"cannot use database URL {shown}: {exc}",
                hint="use postgresql+psycopg://user@host:port/dbname",
            ) from exc

    def lock_migrations(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})

    def unreachable_hint(self, url: URL, reason: str) -> str:
        if f'database "{url.database}" does not exist' in reason:
            return f"create it first (createdb {url.database}), then run the command again"
        return "check that PostgreSQL is running and reachable, and SOPBENCH_DB_URL is right"


def database_dialect(backend: str) -> DatabaseDialect:
    """The dialect of a normalised URL's backend (``sqlite`` or ``postgresql``)."""
    return SqliteDatabase() if backend == "sqlite" else PostgresDatabase()


def _set_wal(cursor: Any) -> None:
    """Switch to WAL, waiting out a second process doing the same on a new file.

    Changing the journal mode needs a moment alone with the file and SQLite
    does not always apply the busy timeout to it, so two processes opening a
    brand-new database together can see "database is locked" here.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module: _sqlite_on_begin emits it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
