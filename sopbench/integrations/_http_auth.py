"""Auth for the HTTP layer, resolved from a named secret at call time.

An :data:`Auth` is a callable returning one request's auth headers (or, for
:func:`query_auth`, its auth query parameters). It holds the secret's
*name* and the :class:`~sopbench.config.Secrets` to look it up in, never
the value, so a rotated secret is picked up on the next request and no
object, ``repr`` or error ever carries it. A workspace connection's
``auth:`` picks one of four kinds:

* ``bearer`` (the default): ``Authorization: Bearer <secret>``;
* ``header``: ``<header>: <secret>`` (``header:`` names it, ``X-API-Key``
  by default);
* ``basic``: ``Authorization: Basic <base64 of the secret>``, the secret
  holding ``user:password``;
* ``query``: ``?<param>=<secret>`` (``param:`` names it, ``api_key`` by
  default), for services that only take a key in the URL.

Import the names from :mod:`sopbench.integrations.http`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sopbench.config import Secrets
    from sopbench.model.workspace import Connection

__all__ = [
    "Auth",
    "auth_from_connection",
    "basic_auth",
    "bearer_auth",
    "header_auth",
    "query_auth",
    "query_auth_from_connection",
]

Auth = Callable[[], Mapping[str, str]]
"""Returns the auth headers (or query parameters) of one request; called at request time."""

DEFAULT_KEY_HEADER = "X-API-Key"
DEFAULT_KEY_PARAM = "api_key"


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


def query_auth(secrets: Secrets, name: str, param: str) -> Auth:
    """``?<param>=<secret>``: query parameters, for ``HttpService(auth_params=...)``."""

    def params() -> Mapping[str, str]:
        return {param: secrets.get(name)}

    return params


def auth_from_connection(connection: Connection, secrets: Secrets) -> Auth | None:
    """The auth *headers* a workspace connection declares (``auth:`` + ``secret:``).

    None for ``auth: none`` and ``auth: query`` (see :func:`query_auth_from_connection`).
    """
    if connection.auth in ("none", "query") or not connection.secret:
        return None
    if connection.auth == "basic":
        return basic_auth(secrets, connection.secret)
    if connection.auth == "header":
        return header_auth(secrets, connection.secret, connection.header or DEFAULT_KEY_HEADER)
    return bearer_auth(secrets, connection.secret)


def query_auth_from_connection(connection: Connection, secrets: Secrets) -> Auth | None:
    """The auth *query parameters* of an ``auth: query`` connection, else None."""
    if connection.auth != "query" or not connection.secret:
        return None
    return query_auth(secrets, connection.secret, connection.param or DEFAULT_KEY_PARAM)
