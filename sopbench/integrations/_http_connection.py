"""HTTP services from workspace connections, and the plain client of the HTTP steps.

:func:`service_from_connection` is how every integration client turns a
``sops/connections.yaml`` entry into an
:class:`~sopbench.integrations.http.HttpService`. :class:`HttpConnection`
is the ``http`` client kind of :mod:`sopbench.integrations.registry`: what
the ``api_call`` and ``webhook`` steps send through, to a named connection
or to a bare URL. It has no stack of its own: one ``HttpService`` per call
(closed after it), so the steps get the layer's auth kinds (bearer, header,
basic, query), retries, ``Retry-After``, redaction and error tree.

What is repeated within one call follows the layer's rule for *safe*
requests, which this client states explicitly rather than through the
``Idempotency-Key`` it sends: GET, HEAD, PUT, DELETE (and a connection that
was refused, nothing sent) are retried in the call; a POST or PATCH never
is, whatever key it carries — its retry, if any, is the step's own durable
``retry``. A ``Retry-After`` longer than the connection's ``max_wait`` (60 s
unless ``options.max_wait``) fails the call at once, carrying
``retry_after`` for that later retry. A step's ``timeout`` bounds the whole
call, waits included. Import the names from :mod:`sopbench.integrations.http`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations._http_auth import (
    Auth,
    auth_from_connection,
    query_auth_from_connection,
)
from sopbench.integrations._http_errors import MalformedResponse
from sopbench.integrations._http_retry import IDEMPOTENT_METHODS, RetryPolicy
from sopbench.integrations._http_service import HttpService

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.model.workspace import Connection

__all__ = ["HttpConnection", "http_factory", "service_from_connection"]

logger = logging.getLogger(__name__)

SERVICE = "http"
DEFAULT_TIMEOUT = 30.0


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
    (``auth:`` + ``secret:``: bearer, header, basic or query, unless ``auth``
    is given) and retry options
    (``options.retries``/``backoff``/``max_backoff``/``max_wait``).
    """
    url = base_url or connection.base_url
    if not url:
        raise ConnectionNotConfigured(
            f"the {service} connection has no base_url",
            hint="set base_url for it in sops/connections.yaml (or run `sopbench sandbox`)",
        )
    kwargs.setdefault("retry", RetryPolicy.from_options(connection.options))
    kwargs.setdefault("auth_params", query_auth_from_connection(connection, settings.secrets))
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


def _body(response: httpx.Response) -> Any:
    """The JSON body when the answer says it is JSON, else None (the result keeps no text)."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        logger.info("%s answered %s with a body that is not JSON", SERVICE, response.status_code)
        return None


class HttpConnection:
    """Requests to one ``type: http`` connection, or (``connection=None``) to full URLs."""

    def __init__(self, connection: Connection | None, settings: Settings) -> None:
        if connection is not None and not connection.base_url:
            raise ConnectionNotConfigured(
                "the connection has no base_url",
                hint="set base_url for it in sops/connections.yaml (or run `sopbench sandbox`)",
            )
        self.connection = connection
        self.settings = settings

    def __repr__(self) -> str:
        where = self.connection.base_url if self.connection else "(full URLs)"
        return f"<HttpConnection {self.settings.secrets.redact(str(where))}>"

    def url(self, target: str | None) -> str:
        """The full URL of ``target``: a path under the connection, or a URL already."""
        if self.connection is None:
            if not target:
                raise ConnectionNotConfigured("an HTTP step without a connection needs a url")
            return target
        base = str(self.connection.base_url).rstrip("/")
        return f"{base}/{(target or '').lstrip('/')}" if target else base

    def _service(self) -> HttpService:
        if self.connection is not None:
            return service_from_connection(SERVICE, self.connection, self.settings)
        return HttpService(SERVICE, "", secrets=self.settings.secrets, timeout=DEFAULT_TIMEOUT)

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        expect: Sequence[int] = (),
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one request; ``{"status", "json", "headers"}`` of its answer, secrets masked.

        ``url`` is a full URL (:meth:`url` makes one from a connection path,
        and it is what the step records before calling). ``expect`` lists
        the accepted statuses (default: any 2xx); ``timeout`` (seconds)
        bounds the whole call, retries included.
        """
        method = method.upper()
        sent = dict(headers or {})
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        accepted = frozenset(expect)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._service() as service:
            response = service.request(
                method,
                url,
                params=params or None,
                json=json,
                headers=sent,
                # Said here, not left to the key: a POST is never repeated in-call.
                idempotent=method in IDEMPOTENT_METHODS,
                timeout=None if timeout is None else min(service.timeout, timeout),
                # Statuses below 400 are all answers; `expect` then picks among them,
                # and a listed error status (404 ...) is an answer too.
                ok=(lambda status: status < 400 or status in accepted) if accepted else None,
                deadline=deadline,
            )
            if accepted and response.status_code not in accepted:
                raise MalformedResponse(
                    service.redact(
                        f"{SERVICE}: {method} {url} answered {response.status_code}, "
                        f"expected {' or '.join(map(str, sorted(accepted)))}"
                    ),
                    service=SERVICE,
                    status=response.status_code,
                    request_id=service.request_id(response),
                    hint="check the request, or list the status under `expect`",
                )
            result = {
                "status": response.status_code,
                "json": _body(response),
                "headers": dict(response.headers),
            }
            masked: dict[str, Any] = service.redact_data(result)
            return masked


def http_factory(connection: Connection | None, settings: Settings) -> HttpConnection:
    """The ``http`` client kind: ``(connection or None, settings) -> HttpConnection``."""
    return HttpConnection(connection, settings)
