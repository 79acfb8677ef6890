"""Logging for the command line and long-running processes (workers, ticks, serve).

Every module logs through its own ``logging.getLogger(__name__)``; this module
only decides where the ``sopbench`` loggers write and how. Two formats:

* ``text``: ``2026-12-04 21:40:00 WARNING sopbench.engine.crashes: run ... crashed ...``
* ``json``: one JSON object a line (``ts``, ``level``, ``logger``, ``message``,
  and ``run_id`` / ``step_id`` / ``sop_id`` / ``path`` when the record or the
  error it carries names them, plus ``traceback``), for workers whose logs go
  to a collector.

Secret values are masked in every line, the traceback included (see
:class:`RedactingFilter`). The level and format come from ``--log-level`` /
``--log-format`` or the ``SOPBENCH_LOG`` / ``SOPBENCH_LOG_FORMAT`` settings.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["FIELDS", "JsonFormatter", "RedactingFilter", "configure_logging"]

FIELDS = ("run_id", "step_id", "sop_id", "path", "line")
"""Structured fields copied from a record's ``extra`` or from the error it logs."""

_HANDLER_NAME = "sopbench-cli"


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (click's test runner swaps it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = {}
    error = record.exc_info[1] if record.exc_info else None
    for name in FIELDS:
        value = getattr(record, name, None)
        if value is None and error is not None:
            value = getattr(error, name, None)
        if value is not None:
            found[name] = value
    return found


class RedactingFilter(logging.Filter):
    """Masks secret values in the message, its arguments and the traceback."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._redact(text)
            # the formatter uses exc_text; the live exception object stays for fields
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["error"] = type(record.exc_info[1]).__name__
            entry["traceback"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields and not any(str(v) in record.getMessage() for v in fields.values()):
            text += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return text


def configure_logging(
    level: str = "warning",
    fmt: str = "text",
    *,
    redact: Callable[[str], str] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the ``sopbench`` loggers to ``stream`` (stderr) at ``level``; idempotent."""
    logger = logging.getLogger("sopbench")
    for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(old)
    handler: logging.StreamHandler[Any] = logging.StreamHandler(stream or _CurrentStderr())
    handler.set_name(_HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    if redact is not None:
        handler.addFilter(RedactingFilter(redact))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    return handler
