"""HTTP steps: ``api_call`` (request/response) and ``webhook`` (outbound POST).

Both send through the ``http`` client of the integrations
(:class:`~sopbench.integrations.http.HttpConnection`), so they have the one
HTTP layer's auth kinds, retries, ``Retry-After`` handling, redaction and
errors; this module only maps a step's ``with`` onto a call.

Both are outside effects: the call is recorded before it is made and its
response after, and every request that may change something (all but GET
and HEAD; every webhook) carries an ``Idempotency-Key`` derived from run id
+ step path, the same on every retry and after a crash. A POST is never
repeated within one call; the step's ``retry`` repeats it, durably.
"""

from __future__ import annotations

from typing import Any

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.integrations.http import HttpConnection
from sopbench.model.steps import ApiCallParams, HttpTarget, WebhookParams
from sopbench.steps._base import BaseHandler

__all__ = ["ApiCall", "Webhook"]

_UNKEYED = frozenset({"GET", "HEAD"})  # they change nothing: no key to send


def _client(call: StepCall, params: HttpTarget) -> tuple[HttpConnection, str]:
    """The client for the step's connection (or bare URL), and the full URL called."""
    client: HttpConnection = call.services.client("http", params.connection)
    return client, client.url(params.path if params.connection else params.url)


def _seconds(call: StepCall) -> float | None:
    return None if call.timeout is None else call.timeout.total_seconds()


class ApiCall(BaseHandler):
    Params = ApiCallParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(ApiCallParams)
        client, url = _client(call, params)
        request = {
            "method": params.method,
            "url": url,
            "params": params.params,
            "json": params.json_body,
        }

        def perform(key: str) -> dict[str, Any]:
            return client.call(
                params.method,
                url,
                params=params.params,
                headers=params.headers,
                json=params.json_body,
                idempotency_key=None if params.method in _UNKEYED else key,
                expect=params.expect,
                timeout=_seconds(call),
            )

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
        client, url = _client(call, params)

        def perform(key: str) -> dict[str, Any]:
            answer = client.call(
                "POST",
                url,
                headers=params.headers,
                json=params.body,
                idempotency_key=key,
                timeout=_seconds(call),
            )
            return {"status": answer["status"]}

        return Done(call.effect("webhook", {"url": url, "body": params.body}, perform))

    def simulate(self, call: StepCall) -> Outcome:
        return Done({"status": 200, "simulated": True})
