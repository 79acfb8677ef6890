"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

Fixture layers (a test module may override any one of them by defining a
fixture of the same name):

``postgres_server`` (session)
    A private PostgreSQL started once (:class:`PostgresServer`), or the
    server named by ``SOPBENCH_TEST_PG_URL`` when that is set. When
    PostgreSQL cannot run, the PostgreSQL tests fail; they never skip.
``backend``
    ``"sqlite"`` or ``"postgresql"``: the parameter every database test
    is run with (test ids ``[sqlite]`` / ``[postgresql]``; the latter carry
    the ``postgres`` marker). Restrict a module with
    ``@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)``.
``empty_db_url``
    URL of a new, empty database (no schema).
``db_url``
    URL of a new database already at the head schema revision, cloned from
    a template migrated once per session (``CREATE DATABASE … TEMPLATE`` on
    PostgreSQL, a file copy on SQLite): ~15x cheaper than migrating per test.
``database``
    ``open_database(db_url)``, disposed after the test.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.store import Database, open_database
from sopbench.testing.postgres import PostgresServer


@pytest.fixture(autouse=True)
def _sopbench_logging_restored() -> Iterator[None]:
    """A CLI run in-process sets up the ``sopbench`` loggers (level, handler) as a
    real process would; later tests get them back as they were."""
    logger = logging.getLogger("sopbench")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer.from_env() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """Name of a PostgreSQL database at head, to clone for each test."""
    url = postgres_server.create_database()
    open_database(url).dispose()  # no connection may stay open on a template
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at head, to copy for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "sopbench.db"
    open_database(f"sqlite:///{path}").dispose()  # dispose checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'sopbench.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "state" / "sopbench.db"
        path.parent.mkdir()
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("postgres_template"))
    yield url
    server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url)
    yield db
    db.dispose()
