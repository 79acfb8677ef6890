"""Reviewer identity: access codes and dashboard sign-in sessions.

People and their roles come from ``sops/people.yaml``. An access code is
set by the operator (``sopbench users set-code NAME``) and stored only as a
salted scrypt hash in the ``people`` table. A sign-in binds a SHA-256 of an
opaque browser key (the dashboard uses the browser's Voilà login cookie) to
the person until it expires, so no secret ever travels in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sopbench.config import Settings
from sopbench.errors import NotFound, SignInFailed, UsageError
from sopbench.library import Workspace, load_workspace
from sopbench.model.workspace import Person
from sopbench.store import Database, open_database, utcnow
from sopbench.store.people import PeopleStore

__all__ = ["MIN_CODE_LENGTH", "SESSION_TTL", "AccessService", "PersonView"]

MIN_CODE_LENGTH = 8
SESSION_TTL = timedelta(hours=12)
# scrypt cost: ~50 ms per check on the project VM; slow enough to make
# guessing expensive, fast enough for a sign-in click.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class PersonView:
    id: str
    name: str
    roles: list[str]
    entities: list[str]
    has_code: bool


def hash_code(code: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``code``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(code.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    parts = (str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest))
    return "scrypt$" + "$".join(parts)


def check_code(code: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    actual = hashlib.scrypt(
        code.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=2**26
    )
    return hmac.compare_digest(actual, _unb64(digest))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_hash(browser_key: str) -> str:
    return hashlib.sha256(browser_key.encode()).hexdigest()


class AccessService:
    """Access codes and sign-in sessions of one workspace."""

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: Workspace | None = None,
        database: Database | None = None,
    ) -> None:
        self.workspace = workspace or load_workspace(settings.home)
        self.db = database or open_database(settings)
        self._owns_db = database is None
        self.store = PeopleStore(self.db)

    def close(self) -> None:
        if self._owns_db:
            self.db.dispose()

    # -- people -----------------------------------------------------------------

    def person(self, person_id: str) -> Person:
        roster = self.workspace.people
        if roster is None or person_id not in roster.people:
            known = ", ".join(sorted(roster.people)) if roster else "nobody"
            raise NotFound(
                f"'{person_id}' is not in sops/people.yaml",
                hint=f"people declared: {known}",
            )
        return roster.people[person_id]

    def list_people(self) -> list[PersonView]:
        roster = self.workspace.people
        if roster is None:
            return []
        coded = self.store.with_code()
        return [
            PersonView(pid, p.name, list(p.roles), list(p.entities), pid in coded)
            for pid, p in sorted(roster.people.items())
        ]

    # -- access codes -------------------------------------------------------------

    def set_code(self, person_id: str, code: str | None = None) -> str:
        """Store a new access code (generated when ``code`` is None); returns it."""
        member = self.person(person_id)
        if code is None:
            code = secrets.token_urlsafe(9)
        if len(code) < MIN_CODE_LENGTH:
            raise UsageError(
                f"an access code needs at least {MIN_CODE_LENGTH} characters",
                hint="or use --generate to have one made",
            )
        values = {
            "name": member.name,
            "email": member.email,
            "roles": list(member.roles),
            "entities": list(member.entities),
            "access_code_hash": hash_code(code),
            "updated_at": utcnow(),
        }
        self.store.set_code(person_id, values)  # a new code ends the person's sessions
        return code

    def clear_code(self, person_id: str) -> None:
        self.person(person_id)
        self.store.clear_code(person_id)

    def verify(self, person_id: str, code: str) -> None:
        """Raise :class:`SignInFailed` unless ``code`` is the person's access code."""
        try:
            self.person(person_id)
        except NotFound as exc:
            raise SignInFailed(str(exc)) from None
        stored = self.store.code_hash(person_id)
        if not stored:
            raise SignInFailed(
                f"{person_id} has no access code yet",
                hint=f"the operator sets one with: sopbench users set-code {person_id}",
            )
        if not check_code(code, stored):
            raise SignInFailed(f"wrong access code for {person_id}")

    # -- sessions -------------------------------------------------------------------

    def sign_in(self, browser_key: str, person_id: str, code: str) -> str:
        """Check the code, then remember this browser as ``person_id``."""
        self.verify(person_id, code)
        return self.bind(browser_key, person_id)

    def bind(self, browser_key: str, person_id: str, *, ttl: timedelta = SESSION_TTL) -> str:
        """Remember ``browser_key`` as ``person_id`` (after the caller authenticated it)."""
        self.store.bind(_key_hash(browser_key), person_id, now=utcnow(), ttl=ttl)
        return person_id

    def session_person(self, browser_key: str) -> str | None:
        """Who this browser signed in as, while the session lasts."""
        row = self.store.session(_key_hash(browser_key))
        if row is None or row.expires_at <= utcnow():
            return None
        roster = self.workspace.people
        return row.person if roster is not None and row.person in roster.people else None

    def sign_out(self, browser_key: str) -> None:
        self.store.end_session(_key_hash(browser_key))
