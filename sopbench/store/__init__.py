"""The state database: SQLAlchemy Core tables, Alembic migrations, engines.

Open it with :func:`open_database` (which upgrades the schema when needed),
then use ``database.read()`` / ``database.write()`` transactions with the
tables from :mod:`sopbench.store.tables`.
"""

from sopbench.store.db import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    Database,
    connect_database,
    new_id,
    open_database,
    utcnow,
)
from sopbench.store.types import JSONDocument, NaiveDatetimeError, UTCDateTime, as_utc

__all__ = [
    "HEAD_REVISION",
    "KNOWN_REVISIONS",
    "Database",
    "JSONDocument",
    "NaiveDatetimeError",
    "UTCDateTime",
    "as_utc",
    "connect_database",
    "new_id",
    "open_database",
    "utcnow",
]
