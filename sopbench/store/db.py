"""Opening the state database: engines, transactions, automatic migrations.

Every sopbench command goes through :func:`open_database`, which makes sure
the schema is at :data:`HEAD_REVISION` before anything else touches it. The
common case (already at head) costs one small query and never imports
Alembic; an older or empty database is upgraded on the spot, under a lock so
that two processes starting at once cannot both migrate.

What SQLite and PostgreSQL do differently (SQLite's WAL, ``synchronous``,
busy timeout and ``BEGIN IMMEDIATE`` writes; PostgreSQL's advisory lock for
migrations) is in :mod:`sopbench.store._db_dialects`, one class per backend.

Failures to reach or recognise the database become :class:`StoreError`
messages that name the URL with its password hidden.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from sopbench.config import Settings
from sopbench.errors import StoreError
from sopbench.store._db_dialects import DatabaseDialect, database_dialect
from sopbench.store.types import utcnow

__all__ = [
    "HEAD_REVISION",
    "KNOWN_REVISIONS",
    "Database",
    "connect_database",
    "display_url",
    "new_id",
    "open_database",
    "utcnow",
]

# every revision in migrations/versions, oldest first
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
HEAD_REVISION = KNOWN_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_alembic_lock = threading.Lock()  # Alembic's `context`/`op` proxies are process-global


class Database:
    """One state database: an SQLAlchemy engine plus sopbench's transaction rules."""

    def __init__(self, engine: Engine, backend: DatabaseDialect | None = None) -> None:
        self.engine = engine
        self._backend = backend or database_dialect(engine.dialect.name)

    @property
    def url(self) -> URL:
        """The engine URL (``str()`` of it hides the password)."""
        return self.engine.url

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def __repr__(self) -> str:
        return f"Database({self.display_url!r})"

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a plain transaction: one consistent snapshot on SQLite.

        Committed at the end; use :meth:`write` for anything that changes data.
        """
        with self._connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed on success, rolled back on error.

        On SQLite the transaction starts with ``BEGIN IMMEDIATE`` so that
        concurrent writers wait for each other (busy timeout) instead of
        failing with "database is locked".
        """
        with self._connect() as conn:
            self._backend.begin_write(conn)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection (call when done with the database)."""
        self.engine.dispose()

    def revision(self) -> str | None:
        """The schema revision recorded in the database, ``None`` when it is empty."""
        with self.read() as conn:
            return _current_revision(conn, self.display_url)

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (never down), under a lock.

        The whole upgrade runs in one transaction holding the write lock
        (SQLite) or an advisory lock (PostgreSQL), and the revision is read
        again inside it, so concurrent openers migrate exactly once.
        """
        target = HEAD_REVISION if revision == "head" else revision
        if target not in KNOWN_REVISIONS:
            raise StoreError(f"unknown schema revision {revision!r}")
        with self._backend.migrating(self._connect, self.write) as conn:
            self._backend.lock_migrations(conn)
            current = _current_revision(conn, self.display_url)
            if current is not None and KNOWN_REVISIONS.index(current) >= KNOWN_REVISIONS.index(
                target
            ):
                return
            try:
                _run_alembic(conn, target)
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"migrating {self.display_url} to schema revision {target} failed: "
                    f"{_reason(exc, self.url)}",
                    hint="the database was left at its previous revision",
                ) from exc

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            conn = self.engine.connect()
        except (SQLAlchemyError, OSError) as exc:
            raise _cannot_connect(exc, self.url, self._backend) from exc
        with conn:
            yield conn


