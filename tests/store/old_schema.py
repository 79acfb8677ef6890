"""Writing rows into a database still at an older schema revision (migration tests)."""

from __future__ import annotations

import sqlalchemy as sa

from sopbench.store import Database

__all__ = ["as_of"]


def as_of(db: Database, table: sa.Table) -> sa.Table:
    """``table`` with only the columns the database has now (reflected), typed as today.

    Inserting through today's table would name columns a later revision adds.
    """
    present = sa.Table(table.name, sa.MetaData(), autoload_with=db.engine)
    return sa.Table(table.name, sa.MetaData(), *[table.c[c.name]._copy() for c in present.columns])
