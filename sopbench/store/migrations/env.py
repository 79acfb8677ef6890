"""Alembic environment for sopbench, driven from code only.

There is no ``alembic.ini``: :func:`sopbench.store.db.open_database` builds
the Alembic ``Config`` itself and hands over an open connection in
``config.attributes["connection"]``, already inside the transaction (and,
on PostgreSQL, the advisory lock) under which the whole upgrade runs. So two
processes opening a fresh database at once cannot both create the schema,
and a failed upgrade leaves the database at its previous revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from sopbench.errors import StoreError
from sopbench.store.tables import metadata


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations on ``connection`` (in its current transaction)."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise StoreError(
            "offline (--sql) migrations are not supported",
            hint="open the database with sopbench; it upgrades the schema itself",
        )
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise StoreError(
            "the sopbench migration environment needs an open connection",
            hint="run migrations through sopbench.store.open_database()",
        )
    run_migrations(connection)


main()
