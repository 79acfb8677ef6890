"""HTTP steps: ``api_call`` (request/response) and ``webhook`` (outbound POST).

Both are outside effects: the call is recorded before it is made and its
response after, and every non-GET request carries an ``Idempotency-Key``
derived from run id + step path, the same on every retry and after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import httpx

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.errors import ConfigError, IntegrationError
from sopbench.integrations.http import header_retry_after
from sopbench.model.steps import ApiCallParams, HttpTarget, WebhookParams
from sopbench.model.workspace import Connection
from sopbench.steps._base import BaseHandler

__all__ = ["ApiCall", "Webhook"]

_DEFAULT_TIMEOUT = 30.0


def _target(call: StepCall, params: HttpTarget) -> tuple[str, dict[str, str], float]:
    """URL, headers (auth included) and timeout of the request."""
    headers = dict(params.headers)
    timeout = _DEFAULT_TIMEOUT
    if params.url is not None:
        url = params.url
    else:
        known = call.services.workspace.connections
        conn: Connection | None = known.connections.get(params.connection or "") if known else None
        sandbox = call.services.settings.sandbox
        sandboxed = sandbox.connection(params.connection or "") if sandbox else None
        if sandboxed:  # a running `sopbench sandbox` points this name at its echo server
            conn = Connection.model_validate(dict(sandboxed))
        if conn is None or not conn.base_url:
            raise ConfigError(
                f"connection '{params.connection}' is not configured with a base_url",
                hint="add it to sops/connections.yaml",
            )
        url = conn.base_url.rstrip("/") + "/" + (params.path or "").lstrip("/")
        headers = {**conn.headers, **headers}
        timeout = conn.timeout
        if conn.secret and conn.auth != "none":
            secret = call.services.settings.secrets.get(conn.secret)
            if conn.auth == "bearer":
                headers["Authorization"] = f"Bearer {secret}"
            elif conn.auth == "header":
                headers[conn.header or "X-API-Key"] = secret
    if call.timeout is not None:
        timeout = min(timeout, call.timeout.total_seconds())
    return url, headers, timeout


@cache
def _client() -> httpx.Client:
    """One connection pool for every HTTP step of the process.

    Building a client (and its TLS context) costs ~20 ms, more than a local
    call itself; httpx clients are thread-safe, and each request passes its
    own timeout.
    """
    return httpx.Client(follow_redirects=False)


def _request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    try:
        return _client().request(
            method,
            url,
            timeout=timeout,
            headers=dict(headers),
            params=params,
            json=json_body if json_body is not None else None,
        )
    except httpx.TimeoutException:
        raise IntegrationError(
            f"{method} {url} timed out after {timeout:g}s", service="http"
        ) from None
    except httpx.HTTPError as exc:
        raise IntegrationError(f"{method} {url} failed: {exc}", service="http") from None


def _body(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return None
    return None


class ApiCall(BaseHandler):
    Params = ApiCallParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(ApiCallParams)
        url, headers, timeout = _target(call, params)
        request = {
            "method": params.method,
            "url": url,
            "params": params.params,
            "json": params.json_body,
        }

        def perform(key: str) -> dict[str, Any]:
            sent = dict(headers)
            if params.method != "GET":
                sent.setdefault("Idempotency-Key", key)
            response = _request(
                params.method,
                url,
                headers=sent,
                timeout=timeout,
                params=params.params or None,
                json_body=params.json_body,
            )
            ok = response.status_code in params.expect if params.expect else response.is_success
            if not ok:
                raise IntegrationError(
                    f"{params.method} {url} answered {response.status_code}",
                    service="http",
                    status=response.status_code,
                    request_id=response.headers.get("x-request-id"),
                    retry_after=header_retry_after(response),
                )
            return {
                "status": response.status_code,
                "json": _body(response),
                "headers": dict(response.headers),
            }

        return Done(call.effect("http", request, perform))

    def simulate(self, call: StepCall) -> Outcome:
        params = call.typed(ApiCallParams)
        return Done(
            {
                "status": 200,
                "json": None,
                "headers": {},
                "simulated": True,
                "request": {"method": params.method, "url": params.url or params.connection},
            }
        )


class Webhook(BaseHandler):
    Params = WebhookParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(WebhookParams)
        url, headers, timeout = _target(call, params)

        def perform(key: str) -> dict[str, Any]:
            response = _request(
                "POST",
                url,
                headers={**headers, "Idempotency-Key": key},
                timeout=timeout,
                json_body=params.body,
            )
            if not response.is_success:
                raise IntegrationError(
                    f"webhook {url} answered {response.status_code}",
                    service="http",
                    status=response.status_code,
                    retry_after=header_retry_after(response),
                )
            return {"status": response.status_code}

        return Done(call.effect("webhook", {"url": url, "body": params.body}, perform))

    def simulate(self, call: StepCall) -> Outcome:
        return Done({"status": 200, "simulated": True})