def display_url(url: str | URL) -> str:
    """``url`` as it may be shown: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def connect_database(target: Settings | str | URL) -> Database:
    """A :class:`Database` for ``target`` without checking or migrating its schema.

    Connects lazily; prefer :func:`open_database`, which also upgrades.
    """
    url = _normalise_url(target)
    backend = database_dialect(url.get_backend_name())
    return Database(backend.create_engine(url, _safe(url)), backend)


def open_database(target: Settings | str | URL, *, upgrade: bool = True) -> Database:
    """Open the state database, upgrading its schema to :data:`HEAD_REVISION` if needed.

    With ``upgrade=False`` an out-of-date schema raises :class:`StoreError`
    instead. A database written by a newer sopbench, or one holding other
    tables than sopbench's, is refused either way.
    """
    database = connect_database(target)
    try:
        current = database.revision()
        if current != HEAD_REVISION:
            if not upgrade:
                raise StoreError(
                    f"the database at {database.display_url} is at schema revision "
                    f"{current or '(empty)'}, this sopbench needs {HEAD_REVISION}",
                    hint="open it once with a sopbench command that upgrades it",
                )
            database.upgrade()
    except SQLAlchemyError as exc:
        database.dispose()
        raise StoreError(
            f"cannot read the schema revision of {database.display_url}: "
            f"{_reason(exc, database.url)}",
            hint="check that the database user may read and create tables",
        ) from exc
    except BaseException:
        database.dispose()
        raise
    return database


def _normalise_url(target: Settings | str | URL) -> URL:
    raw = target.db_url if isinstance(target, Settings) else target
    if isinstance(raw, URL):
        url = raw
    else:
        try:
            url = make_url(raw.strip())
        except ArgumentError:
            raise StoreError(
                f"not a database URL: {_mask(str(raw))!r}",
                hint="use sqlite:///path/to/sopbench.db or postgresql+psycopg://user@host/db",
            ) from None
    backend = url.get_backend_name()
    if backend == "postgres" or url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database {_safe(url)}",
            hint="sopbench stores state in SQLite or PostgreSQL (postgresql+psycopg://...)",
        )
    return url


def _current_revision(conn: Connection, where: str) -> str | None:
    inspector = inspect(conn)
    if not inspector.has_table("alembic_version"):
        if inspector.get_table_names():
            raise StoreError(
                f"the database at {where} has tables but is not a sopbench database",
                hint="point SOPBENCH_DB_URL at an empty or sopbench database",
            )
        return None
    versions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if not versions:
        return None
    if len(versions) > 1 or versions[0] not in KNOWN_REVISIONS:
        found = ", ".join(map(str, versions))
        raise StoreError(
            f"the database at {where} has schema revision {found}, unknown to this sopbench "
            f"(which knows {', '.join(KNOWN_REVISIONS)}); it was probably created by a newer "
            "sopbench or another application",
            hint="upgrade sopbench, or point SOPBENCH_DB_URL at another database",
        )
    return str(versions[0])


def _run_alembic(conn: Connection, target: str) -> None:
    # Imported here: Alembic is only needed on the rare opening that migrates.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = conn
    with _alembic_lock:
        command.upgrade(config, target)


def _cannot_connect(exc: BaseException, url: URL, backend: DatabaseDialect) -> StoreError:
    reason = _reason(exc, url)
    hint = backend.unreachable_hint(url, reason)
    return StoreError(f"cannot open the database at {_safe(url)}: {reason}", hint=hint)


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's own first line of explanation, with any password blanked out."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    reason = lines[0] if lines else type(orig).__name__
    reason = re.sub(r"\(Background on this error at: [^)]*\)", "", reason).strip()
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return _mask(reason)


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _mask(text_: str) -> str:
    """Blank out ``user:password@`` in free text we could not parse as a URL."""
    return re.sub(r"(//[^:/@\s]*:)[^@\s]*@", r"\1***@", text_)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_id_state: list[int] = [0, 0, 0]  # pid, last millisecond, last random part


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``run_01JDQ7ZC3M8V5K2T9XW4YB6E1H``.

    ULID layout: 48-bit millisecond time then 80 random bits, in Crockford
    base32, so ids sort by creation time across processes and machines.
    Within one process, ids made in the same millisecond increase too.
    """
    if not re.fullmatch(r"[a-z][a-z0-9]{0,12}", prefix):
        raise ValueError(f"id prefix must be 1-13 lowercase letters/digits, got {prefix!r}")
    pid = os.getpid()
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        last_pid, last_millis, last_random = _id_state
        if pid == last_pid and millis <= last_millis and last_random + 1 < 2**80:
            millis, random_part = last_millis, last_random + 1
        else:
            random_part = int.from_bytes(os.urandom(10), "big")
        _id_state[:] = [pid, millis, random_part]
    return f"{prefix}_{_base32(millis, 10)}{_base32(random_part, 16)}"
