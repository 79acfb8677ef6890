"""Secret values masked in httpx/httpcore log records.

httpx logs every request's full URL at INFO, and some services put a
token in the URL (Discord webhooks) or in a query string (Zoho's OAuth
refresh). Every live :class:`~sopbench.integrations.http.HttpService`
registers itself with :func:`watch`; one logging filter, installed once
per process on the httpx/httpcore loggers, asks each of them to redact
the record's text. Services are held weakly, so a closed and forgotten
service stops being asked.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Protocol

__all__ = ["Redactor", "watch"]


class Redactor(Protocol):
    """Anything that can mask its secret values in a text (an HttpService)."""

    def redact(self, text: str) -> str: ...


_LIVE: weakref.WeakSet[Redactor] = weakref.WeakSet()
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


def watch(service: Redactor) -> None:
    """Mask ``service``'s secrets in httpx logs from now on (installs the filter once)."""
    global _FILTERED
    _LIVE.add(service)
    if _FILTERED:
        return
    with _FILTER_LOCK:
        if not _FILTERED:
            for name in _HTTP_LOGGERS:
                logging.getLogger(name).addFilter(_RedactLogs())
            _FILTERED = True
