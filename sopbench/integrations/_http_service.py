"""The HTTP service itself: one outside service's client, its calls and their errors.

:class:`HttpService` is the piece every integration client holds: it sends
each request with the auth headers of the moment, retries what is safe to
retry (see :mod:`sopbench.integrations._http_retry`), turns every failure
into an error of :mod:`sopbench.integrations._http_errors` with secret
values redacted, and registers itself so httpx logs are masked too
(:mod:`sopbench.integrations._http_logs`). The layer as a whole is
described, and its names are imported, in :mod:`sopbench.integrations.http`.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from sopbench.errors import IntegrationError
from sopbench.integrations._http_auth import Auth
from sopbench.integrations._http_errors import (
    AuthFailed,
    HttpStatusError,
    InvalidRequest,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ResourceGone,
    ServerError,
    ServiceTimeout,
    TransportFailed,
    decode_body,
    laravel_errors,
    message_from,
)
from sopbench.integrations._http_logs import watch
from sopbench.integrations._http_retry import IDEMPOTENT_METHODS, RetryPolicy, header_retry_after
from sopbench.redaction import MIN_SECRET_LENGTH, Redactor

if TYPE_CHECKING:
    from sopbench.config import Secrets

__all__ = [
    "REQUEST_ID_HEADERS",
    "ErrorParser",
    "HttpService",
    "RetryAfterReader",
    "logger",
]

logger = logging.getLogger("sopbench.integrations")

ErrorParser = Callable[[httpx.Response, "HttpService"], "IntegrationError | None"]
RetryAfterReader = Callable[[httpx.Response], "float | None"]

T = TypeVar("T")


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS trust store for every client of the process.

    Building it is most of what an httpx client costs (~28 ms, against
    0.2 ms with this one shared); it holds no connection and no credential,
    so clients made per call (steps, adapters) stay cheap and separate.
    """
    return httpx.create_ssl_context()


REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "cf-ray",
)


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
        auth_params: Auth | None = None,
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
        self._auth_params = auth_params
        """Query parameters of the auth (``auth: query``), resolved per request."""
        self._secrets = secrets
        self._sensitive: set[str] = set()
        self._error_parser = error_parser
        self._retry_after = retry_after or header_retry_after
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
            verify=_tls_context(),
            follow_redirects=False,
        )
        watch(self)

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
        """Values (tokens minted at run time, URL parts) to mask in every error and log.

        Values shorter than :data:`~sopbench.redaction.MIN_SECRET_LENGTH` are
        not masked (they would hide ordinary text).
        """
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                self._sensitive.add(value)

    def _redactor(self) -> Redactor:
        known = self._secrets.known() if self._secrets is not None else frozenset()
        return Redactor(known | self._sensitive)

    def redact(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``***``."""
        return self._redactor().text(text)

    def redact_data(self, value: T) -> T:
        """``value`` (a decoded body) with every known secret masked in its strings."""
        return self._redactor().data(value)

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
        deadline: float | None = None,
    ) -> httpx.Response:
        """Send one request (retried when safe) and return the successful response.

        ``path`` is relative to the base URL (or absolute). ``ok`` decides
        which statuses count as success (default: 2xx); any other status
        raises the matching :class:`HttpStatusError`. Raises
        :class:`TransportFailed`/:class:`ServiceTimeout` when no answer came.
        ``deadline`` (a ``time.monotonic()`` value) bounds the whole call,
        retries and waits included: a step's timeout.
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
        limit = self.timeout if timeout is None else timeout
        while True:
            attempt += 1
            send_headers = dict(extra)
            send_params = params
            if authenticate:
                send_headers.update(self._credentials(self._auth))
                if self._auth_params is not None:
                    send_params = {**(params or {}), **self._credentials(self._auth_params)}
            this_try = limit if deadline is None else min(limit, deadline - time.monotonic())
            started = time.perf_counter()
            try:
                if this_try <= 0:
                    raise httpx.ReadTimeout("the deadline passed before the request")
                response = self._client.request(
                    method,
                    path,
                    params=send_params,
                    json=json,
                    content=content,
                    headers=send_headers,
                    timeout=this_try,
                )
            except httpx.TimeoutException as exc:
                sent = not isinstance(exc, httpx.ConnectTimeout)
                wait = policy.delay(attempt)
                if attempt < policy.attempts and (safe or not sent) and _fits(wait, deadline):
                    self._wait(wait, method, path, attempt, "timeout")
                    continue
                raise ServiceTimeout(
                    self.redact(f"{self.service}: {method} {path} got no answer within {limit:g}s"),
                    service=self.service,
                ) from None
            except (UnicodeEncodeError, httpx.InvalidURL) as exc:
                # Built, never sent: a non-ASCII header value (a secret with a
                # letter like "ä"), a URL httpx cannot parse. Safe to report as is.
                raise InvalidRequest(
                    self.redact(f"{self.service}: {method} {path} cannot be sent: {exc}"),
                    service=self.service,
                ) from None
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError)
                wait = policy.delay(attempt)
                if attempt < policy.attempts and (safe or not sent) and _fits(wait, deadline):
                    self._wait(wait, method, path, attempt, type(exc).__name__)
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
                asked = self._retry_after(response)
                pause = policy.delay(attempt) if asked is None else asked
                if pause <= policy.max_wait and _fits(pause, deadline):
                    response.close()
                    self._wait(pause, method, path, attempt, str(status))
                    continue
            raise self.error_for(response, method=method, path=path)

    def _credentials(self, auth: Auth | None) -> Mapping[str, str]:
        """``auth``'s values for this request, each masked from now on.

        A basic-auth header is not the secret itself but its base64 form, so
        the secret's own redaction would miss it in an echoed header.
        """
        if auth is None:
            return {}
        values = auth()
        for value in values.values():
            # "Bearer <token>" / "Basic <base64>": the credential is after the scheme,
            # and masking only it keeps the scheme readable ("Bearer ***").
            credential = value.partition(" ")[2] or value
            if credential not in self._sensitive:
                self.add_sensitive(credential)
        return values

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
            body = decode_body(response, redact=self.redact)
            message = message_from(body) or response.reason_phrase or "error"
            if errors is None:
                errors = laravel_errors(body)
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
            "body": self.redact_data(body),
        }
        if status == 429:
            return RateLimited(text, retry_after=self.retry_after_of(response), **fields)
        if status >= 500:
            # A 503's Retry-After is as binding as a 429's: a later, durable
            # retry (the engine's) must not come sooner.
            return ServerError(text, retry_after=self.retry_after_of(response), **fields)
        if status in (401, 403):
            return AuthFailed(text, hint=self.auth_hint, **fields)
        if status in (404, 410):
            return ResourceGone(text, **fields)
        return RequestRejected(text, **fields)


def _fits(wait: float, deadline: float | None) -> bool:
    """Whether waiting ``wait`` seconds still leaves time before ``deadline``."""
    return deadline is None or time.monotonic() + wait < deadline
