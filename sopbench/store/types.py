"""Column types that behave the same on SQLite and PostgreSQL.

Two backends, one contract: a timestamp written as 09:00+02:00 must come
back as 07:00 UTC on both, and must sort correctly against other stored
timestamps (lease expiry, wake-up and due-date queries compare them in SQL).
SQLite has no timestamp type, so :class:`UTCDateTime` normalises every value
to UTC and stores it naive there (fixed-width text sorts chronologically);
PostgreSQL gets ``timestamptz``. Naive datetimes are refused outright: a
local wall-clock time silently taken for UTC is the classic scheduling bug.

:data:`JSONDocument` is JSONB on PostgreSQL (indexable, compact, compared by
value) and plain JSON elsewhere. Python ``None`` is stored as SQL NULL, so
"no result yet" and "result is an empty object" stay distinct.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DontWrapMixin
from sqlalchemy.types import TypeDecorator, TypeEngine

from sopbench.errors import StoreError

__all__ = ["JSONDocument", "NaiveDatetimeError", "UTCDateTime", "as_utc", "utcnow"]


class NaiveDatetimeError(DontWrapMixin, StoreError):
    """A datetime without a time zone was given where a UTC instant is needed.

    ``DontWrapMixin`` keeps SQLAlchemy from burying this under a
    ``StatementError`` with the SQL text, so callers see the plain message.
    """

    default_hint = "pass an aware datetime, e.g. datetime.now(UTC) or sopbench.store.utcnow()"


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind the store accepts)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; naive values raise :class:`NaiveDatetimeError`."""
    if not isinstance(value, datetime):
        raise NaiveDatetimeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time: aware UTC datetimes in and out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        if dialect.name == "sqlite":
            # Stored as fixed-width naive text so string comparison is chronological.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise StoreError(f"unexpected value {value!r} in a timestamp column")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_literal_param(self, value: datetime | None, dialect: Dialect) -> str:
        """Render for offline SQL (``alembic --sql``) in the same UTC form."""
        if value is None:
            return "NULL"
        utc = as_utc(value)
        if dialect.name == "sqlite":
            return f"'{utc.replace(tzinfo=None).isoformat(sep=' ')}'"
        return f"'{utc.isoformat()}'"


class JSONDocument(TypeDecorator[Any]):
    """JSON data: JSONB on PostgreSQL, JSON elsewhere; ``None`` means SQL NULL."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))
