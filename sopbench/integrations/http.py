"""The one HTTP layer every integration client uses.

:class:`HttpService` wraps one :class:`httpx.Client` for one outside service
and adds, in one place:

* **auth resolved at call time** from a named secret (``Auth`` callables:
  :func:`bearer_auth`, :func:`header_auth`, :func:`basic_auth`, or any
  ``Callable[[], Mapping[str, str]]``); the value is never kept in the
  object, its ``repr`` or an error;
* **timeouts** (``timeout=`` seconds, per request overridable);
* **retries** with exponential backoff on 429, 5xx and transport errors,
  waiting exactly what ``Retry-After`` says (seconds or an HTTP date) when
  the server says it. Only *safe* calls are retried: idempotent methods
  (GET, HEAD, OPTIONS, PUT, DELETE), calls carrying an ``idempotency_key``
  (sent as the ``Idempotency-Key`` header) or calls the client marks
  ``idempotent=True``. A connection that was refused (nothing sent) is
  always retried. An unsafe call without a key is never repeated;
* **structured errors**: every failure is an :class:`IntegrationError`
  subclass carrying ``service``, ``status``, ``request_id`` (from the
  response headers) and a message with every secret value redacted::

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

Service clients customise it with two hooks: ``error_parser`` turns a
failed response into a service-specific error (Zoho's ``code`` JSON,
Discord's ``retry_after``) and ``retry_after`` reads a wait time from a
response. ``on_auth_failure`` lets an OAuth client refresh its token and
have the request repeated once.

Example::

    svc = HttpService(
        "mixpost",
        "https://host/mixpost/api/WORKSPACE",
        auth=bearer_auth(settings.secrets, "MIXPOST_TOKEN"),
        secrets=settings.secrets,
    )
    accounts = svc.json(svc.request("GET", "/accounts"))

The added cost of all this on a clean call is a few microseconds (see
``benchmarks/bench_clients.py``).
"""

from __future__ import annotations

import base64
import json as jsonlib
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from sopbench.errors import IntegrationError

if TYPE_CHECKING:
    from sopbench.config import Secrets, Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "Auth",
    "AuthFailed",
    "HttpService",
    "HttpStatusError",
    "MalformedResponse",
    "RateLimited",
    "RequestRejected",
    "ResourceGone",
    "RetryPolicy",
    "ServerError",
    "ServiceTimeout",
    "TransportFailed",
    "auth_from_connection",
    "basic_auth",
    "bearer_auth",
    "header_auth",
    "parse_retry_after",
    "service_from_connection",
]

logger = logging.getLogger("sopbench.integrations")

Auth = Callable[[], Mapping[str, str]]
"""Returns the auth headers of one request; called at request time."""

ErrorParser = Callable[[httpx.Response, "HttpService"], "IntegrationError | None"]
RetryAfterReader = Callable[[httpx.Response], "float | None"]

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "cf-ray",
)


# -- errors ---------------------------------------------------------------------


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
        self.retry_after = retry_after
        super().__init__(message, **fields)


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


class MalformedResponse(IntegrationError):
    """The service answered with something the API does not document."""


# -- auth -------------------------------------------------------------------------


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


