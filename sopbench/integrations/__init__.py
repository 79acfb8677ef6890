"""Typed httpx clients for the outside services sopbench talks to.

Every client is built on :mod:`sopbench.integrations.http` (timeouts,
retries, ``Retry-After``, redaction, structured errors). Integrations know
neither the store nor the engine; :mod:`sopbench.integrations.registry`
turns workspace connections into clients for the step handlers.
"""

from __future__ import annotations

from sopbench.integrations.http import (
    AuthFailed,
    HttpService,
    HttpStatusError,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ResourceGone,
    RetryPolicy,
    ServerError,
    ServiceTimeout,
    TransportFailed,
)

__all__ = [
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
]
