"""Zoho CRM REST API client (v8; v2-v7 share the shape).

Auth is OAuth 2.0 with a long-lived refresh token: ``POST
{accounts}/oauth/v2/token?grant_type=refresh_token&...`` mints a one-hour
access token, sent as ``Authorization: Zoho-oauthtoken <token>``. Tokens
are cached per (accounts server, client, refresh token) for the whole
process, since Zoho allows only 10 mints per refresh token per 10 minutes;
a 401 ``INVALID_TOKEN`` drops the cached token, mints a new one and
repeats the request once.

Writes: :meth:`ZohoCRM.insert` / :meth:`ZohoCRM.upsert` (with
``duplicate_check_fields``: a match is updated, never inserted twice) /
:meth:`ZohoCRM.update`; reads: :meth:`ZohoCRM.get`, :meth:`ZohoCRM.search`
(criteria built with :func:`criteria`); Tasks: :meth:`ZohoCRM.create_task`.

Zoho's error JSON (``{"code", "details", "message", "status": "error"}``,
per request or per record) becomes a :class:`ZohoError` subclass carrying
the code, the record's index in the batch, the field (``api_name``) and,
for duplicates, the existing record's id::

    ZohoError (HttpStatusError)
    ├── ZohoAuthError (AuthFailed)        INVALID_TOKEN, AUTHENTICATION_FAILURE, OAuth refusals
    ├── ZohoRateLimited (RateLimited)     TOO_MANY_REQUESTS
    ├── ZohoServerError (ServerError)     any 5xx
    ├── ZohoDuplicateRecord               DUPLICATE_DATA (.record_id = the existing record)
    ├── ZohoMandatoryMissing              MANDATORY_NOT_FOUND (.field)
    ├── ZohoInvalidData                   INVALID_DATA (.field)
    └── ZohoInvalidRequest                INVALID_MODULE, INVALID_QUERY, NOT_SUPPORTED, ...
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from sopbench.errors import ConnectionNotConfigured, IntegrationError
from sopbench.integrations.http import (
    AuthFailed,
    HttpService,
    HttpStatusError,
    RateLimited,
    RetryPolicy,
    ServerError,
)

if TYPE_CHECKING:
    from sopbench.config import Secrets, Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "NO_UPSERT_MODULES",
    "RecordResult",
    "ZohoAuthError",
    "ZohoCRM",
    "ZohoDuplicateRecord",
    "ZohoError",
    "ZohoInvalidData",
    "ZohoInvalidRequest",
    "ZohoMandatoryMissing",
    "ZohoRateLimited",
    "ZohoServerError",
    "clear_token_cache",
    "criteria",
    "escape_value",
]

NO_UPSERT_MODULES = frozenset({"Tasks", "Calls", "Events", "Meetings"})
"""Modules the upsert API does not support (per Zoho's upsert page)."""

TOKEN_MARGIN = 60.0
"""Seconds before expiry at which a cached access token is replaced."""


# -- errors ------------------------------------------------------------------------------------


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


def _error_class(code: str, status: int | None) -> type[ZohoError]:
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in (401, 403):
        return ZohoAuthError
    if status == 429:
        return ZohoRateLimited
    if status is not None and status >= 500:
        return ZohoServerError
    return ZohoInvalidRequest


# -- results and criteria ----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    """The outcome for one record of a write."""

    index: int
    id: str | None
    code: str
    message: str
    action: str | None = None
    """``insert`` or ``update`` (upsert), else ``insert`` for inserts, ``update`` for updates."""
    duplicate_field: str | None = None
    error: ZohoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def escape_value(value: Any) -> str:
    """A criteria value with ``\\``, ``(``, ``)`` and ``,`` backslash-escaped."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    for ch in ("\\", "(", ")", ","):
        text = text.replace(ch, "\\" + ch)
    return text


def criteria(*conditions: tuple[str, str, Any], join: str = "and") -> str:
    """``((f:op:v) and (f:op:v))`` from ``(field, operator, value)`` triples (≤ 10).

    A list value (for ``in``/``between``) is joined with commas.
    """
    if not conditions:
        raise ValueError("criteria need at least one condition")
    if len(conditions) > 10:
        raise ValueError("Zoho search accepts at most 10 criteria")
    parts = []
    for field_name, op, value in conditions:
        if isinstance(value, list | tuple):
            text = ",".join(escape_value(v) for v in value)
        else:
            text = escape_value(value)
        parts.append(f"({field_name}:{op}:{text})")
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {join} ".join(parts) + ")"


# -- the token cache ---------------------------------------------------------------------------


@dataclass
class _Cached:
    token: str
    expires: float
    api_domain: str | None


_TOKENS: dict[str, _Cached] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; a revoked refresh token)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


# -- the client --------------------------------------------------------------------------------


class ZohoCRM:
    """Zoho CRM records of one org, over an OAuth refresh token."""

    service = "zoho"

    def __init__(
        self,
        *,
        secrets: Secrets,
        accounts_url: str = "https://accounts.zoho.com",
        api_url: str | None = None,
        version: str = "v8",
        client_id_secret: str = "ZOHO_CLIENT_ID",
        client_secret_secret: str = "ZOHO_CLIENT_SECRET",
        refresh_token_secret: str = "ZOHO_REFRESH_TOKEN",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.secrets = secrets
        self.accounts_url = accounts_url.rstrip("/")
        self.version = version
        self._names = (client_id_secret, client_secret_secret, refresh_token_secret)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._headers = dict(headers or {})
        hint = (
            f"check the secrets {client_id_secret}, {client_secret_secret} and "
            f"{refresh_token_secret} (a Zoho self-client refresh token with ZohoCRM scopes)"
        )
        self.auth_hint = hint
        self._accounts = HttpService(
            "zoho-accounts",
            self.accounts_url,
            secrets=secrets,
            timeout=timeout,
            retry=self._retry,
            auth_hint=hint,
            error_parser=self._oauth_error,
        )
        self._api_url = api_url.rstrip("/") if api_url else None
        self._api: HttpService | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ZohoCRM {self._api_url or '(api domain from token)'} {self.version}>"

    @classmethod
    def from_connection(cls, connection: Connection, settings: Settings) -> ZohoCRM:
        """From a ``type: zoho`` connection.

        ``base_url``: the API domain (``https://www.zohoapis.eu``, or with
        ``/crm/v8``; optional, the token response names it); ``secret``: the
        refresh token's secret name (default ``ZOHO_REFRESH_TOKEN``);
        ``options``: ``accounts_url`` (default ``https://accounts.zoho.com``),
        ``client_id_secret`` / ``client_secret_secret`` (or ``client_id`` /
        ``client_secret``: secret *names*, default ``ZOHO_CLIENT_ID`` /
        ``ZOHO_CLIENT_SECRET``), ``version`` (``v8``) and the retry options
        of :class:`RetryPolicy`.
        """
        options = connection.options
        if connection.type != "zoho":
            raise ConnectionNotConfigured(
                f"a {connection.type} connection cannot be used for Zoho CRM",
                hint="point the step at a connection with `type: zoho`",
            )
        api_url = connection.base_url
        version = str(options.get("version", "v8"))
        if api_url and "/crm/" in api_url:  # ``https://www.zohoapis.com/crm/v8`` works too
            api_url, _, tail = api_url.partition("/crm/")
            version = tail.strip("/") or version
        return cls(
            secrets=settings.secrets,
            accounts_url=str(options.get("accounts_url", "https://accounts.zoho.com")),
            api_url=api_url or None,
            version=version,
            client_id_secret=str(
                options.get("client_id_secret") or options.get("client_id") or "ZOHO_CLIENT_ID"
            ),
            client_secret_secret=str(
                options.get("client_secret_secret")
                or options.get("client_secret")
                or "ZOHO_CLIENT_SECRET"
            ),
            refresh_token_secret=connection.secret or "ZOHO_REFRESH_TOKEN",
            timeout=connection.timeout,
            retry=RetryPolicy.from_options(options),
            headers=connection.headers,
        )

    def close(self) -> None:
        self._accounts.close()
        if self._api is not None:
            self._api.close()

    def __enter__(self) -> ZohoCRM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens ------------------------------------------------------------------------------------
    def _cache_key(self) -> str:
        client_id, client_secret, refresh = (self.secrets.get(n) for n in self._names)
        raw = f"{self.accounts_url}\x00{client_id}\x00{client_secret}\x00{refresh}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def access_token(self) -> str:
        """A valid access token: the cached one, or a newly minted one."""
        key = self._cache_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        if cached is not None and cached.expires > time.monotonic():
            self._sensitive(cached.token)
            return cached.token
        return self._refresh(key).token

    def invalidate_token(self) -> None:
        key = self._cache_key()
        with _TOKENS_LOCK:
            _TOKENS.pop(key, None)

    def _refresh(self, key: str) -> _Cached:
        with self._lock:
            with _TOKENS_LOCK:
                cached = _TOKENS.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached
            client_id, client_secret, refresh = (self.secrets.get(n) for n in self._names)
            self._accounts.add_sensitive(client_id, client_secret, refresh)
            response = self._accounts.request(
                "POST",
                "/oauth/v2/token",
                params={
                    "refresh_token": refresh,
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "grant_type": "refresh_token",
                },
                idempotent=True,
                ok=lambda status: status < 300,
            )
            data = self._accounts.json(response, dict)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                error = data.get("error") or data.get("error_description") or "no access_token"
                raise ZohoAuthError(
                    self._accounts.redact(f"zoho: the accounts server refused the token: {error}"),
                    code=str(error),
                    status=response.status_code,
                    request_id=self._accounts.request_id(response),
                    hint=self.auth_hint,
                )
            try:
                ttl = float(data.get("expires_in", 3600))
            except (TypeError, ValueError):
                ttl = 3600.0
            cached = _Cached(
                token=token,
                expires=time.monotonic() + max(0.0, ttl - min(TOKEN_MARGIN, ttl / 2)),
                api_domain=data.get("api_domain"),
            )
            self._sensitive(token)
            with _TOKENS_LOCK:
                _TOKENS[key] = cached
            return cached

    def _oauth_error(self, response: httpx.Response, http: HttpService) -> IntegrationError | None:
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
            hint=self.auth_hint,
        )

    def _sensitive(self, token: str) -> None:
        self._accounts.add_sensitive(token)
        if self._api is not None:
            self._api.add_sensitive(token)

    def _on_auth_failure(self, response: httpx.Response) -> bool:
        code = _code_of(response)
        if code in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE") or code is None:
            self.invalidate_token()
            return True
        return False

    @property
    def api(self) -> HttpService:
        """The API service (its base URL from the connection or the token's api_domain)."""
        if self._api is not None:
            return self._api
        base = self._api_url
        if base is None:
            key = self._cache_key()
            with _TOKENS_LOCK:
                cached = _TOKENS.get(key)
            domain = cached.api_domain if cached is not None else None
            if not domain:
                domain = self._refresh(key).api_domain
            if not domain:
                raise ConnectionNotConfigured(
                    "the Zoho token response names no api_domain",
                    hint="set base_url (e.g. https://www.zohoapis.com) on the zoho connection",
                )
            base = domain.rstrip("/")
        with self._lock:
            if self._api is None:
                self._api = HttpService(
                    self.service,
                    f"{base}/crm/{self.version}",
                    auth=lambda: {"Authorization": f"Zoho-oauthtoken {self.access_token()}"},
                    secrets=self.secrets,
                    timeout=self._timeout,
                    headers=self._headers,
                    retry=self._retry,
                    error_parser=self._parse_error,
                    on_auth_failure=self._on_auth_failure,
                    auth_hint=self.auth_hint,
                )
            return self._api

    # -- errors ------------------------------------------------------------------------------------
    def _parse_error(self, response: httpx.Response, http: HttpService) -> IntegrationError | None:
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
                return self._record_error(first[1], first[0], response, http)
        if "code" in body:
            return self._record_error(body, None, response, http)
        return None

    def _record_error(
        self,
        item: Mapping[str, Any],
        index: int | None,
        response: httpx.Response,
        http: HttpService,
    ) -> ZohoError:
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
        cls = _error_class(code, response.status_code)
        extra: dict[str, Any] = {}
        if cls is ZohoRateLimited:
            extra["retry_after"] = http.retry_after_of(response)
        if cls is ZohoAuthError:
            extra["hint"] = self.auth_hint
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

    # -- writes ------------------------------------------------------------------------------------
    def _results(self, response: httpx.Response, default_action: str | None) -> list[RecordResult]:
        if response.status_code == 204:
            raise self.api.malformed(response, "a write answered with no content")
        if response.status_code >= 300:
            try:
                data = response.json().get("data")
            except (ValueError, AttributeError):
                data = None
            if not isinstance(data, list):
                raise self.api.error_for(response)
        else:
            data = self.api.json(response, dict).get("data")
        if not isinstance(data, list):
            raise self.api.malformed(response, "expected a `data` list of record results")
        results: list[RecordResult] = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise self.api.malformed(response, f"record result {index} is not an object")
            details = item.get("details") if isinstance(item.get("details"), dict) else {}
            assert isinstance(details, dict)
            if item.get("status") == "success":
                record_id = details.get("id")
                if not record_id:
                    raise self.api.malformed(response, f"record result {index} has no id")
                results.append(
                    RecordResult(
                        index=index,
                        id=str(record_id),
                        code=str(item.get("code") or "SUCCESS"),
                        message=str(item.get("message") or ""),
                        action=item.get("action") or default_action,
                        duplicate_field=item.get("duplicate_field"),
                    )
                )
            else:
                error = self._record_error(item, index, response, self.api)
                results.append(
                    RecordResult(
                        index=index,
                        id=error.record_id,
                        code=error.code,
                        message=str(item.get("message") or ""),
                        error=error,
                    )
                )
        return results

    def insert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> list[RecordResult]:
        """Insert up to 100 records; one :class:`RecordResult` per record, in order."""
        _check_batch(records)
        payload: dict[str, Any] = {"data": [dict(r) for r in records]}
        if trigger is not None:
            payload["trigger"] = list(trigger)
        return self._write_batch(
            "POST", f"/{module}", payload, idempotency_key, None, default_action="insert"
        )

    def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> list[RecordResult]:
        """Insert or update up to 100 records matched on ``duplicate_check_fields``.

        With duplicate-check fields the call is idempotent (a repeat
        matches the record it created and updates it with the same
        values), so it is retried even without an idempotency key.
        """
        _check_batch(records)
        payload: dict[str, Any] = {"data": [dict(r) for r in records]}
        if duplicate_check_fields:
            payload["duplicate_check_fields"] = list(duplicate_check_fields)
        if trigger is not None:
            payload["trigger"] = list(trigger)
        idempotent = True if duplicate_check_fields else None
        return self._write_batch(
            "POST", f"/{module}/upsert", payload, idempotency_key, idempotent, None
        )

    def update(
        self,
        module: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """Update one record's fields (PUT is idempotent: retried when safe)."""
        payload: dict[str, Any] = {"data": [dict(fields)]}
        if trigger is not None:
            payload["trigger"] = list(trigger)
        results = self._write_batch(
            "PUT", f"/{module}/{record_id}", payload, idempotency_key, None, "update"
        )
        return _single(results)

    def _write_batch(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any],
        idempotency_key: str | None,
        idempotent: bool | None,
        default_action: str | None,
    ) -> list[RecordResult]:
        # A 400 listing per-record results is an answer (every record refused),
        # not a request error: it is turned into results, not raised here.
        response = self.api.request(
            method,
            path,
            json=dict(payload),
            idempotency_key=idempotency_key,
            idempotent=idempotent,
            ok=lambda status: 200 <= status < 300 or status == 400,
        )
        return self._results(response, default_action)

    def insert_one(
        self, module: str, fields: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> RecordResult:
        """Insert one record; raises its :class:`ZohoError` when refused."""
        return _single(self.insert(module, [fields], idempotency_key=idempotency_key))

    def upsert_one(
        self,
        module: str,
        fields: Mapping[str, Any],
        *,
        duplicate_check_fields: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """Upsert one record; raises its :class:`ZohoError` when refused."""
        return _single(
            self.upsert(
                module,
                [fields],
                duplicate_check_fields=duplicate_check_fields,
                idempotency_key=idempotency_key,
            )
        )

    # -- reads -------------------------------------------------------------------------------------
    def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        """One record, or None when there is none with that id."""
        response = self.api.request("GET", f"/{module}/{record_id}")
        if response.status_code == 204 or not response.content:
            return None
        data = self.api.json(response, dict).get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise self.api.malformed(response, "expected `data` with one record")
        record: dict[str, Any] = data[0]
        return record

    def search(
        self,
        module: str,
        *,
        criteria: str | Mapping[str, Any] | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        page: int = 1,
        per_page: int = 200,
    ) -> list[dict[str, Any]]:
        """Records matching one of: ``criteria`` (text, or ``{field: value}`` = all equal),
        ``email``, ``phone`` or ``word``; ``[]`` when none match."""
        params: dict[str, Any] = {"page": page, "per_page": min(per_page, 200)}
        if isinstance(criteria, Mapping):
            params["criteria"] = _equals(criteria)
        elif criteria is not None:
            params["criteria"] = criteria
        elif email is not None:
            params["email"] = email
        elif phone is not None:
            params["phone"] = phone
        elif word is not None:
            params["word"] = word
        else:
            raise ValueError("search needs criteria, email, phone or word")
        response = self.api.request("GET", f"/{module}/search", params=params)
        if response.status_code == 204 or not response.content:
            return []
        data = self.api.json(response, dict).get("data")
        if not isinstance(data, list):
            raise self.api.malformed(response, "expected a `data` list of records")
        return [r for r in data if isinstance(r, dict)]

    def find(self, module: str, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Records whose ``fields`` equal the given values exactly (search, then filter:
        Zoho's ``equals`` may match by containment)."""
        found = self.search(module, criteria=fields)
        return [r for r in found if all(_same(r.get(k), v) for k, v in fields.items())]

    # -- Tasks -------------------------------------------------------------------------------------
    def create_task(
        self,
        subject: str,
        *,
        due_date: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        owner: str | None = None,
        what_id: str | None = None,
        se_module: str | None = None,
        who_id: str | None = None,
        description: str | None = None,
        fields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """A task (Tasks module); ``what_id`` + ``se_module`` relate it to a record."""
        record: dict[str, Any] = {"Subject": subject}
        if due_date:
            record["Due_Date"] = due_date
        if status:
            record["Status"] = status
        if priority:
            record["Priority"] = priority
        if owner:
            record["Owner"] = {"id": owner}
        if what_id:
            record["What_Id"] = {"id": what_id}
            if se_module:
                record["$se_module"] = se_module
        if who_id:
            record["Who_Id"] = {"id": who_id}
        if description:
            record["Description"] = description
        record.update(fields or {})
        return self.insert_one("Tasks", record, idempotency_key=idempotency_key)


def _code_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body["code"]) if isinstance(body, dict) and "code" in body else None


def _check_batch(records: Sequence[Mapping[str, Any]]) -> None:
    if not records:
        raise ValueError("no records to write")
    if len(records) > 100:
        raise ValueError("Zoho CRM accepts at most 100 records per call")


def _single(results: list[RecordResult]) -> RecordResult:
    if len(results) != 1:
        raise IntegrationError(
            f"zoho: expected one record result, got {len(results)}", service="zoho"
        )
    result = results[0]
    if result.error is not None:
        raise result.error
    return result


def _equals(fields: Mapping[str, Any]) -> str:
    return criteria(*((name, "equals", value) for name, value in fields.items()))


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, dict) and not isinstance(wanted, dict):
        actual = actual.get("id")
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    return bool(actual == wanted) or str(actual) == str(wanted)
