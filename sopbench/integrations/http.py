"""The one HTTP layer every integration client uses.

:class:`HttpService` wraps one :class:`httpx.Client` for one outside service
and adds, in one place:

* **auth resolved at call time** from a named secret (``Auth`` callables:
  :func:`bearer_auth`, :func:`header_auth`, :func:`basic_auth`, or any
  ``Callable[[], Mapping[str, str]]``; :func:`query_auth` as
  ``auth_params=`` for a key in the query string); the value is never kept
  in the object, its ``repr`` or an error, and every value sent (a basic
  header's base64 too) is masked in errors and logs;
* **timeouts** (``timeout=`` seconds, per request overridable; a
  ``deadline=`` bounds a whole call, retries included);
* **retries** with exponential backoff on 429, 5xx and transport errors,
  waiting exactly what ``Retry-After`` says (seconds or an HTTP date) when
  the server says it (a longer wait than ``max_wait`` fails at once with
  ``retry_after`` set, for a durable retry later). Only *safe* calls are retried: idempotent methods
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
      ├── InvalidRequest                   could not be sent as given (non-ASCII header ...)
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

The layer is split by concern; this module is its public face and every
name is imported from here:

* :mod:`~sopbench.integrations._http_errors`: the exception tree above and
  the readers of error bodies;
* :mod:`~sopbench.integrations._http_retry`: :class:`RetryPolicy` and
  ``Retry-After`` parsing;
* :mod:`~sopbench.integrations._http_auth`: the ``Auth`` helpers;
* :mod:`~sopbench.integrations._http_logs`: masking secrets in httpx logs
  (every :class:`HttpService` is masked; :func:`mask_logs` adds any other
  object with a ``redact(text)`` method, such as the settings' secrets);
* :mod:`~sopbench.integrations._http_service`: :class:`HttpService`;
* :mod:`~sopbench.integrations._http_connection`: :func:`service_from_connection`
  and :class:`HttpConnection`, the client of the ``api_call`` and ``webhook``
  steps (the ``http`` kind of :mod:`sopbench.integrations.registry`).

The constants and hook types that were never in ``__all__`` (``NO_RETRY``,
``IDEMPOTENT_METHODS``, ``REQUEST_ID_HEADERS``, ``ErrorParser``,
``RetryAfterReader``, ``logger``) are still importable from here.
"""

from __future__ import annotations

from sopbench.integrations._http_auth import (
    Auth,
    auth_from_connection,
    basic_auth,
    bearer_auth,
    header_auth,
    query_auth,
    query_auth_from_connection,
)
from sopbench.integrations._http_connection import (
    HttpConnection,
    http_factory,
    service_from_connection,
)
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
)
from sopbench.integrations._http_logs import watch as mask_logs
from sopbench.integrations._http_retry import IDEMPOTENT_METHODS as IDEMPOTENT_METHODS
from sopbench.integrations._http_retry import NO_RETRY as NO_RETRY
from sopbench.integrations._http_retry import RetryPolicy, header_retry_after, parse_retry_after
from sopbench.integrations._http_service import REQUEST_ID_HEADERS as REQUEST_ID_HEADERS
from sopbench.integrations._http_service import ErrorParser as ErrorParser
from sopbench.integrations._http_service import HttpService
from sopbench.integrations._http_service import RetryAfterReader as RetryAfterReader
from sopbench.integrations._http_service import logger as logger

__all__ = [
    "Auth",
    "AuthFailed",
    "HttpConnection",
    "HttpService",
    "HttpStatusError",
    "InvalidRequest",
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
    "header_retry_after",
    "http_factory",
    "mask_logs",
    "parse_retry_after",
    "query_auth",
    "query_auth_from_connection",
    "service_from_connection",
]
