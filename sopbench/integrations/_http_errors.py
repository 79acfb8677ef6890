"""The errors of the HTTP layer, and how a failed response's body is read.

Kept apart from :class:`~sopbench.integrations.http.HttpService` so that
service clients (and code that only catches errors, like the media
service) can depend on the exception tree without the transport. The
body readers below turn the usual error shapes (``message``, ``error``,
``detail``, Laravel's ``errors``) into the text and field list these
errors carry. Import the names from :mod:`sopbench.integrations.http`::

    IntegrationError                     (sopbench.errors)
    ├── HttpStatusError                  the service answered 4xx/5xx
    │   ├── AuthFailed                   401 / 403: credentials refused
    │   ├── RateLimited                  429 still limited after retries (.retry_after)
    │   ├── RequestRejected              other 4xx (.errors: field -> messages)
    │   │   └── ResourceGone             404 / 410
    │   └── ServerError                  5xx after retries
    ├── TransportFailed                  no usable answer (connection refused, reset ...)
    │   └── ServiceTimeout               no answer within the timeout
    └── MalformedResponse                an answer that is not what the API documents
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from sopbench.errors import IntegrationError

__all__ = [
    "AuthFailed",
    "HttpStatusError",
    "InvalidRequest",
    "MalformedResponse",
    "RateLimited",
    "RequestRejected",
    "ResourceGone",
    "ServerError",
    "ServiceTimeout",
    "TransportFailed",
    "decode_body",
    "laravel_errors",
    "message_from",
]


# -- the exception tree -----------------------------------------------------------


class HttpStatusError(IntegrationError):
    """The service answered with an error status."""

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        body: Any = None,
        **fields: Any,
    ) -> None:
        self.errors: dict[str, list[str]] = dict(errors or {})
        """Field name -> messages, when the service says which fields were wrong."""
        self.body = body
        """The (redacted) decoded error body, for callers that want the details."""
        super().__init__(message, **fields)


class AuthFailed(HttpStatusError):
    """The service refused the credentials."""

    default_hint = "check the connection's secret: is it current, with the right scopes?"


class RateLimited(HttpStatusError):
    """The service is rate-limiting us."""

    default_hint = "wait and retry later; lower the request rate"

    def __init__(
        self, message: str | None = None, *, retry_after: float | None = None, **fields: Any
    ) -> None:
        super().__init__(message, retry_after=retry_after, **fields)


class RequestRejected(HttpStatusError):
    """The service rejected the request."""


class ResourceGone(RequestRejected):
    """The service says the resource does not exist (404/410)."""


class ServerError(HttpStatusError):
    """The service failed (5xx)."""

    default_hint = "the service is having trouble; the step can be retried later"


class TransportFailed(IntegrationError):
    """The service could not be reached."""

    default_hint = "check the connection's base_url and that the service is up"


class ServiceTimeout(TransportFailed):
    """The service did not answer in time."""

    default_hint = "the service is slow or down; raise the connection's timeout or retry later"


class InvalidRequest(IntegrationError):
    """The request could not be sent as given (nothing reached the service)."""

    default_hint = (
        "HTTP header values must be plain ASCII and URLs well formed; "
        "check the step's headers, the connection's base_url and the secret's value"
    )


class MalformedResponse(IntegrationError):
    """The service answered with something the API does not document."""


# -- reading error bodies -----------------------------------------------------------


def decode_body(response: httpx.Response, *, redact: Callable[[str], str] | None = None) -> Any:
    """The decoded JSON body, else the first 500 characters of text (None if empty).

    ``redact`` masks the text before it is cut, so a secret across the cut
    is not left half shown.
    """
    try:
        response.read()
        return response.json() if response.content else None
    except (ValueError, UnicodeDecodeError):
        text = response.text if redact is None else redact(response.text)
        return text[:500] or None


def message_from(body: Any) -> str | None:
    """The human message of an error body (``message``, ``error``, ``detail`` ...)."""
    if isinstance(body, str):
        return body.strip()[:300] or None
    if not isinstance(body, dict):
        return None
    for key in ("message", "error_description", "error", "detail", "code"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return str(value["message"])
    return None


def laravel_errors(body: Any) -> dict[str, list[str]]:
    """``{"errors": {"field": ["msg", ...]}}`` (Laravel / Mixpost 422 shape)."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), dict):
        return {}
    found: dict[str, list[str]] = {}
    for key, value in body["errors"].items():
        if isinstance(value, list):
            found[str(key)] = [str(v) for v in value]
        elif isinstance(value, str):
            found[str(key)] = [value]
    return found
