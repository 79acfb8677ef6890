"""When the HTTP layer repeats a call, and how long it waits first.

:class:`RetryPolicy` is plain data (built from a connection's ``options``)
so that clients and the registry can tune it without touching
:class:`~sopbench.integrations.http.HttpService`. :func:`parse_retry_after`
is shared by clients whose services say how long to wait in their own way
(Discord's ``retry_after``, an LLM gateway's headers). Which calls are
*safe* to repeat is decided here too: :data:`IDEMPOTENT_METHODS`.
Import the names from :mod:`sopbench.integrations.http`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "IDEMPOTENT_METHODS",
    "NO_RETRY",
    "RetryPolicy",
    "header_retry_after",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


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


def header_retry_after(response: httpx.Response) -> float | None:
    """The default wait reader: the response's ``Retry-After`` header."""
    return parse_retry_after(response.headers.get("retry-after"))
