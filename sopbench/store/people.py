"""Access codes and sign-in sessions: every statement on ``people`` and ``reviewer_sessions``.

:class:`~sopbench.services.users.AccessService` hashes codes and checks
them; this store keeps the hashes and the sessions. The two tables are one
group because changing a person's code ends their sessions in the same
transaction (a stolen browser key dies with the old code).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from sopbench.store.db import Database
from sopbench.store.tables import people, reviewer_sessions

__all__ = ["PeopleStore", "Session"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    """Whom a browser key is signed in as, and until when."""

    person: str
    expires_at: datetime


class PeopleStore:
    """The ``people`` rows (access code hashes) and sign-in sessions of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- access codes ------------------------------------------------------------------

    def with_code(self) -> set[str]:
        """Ids of the people who have an access code."""
        query = select(people.c.id).where(people.c.access_code_hash.is_not(None))
        with self.db.read() as conn:
            return {row.id for row in conn.execute(query)}

    def code_hash(self, person_id: str) -> str | None:
        query = select(people.c.access_code_hash).where(people.c.id == person_id)
        with self.db.read() as conn:
            stored: str | None = conn.execute(query).scalar()
        return stored

    def set_code(self, person_id: str, values: Mapping[str, Any]) -> None:
        """Store the person's row (``values``: name, email, roles, entities, the code's
        hash, updated_at) and end their sessions, in one transaction."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(people).where(people.c.id == person_id).values(**values)
            ).rowcount
            if not changed:
                conn.execute(people.insert().values(id=person_id, **values))
            conn.execute(delete(reviewer_sessions).where(reviewer_sessions.c.person == person_id))

    def clear_code(self, person_id: str) -> None:
        """Forget the person's code and end their sessions, in one transaction."""
        with self.db.write() as conn:
            conn.execute(
                update(people).where(people.c.id == person_id).values(access_code_hash=None)
            )
            conn.execute(delete(reviewer_sessions).where(reviewer_sessions.c.person == person_id))

    # -- sessions ----------------------------------------------------------------------

    def bind(self, key_hash: str, person_id: str, *, now: datetime, ttl: timedelta) -> None:
        """Sign the browser (by its key's hash) in as ``person_id``, replacing any session."""
        with self.db.write() as conn:
            conn.execute(delete(reviewer_sessions).where(reviewer_sessions.c.key_hash == key_hash))
            conn.execute(
                reviewer_sessions.insert().values(
                    key_hash=key_hash, person=person_id, created_at=now, expires_at=now + ttl
                )
            )

    def session(self, key_hash: str) -> Session | None:
        query = select(reviewer_sessions.c.person, reviewer_sessions.c.expires_at).where(
            reviewer_sessions.c.key_hash == key_hash
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else Session(row.person, row.expires_at)

    def end_session(self, key_hash: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(reviewer_sessions).where(reviewer_sessions.c.key_hash == key_hash))