# -- retry policy -------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a safe call is retried."""

    attempts: int = 4
    """Total tries, the first included (1 = no retry)."""
    backoff: float = 0.25
    """First wait in seconds; doubled on every further retry (with jitter)."""
    max_backoff: float = 8.0
    max_wait: float = 60.0
    """The longest ``Retry-After`` obeyed; a longer one fails at once with RateLimited."""
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """From connection ``options``: ``retries``, ``backoff``, ``max_backoff``, ``max_wait``."""
        base = cls()
        return cls(
            attempts=1 + int(options.get("retries", base.attempts - 1)),
            backoff=float(options.get("backoff", base.backoff)),
            max_backoff=float(options.get("max_backoff", base.max_backoff)),
            max_wait=float(options.get("max_wait", base.max_wait)),
        )

    def delay(self, retry: int) -> float:
        """Backoff before retry number ``retry`` (1-based): exponential with equal jitter."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + random.random() * ceiling / 2


NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _header_retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


# -- log redaction ---------------------------------------------------------------------

_LIVE: weakref.WeakSet[HttpService] = weakref.WeakSet()
_FILTER_LOCK = threading.Lock()
_FILTERED = False
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


class _RedactLogs(logging.Filter):
    """Masks secret values in httpx/httpcore log records (httpx logs full URLs at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        services = list(_LIVE)
        if not services:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        masked = text
        for service in services:
            masked = service.redact(masked)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


def _watch(service: HttpService) -> None:
    global _FILTERED
    _LIVE.add(service)
    if _FILTERED:
        return
    with _FILTER_LOCK:
        if not _FILTERED:
            for name in _HTTP_LOGGERS:
                logging.getLogger(name).addFilter(_RedactLogs())
            _FILTERED = True


# -- the service ----------------------------------------------------------------------


class HttpService:
    """One outside service over HTTP: base URL, auth, timeouts, retries, errors.

    Thread-safe as far as httpx.Client is (it is); one per connection.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        auth: Auth | None = None,
        secrets: Secrets | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        error_parser: ErrorParser | None = None,
        retry_after: RetryAfterReader | None = None,
        on_auth_failure: Callable[[httpx.Response], bool] | None = None,
        request_id_headers: Iterable[str] = REQUEST_ID_HEADERS,
        idempotency_header: str = "Idempotency-Key",
        auth_hint: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._auth = auth
        self._secrets = secrets
        self._sensitive: set[str] = set()
        self._error_parser = error_parser
        self._retry_after = retry_after or _header_retry_after
        self._on_auth_failure = on_auth_failure
        self._request_id_headers = tuple(h.lower() for h in request_id_headers)
        self._idempotency_header = idempotency_header
        self.auth_hint = auth_hint
        """Hint given with :class:`AuthFailed` (which secret to check)."""
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        _watch(self)

    def __repr__(self) -> str:
        return f"<HttpService {self.service} {self.redact(self.base_url)}>"

    # -- lifecycle
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- redaction
    def add_sensitive(self, *values: str | None) -> None:
        """Values (tokens minted at run time, URL parts) to mask in every error and log."""
        for value in values:
            if value and len(value) >= 4:
                self._sensitive.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``***``."""
        if self._secrets is not None:
            text = self._secrets.redact(text)
        for value in sorted(self._sensitive, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def retry_after_of(self, response: httpx.Response) -> float | None:
        """Seconds the service asked us to wait (``Retry-After`` or the service's reader)."""
        return self._retry_after(response)

    def request_id(self, response: httpx.Response) -> str | None:
        for name in self._request_id_headers:
            value: str | None = response.headers.get(name)
            if value:
                return value
        return None

    # -- requests
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        authenticate: bool = True,
        ok: Callable[[int], bool] | None = None,
    ) -> httpx.Response:
        """Send one request (retried when safe) and return the successful response.

        ``path`` is relative to the base URL (or absolute). ``ok`` decides
        which statuses count as success (default: 2xx); any other status
        raises the matching :class:`HttpStatusError`. Raises
        :class:`TransportFailed`/:class:`ServiceTimeout` when no answer came.
        """
        method = method.upper()
        extra: dict[str, str] = dict(headers or {})
        if idempotency_key is not None:
            extra[self._idempotency_header] = idempotency_key
        safe = (
            idempotent
            if idempotent is not None
            else (method in IDEMPOTENT_METHODS or idempotency_key is not None)
        )
        policy = self.retry
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(extra)
            if authenticate and self._auth is not None:
                send_headers.update(self._auth())
            started = time.perf_counter()
            try:
                response = self._client.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    content=content,
                    headers=send_headers,
                    timeout=self.timeout if timeout is None else timeout,
                )
            except httpx.TimeoutException as exc:
                sent = not isinstance(exc, httpx.ConnectTimeout)
                if attempt < policy.attempts and (safe or not sent):
                    self._wait(policy.delay(attempt), method, path, attempt, "timeout")
                    continue
                raise ServiceTimeout(
                    self.redact(
                        f"{self.service}: {method} {path} got no answer within "
                        f"{self.timeout if timeout is None else timeout:g}s"
                    ),
                    service=self.service,
                ) from None
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError)
                if attempt < policy.attempts and (safe or not sent):
                    self._wait(policy.delay(attempt), method, path, attempt, type(exc).__name__)
                    continue
                raise TransportFailed(
                    self.redact(
                        f"{self.service}: {method} {path} failed: {type(exc).__name__}: {exc}"
                    ),
                    service=self.service,
                ) from None
            status = response.status_code
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s %s -> %s in %.1f ms (attempt %d)",
                    self.service,
                    method,
                    self.redact(path),
                    status,
                    (time.perf_counter() - started) * 1000,
                    attempt,
                )
            if (200 <= status < 300) if ok is None else ok(status):
                return response
            if (
                status == 401
                and not refreshed
                and self._on_auth_failure is not None
                and self._on_auth_failure(response)
            ):
                refreshed = True
                attempt -= 1
                continue
            if status in policy.statuses and safe and attempt < policy.attempts:
                wait = self._retry_after(response)
                if wait is None:
                    wait = policy.delay(attempt)
                if wait <= policy.max_wait:
                    response.close()
                    self._wait(wait, method, path, attempt, str(status))
                    continue
            raise self.error_for(response, method=method, path=path)

    def _wait(self, seconds: float, method: str, path: str, attempt: int, why: str) -> None:
        logger.info(
            "%s %s %s: %s, retry %d in %.2fs",
            self.service,
            method,
            self.redact(path),
            why,
            attempt,
            seconds,
        )
        self._sleep(seconds)

    # -- helpers for clients
    def json(self, response: httpx.Response, expect: type[T] = object) -> T:  # type: ignore[assignment]
        """The decoded JSON body, checked to be an ``expect`` (dict, list ...)."""
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            raise self.malformed(response, "the body is not JSON") from None
        if expect is not object and not isinstance(data, expect):
            raise self.malformed(response, f"expected a JSON {expect.__name__}")
        return data  # type: ignore[no-any-return]

    def malformed(self, response: httpx.Response, why: str) -> MalformedResponse:
        snippet = response.text[:200] if response.content else "(empty)"
        return MalformedResponse(
            self.redact(
                f"{self.service}: {response.request.method} {response.request.url.path} "
                f"answered {response.status_code} with an unexpected body ({why}): {snippet!r}"
            ),
            service=self.service,
            status=response.status_code,
            request_id=self.request_id(response),
        )

    def error_for(
        self, response: httpx.Response, *, method: str | None = None, path: str | None = None
    ) -> IntegrationError:
        """The error a failed response stands for (the service's parser first)."""
        if self._error_parser is not None:
            parsed = self._error_parser(response, self)
            if parsed is not None:
                return parsed
        return self.default_error(response, method=method, path=path)

    def default_error(
        self,
        response: httpx.Response,
        *,
        method: str | None = None,
        path: str | None = None,
        message: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
    ) -> HttpStatusError:
        """A status-classed error with the body's ``message``/``error`` as text."""
        status = response.status_code
        body: Any = None
        if message is None:
            body = _decode(response)
            message = _message_from(body) or response.reason_phrase or "error"
            if errors is None:
                errors = _laravel_errors(body)
        method = method or response.request.method
        path = path or response.request.url.path
        text = self.redact(f"{self.service}: {method} {path} answered {status}: {message}")
        if errors:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
            text = self.redact(f"{text} ({detail})")
        fields: dict[str, Any] = {
            "service": self.service,
            "status": status,
            "request_id": self.request_id(response),
            "errors": {
                self.redact(k): [self.redact(m) for m in v] for k, v in (errors or {}).items()
            },
            "body": _redact_value(body, self.redact),
        }
        if status == 429:
            return RateLimited(text, retry_after=self.retry_after_of(response), **fields)
        if status in (401, 403):
            return AuthFailed(text, hint=self.auth_hint, **fields)
        if status in (404, 410):
            return ResourceGone(text, **fields)
        if status >= 500:
            return ServerError(text, **fields)
        return RequestRejected(text, **fields)


