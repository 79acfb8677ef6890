"""Auth headers for the HTTP layer, resolved from a named secret at call time.

An :data:`Auth` is a callable returning one request's auth headers. It
holds the secret's *name* and the :class:`~sopbench.config.Secrets` to
look it up in, never the value, so a rotated secret is picked up on the
next request and no object, ``repr`` or error ever carries it. Import the
names from :mod:`sopbench.integrations.http`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sopbench.config import Secrets
    from sopbench.model.workspace import Connection

__all__ = ["Auth", "auth_from_connection", "basic_auth", "bearer_auth", "header_auth"]

Auth = Callable[[], Mapping[str, str]]
"""Returns the auth headers of one request; called at request time."""


def bearer_auth(secrets: Secrets, name: str, *, scheme: str = "Bearer") -> Auth:
    """``Authorization: <scheme> <secret>``, the secret resolved on every request."""

    def headers() -> Mapping[str, str]:
        return {"Authorization": f"{scheme} {secrets.get(name)}"}

    return headers


def header_auth(secrets: Secrets, name: str, header: str, *, prefix: str = "") -> Auth:
    """``<header>: <prefix><secret>`` (an API key header)."""

    def headers() -> Mapping[str, str]:
        return {header: f"{prefix}{secrets.get(name)}"}

    return headers


def basic_auth(secrets: Secrets, name: str) -> Auth:
    """HTTP basic auth from a secret holding ``user:password``."""

    def headers() -> Mapping[str, str]:
        token = base64.b64encode(secrets.get(name).encode()).decode()
        return {"Authorization": f"Basic {token}"}

    return headers


def auth_from_connection(connection: Connection, secrets: Secrets) -> Auth | None:
    """The auth a workspace connection declares (``auth:`` + ``secret:``)."""
    if connection.auth == "none" or not connection.secret:
        return None
    if connection.auth == "basic":
        return basic_auth(secrets, connection.secret)
    if connection.auth == "header":
        return header_auth(secrets, connection.secret, connection.header or "X-API-Key")
    return bearer_auth(secrets, connection.secret)
