"""Zoho's error JSON mapped onto the HTTP layer's error tree.

Zoho answers errors as ``{"code", "details", "message", "status": "error"}``,
either for the whole request or per record of a batch (``data[i]``), and
its accounts server answers OAuth refusals as ``{"error",
"error_description"}``, often with status 200. The functions here turn
each shape into a :class:`ZohoError` subclass that carries the code, the
record's index, the blamed field and (for duplicates) the existing
record's id, so callers can branch on the class rather than on strings.
They are the ``error_parser`` hooks of the two
:class:`~sopbench.integrations.http.HttpService` instances a
:class:`~sopbench.integrations.zoho.ZohoCRM` holds. Import the names from
:mod:`sopbench.integrations.zoho`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from sopbench.errors import IntegrationError
from sopbench.integrations.http import (
    AuthFailed,
    HttpService,
    HttpStatusError,
    RateLimited,
    ServerError,
)

__all__ = [
    "ZohoAuthError",
    "ZohoDuplicateRecord",
    "ZohoError",
    "ZohoInvalidData",
    "ZohoInvalidRequest",
    "ZohoMandatoryMissing",
    "ZohoRateLimited",
    "ZohoServerError",
    "code_of",
    "error_class",
    "oauth_error",
    "parse_error",
    "record_error",
]


# -- the exception tree -------------------------------------------------------------------------


class ZohoError(HttpStatusError):
    """Zoho CRM refused the request."""

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str = "",
        field: str | None = None,
        record: int | None = None,
        record_id: str | None = None,
        details: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        self.code = code
        self.field = field
        """The field (API name) Zoho blamed, if any."""
        self.record = record
        """Index of the failing record in the submitted batch."""
        self.record_id = record_id
        """The record concerned (for DUPLICATE_DATA: the existing one)."""
        self.details = dict(details or {})
        fields.setdefault("service", "zoho")
        super().__init__(message, **fields)


class ZohoAuthError(ZohoError, AuthFailed):
    """Zoho CRM refused the credentials."""


class ZohoRateLimited(ZohoError, RateLimited):
    """Zoho CRM's API limits were reached."""


class ZohoServerError(ZohoError, ServerError):
    """Zoho CRM failed (5xx)."""


class ZohoDuplicateRecord(ZohoError):
    """A record with the same unique value already exists."""

    default_hint = "set duplicate_check_fields to update the existing record instead"


class ZohoMandatoryMissing(ZohoError):
    """A required field is missing."""

    default_hint = "add the field to the step's `fields`"


class ZohoInvalidData(ZohoError):
    """A field value is not valid for Zoho CRM."""


class ZohoInvalidRequest(ZohoError):
    """Zoho CRM did not accept the request."""


_BY_CODE: dict[str, type[ZohoError]] = {
    "INVALID_TOKEN": ZohoAuthError,
    "AUTHENTICATION_FAILURE": ZohoAuthError,
    "OAUTH_SCOPE_MISMATCH": ZohoAuthError,
    "NO_PERMISSION": ZohoAuthError,
    "TOO_MANY_REQUESTS": ZohoRateLimited,
    "DUPLICATE_DATA": ZohoDuplicateRecord,
    "MANDATORY_NOT_FOUND": ZohoMandatoryMissing,
    "INVALID_DATA": ZohoInvalidData,
}


def error_class(code: str, status: int | None) -> type[ZohoError]:
    """The class for a Zoho ``code``; the HTTP status decides when the code is unknown."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in (401, 403):
        return ZohoAuthError
    if status == 429:
        return ZohoRateLimited
    if status is not None and status >= 500:
        return ZohoServerError
    return ZohoInvalidRequest


# -- parsing error answers ----------------------------------------------------------------------


def parse_error(
    response: httpx.Response, http: HttpService, auth_hint: str
) -> IntegrationError | None:
    """The API's error answer as a :class:`ZohoError` (None: not Zoho's shape)."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("data"), list) and body["data"]:
        first = next(
            (
                (i, item)
                for i, item in enumerate(body["data"])
                if isinstance(item, dict) and item.get("status") == "error"
            ),
            None,
        )
        if first is not None:
            return record_error(first[1], first[0], response, http, auth_hint)
    if "code" in body:
        return record_error(body, None, response, http, auth_hint)
    return None


def record_error(
    item: Mapping[str, Any],
    index: int | None,
    response: httpx.Response,
    http: HttpService,
    auth_hint: str,
) -> ZohoError:
    """The :class:`ZohoError` for one error object (a batch's ``data[index]`` or the body)."""
    code = str(item.get("code") or "")
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    assert isinstance(details, dict)
    field_name = details.get("api_name") or None
    record_id = None
    duplicate = details.get("duplicate_record")
    if isinstance(duplicate, dict) and duplicate.get("id"):
        record_id = str(duplicate["id"])
    elif details.get("id"):
        record_id = str(details["id"])
    message = str(item.get("message") or code or "error")
    where = []
    if index is not None:
        where.append(f"record {index}")
    if field_name:
        where.append(f"field {field_name}")
    if record_id and code == "DUPLICATE_DATA":
        where.append(f"existing record {record_id}")
    request = response.request
    text = f"zoho: {request.method} {request.url.path} answered {response.status_code}: {code}"
    text += f" {message}" if message != code else ""
    if where:
        text += f" ({', '.join(where)})"
    cls = error_class(code, response.status_code)
    extra: dict[str, Any] = {}
    if cls is ZohoRateLimited:
        extra["retry_after"] = http.retry_after_of(response)
    if cls is ZohoAuthError:
        extra["hint"] = auth_hint
    return cls(
        http.redact(text),
        code=code,
        field=field_name,
        record=index,
        record_id=record_id,
        details=details,
        status=response.status_code,
        request_id=http.request_id(response),
        **extra,
    )


def oauth_error(
    response: httpx.Response, http: HttpService, auth_hint: str
) -> IntegrationError | None:
    """``{"error": ..., "error_description": ...}`` from the accounts server."""
    if response.status_code >= 500 or response.status_code == 429:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "error" not in body:
        return None
    error = str(body.get("error"))
    description = str(body.get("error_description") or "")
    text = f"zoho: the accounts server refused the token: {error}"
    if description:
        text += f": {description}"
    return ZohoAuthError(
        http.redact(text),
        code=error,
        status=response.status_code,
        request_id=http.request_id(response),
        hint=auth_hint,
    )


def code_of(response: httpx.Response) -> str | None:
    """The ``code`` of a JSON error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body["code"]) if isinstance(body, dict) and "code" in body else None
