"""Zoho CRM records: write results, search criteria and batch rules.

What a write answers (one :class:`RecordResult` per submitted record, in
order, a refused record carrying its :class:`ZohoError` instead of
raising), how search criteria are written (:func:`criteria`, with Zoho's
backslash escapes) and the limits of a batch live here, apart from the
transport in :class:`~sopbench.integrations.zoho.ZohoCRM`, so they can be
read and tested on their own. Import the names from
:mod:`sopbench.integrations.zoho`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from sopbench.errors import IntegrationError
from sopbench.integrations._zoho_errors import ZohoError, record_error
from sopbench.integrations.http import HttpService

__all__ = [
    "NO_UPSERT_MODULES",
    "RecordResult",
    "check_batch",
    "criteria",
    "equals",
    "escape_value",
    "record_results",
    "same",
    "single",
]

NO_UPSERT_MODULES = frozenset({"Tasks", "Calls", "Events", "Meetings"})
"""Modules the upsert API does not support (per Zoho's upsert page)."""


@dataclass(frozen=True)
class RecordResult:
    """The outcome for one record of a write."""

    index: int
    id: str | None
    code: str
    message: str
    action: str | None = None
    """``insert`` or ``update`` (upsert), else ``insert`` for inserts, ``update`` for updates."""
    duplicate_field: str | None = None
    error: ZohoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def escape_value(value: Any) -> str:
    """A criteria value with ``\\``, ``(``, ``)`` and ``,`` backslash-escaped."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    for ch in ("\\", "(", ")", ","):
        text = text.replace(ch, "\\" + ch)
    return text


def criteria(*conditions: tuple[str, str, Any], join: str = "and") -> str:
    """``((f:op:v) and (f:op:v))`` from ``(field, operator, value)`` triples (≤ 10).

    A list value (for ``in``/``between``) is joined with commas.
    """
    if not conditions:
        raise ValueError("criteria need at least one condition")
    if len(conditions) > 10:
        raise ValueError("Zoho search accepts at most 10 criteria")
    parts = []
    for field_name, op, value in conditions:
        if isinstance(value, list | tuple):
            text = ",".join(escape_value(v) for v in value)
        else:
            text = escape_value(value)
        parts.append(f"({field_name}:{op}:{text})")
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {join} ".join(parts) + ")"


# -- write results ------------------------------------------------------------------------------


def record_results(
    response: httpx.Response, api: HttpService, default_action: str | None, auth_hint: str
) -> list[RecordResult]:
    """One :class:`RecordResult` per record of a write's answer (a 400 listing results too)."""
    if response.status_code == 204:
        raise api.malformed(response, "a write answered with no content")
    if response.status_code >= 300:
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, list):
            raise api.error_for(response)
    else:
        data = api.json(response, dict).get("data")
    if not isinstance(data, list):
        raise api.malformed(response, "expected a `data` list of record results")
    results: list[RecordResult] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise api.malformed(response, f"record result {index} is not an object")
        details = item.get("details") if isinstance(item.get("details"), dict) else {}
        assert isinstance(details, dict)
        if item.get("status") == "success":
            record_id = details.get("id")
            if not record_id:
                raise api.malformed(response, f"record result {index} has no id")
            results.append(
                RecordResult(
                    index=index,
                    id=str(record_id),
                    code=str(item.get("code") or "SUCCESS"),
                    message=str(item.get("message") or ""),
                    action=item.get("action") or default_action,
                    duplicate_field=item.get("duplicate_field"),
                )
            )
        else:
            error = record_error(item, index, response, api, auth_hint)
            results.append(
                RecordResult(
                    index=index,
                    id=error.record_id,
                    code=error.code,
                    message=str(item.get("message") or ""),
                    error=error,
                )
            )
    return results


# -- batches and matching -----------------------------------------------------------------------


def check_batch(records: Sequence[Mapping[str, Any]]) -> None:
    """Refuse an empty batch or one over Zoho's 100 records, before sending it."""
    if not records:
        raise ValueError("no records to write")
    if len(records) > 100:
        raise ValueError("Zoho CRM accepts at most 100 records per call")


def single(results: list[RecordResult]) -> RecordResult:
    """The one result of a one-record write; raises its error when it was refused."""
    if len(results) != 1:
        raise IntegrationError(
            f"zoho: expected one record result, got {len(results)}", service="zoho"
        )
    result = results[0]
    if result.error is not None:
        raise result.error
    return result


def equals(fields: Mapping[str, Any]) -> str:
    """Criteria matching every ``{field: value}`` with ``equals``."""
    return criteria(*((name, "equals", value) for name, value in fields.items()))


def same(actual: Any, wanted: Any) -> bool:
    """Whether a record's value is the wanted one (lookups by id, text case-blind)."""
    if isinstance(actual, dict) and not isinstance(wanted, dict):
        actual = actual.get("id")
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    return bool(actual == wanted) or str(actual) == str(wanted)
