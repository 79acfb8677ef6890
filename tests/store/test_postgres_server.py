"""The throwaway PostgreSQL used by the suite: clear failures, working databases."""

from __future__ import annotations

import pytest

from sopbench.errors import StoreError
from sopbench.store import HEAD_REVISION, open_database
from sopbench.testing.postgres import PostgresServer, PostgresUnavailable, find_binary


def test_missing_binaries_say_how_to_install() -> None:
    with pytest.raises(PostgresUnavailable) as caught:
        find_binary("no-such-postgres-program")
    assert "apt-get install -y postgresql" in str(caught.value)


def test_databases_are_separate_and_template_copies_are_at_head(
    postgres_server: PostgresServer, postgres_template: str
) -> None:
    first = postgres_server.create_database(template=postgres_template)
    second = postgres_server.create_database()
    try:
        assert first != second
        assert first.startswith("postgresql+psycopg://")
        with open_database(first, upgrade=False) as db:
            assert db.revision() == HEAD_REVISION
        with open_database(second) as db:  # an empty database is migrated on open
            assert db.revision() == HEAD_REVISION
    finally:
        for url in (first, second):
            postgres_server.drop_database(url.rsplit("/", 1)[1])


def test_missing_database_names_the_fix(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreError, match="createdb nosuchdb"):
        open_database(postgres_server.url("nosuchdb"))