def _decode(response: httpx.Response) -> Any:
    try:
        response.read()
        return response.json() if response.content else None
    except (ValueError, UnicodeDecodeError):
        return response.text[:500] or None


def _message_from(body: Any) -> str | None:
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


def _laravel_errors(body: Any) -> dict[str, list[str]]:
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


def _redact_value(value: Any, redact: Callable[[str], str]) -> Any:
    if value is None:
        return None
    text = jsonlib.dumps(value)
    masked = redact(text)
    return value if masked == text else jsonlib.loads(masked)


def service_from_connection(
    service: str,
    connection: Connection,
    settings: Settings,
    *,
    base_url: str | None = None,
    auth: Auth | None = None,
    **kwargs: Any,
) -> HttpService:
    """An :class:`HttpService` for a workspace connection.

    Uses the connection's ``base_url``, ``timeout``, ``headers``, auth
    (``auth:`` + ``secret:``, unless ``auth`` is given) and retry options
    (``options.retries``/``backoff``/``max_backoff``/``max_wait``).
    """
    from sopbench.errors import ConnectionNotConfigured

    url = base_url or connection.base_url
    if not url:
        raise ConnectionNotConfigured(
            f"the {service} connection has no base_url",
            hint="set base_url for it in sops/connections.yaml (or run `sopbench sandbox`)",
        )
    kwargs.setdefault("retry", RetryPolicy.from_options(connection.options))
    if connection.secret and "auth_hint" not in kwargs:
        kwargs["auth_hint"] = f"check the secret {connection.secret}: is it current and allowed?"
    return HttpService(
        service,
        url,
        auth=auth if auth is not None else auth_from_connection(connection, settings.secrets),
        secrets=settings.secrets,
        timeout=connection.timeout,
        headers=connection.headers,
        **kwargs,
    )
