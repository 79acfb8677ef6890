"""The Zoho double's state: module rules, stored records and issued tokens.

Everything the double remembers lives in one :class:`ZohoState`, guarded
by the server's lock: records per module, the access tokens issued and
when (for the mint limit), and the answers kept per ``Idempotency-Key``.
The record-level rules Zoho applies (mandatory fields, unique fields
matched case-blind, the 255-character text limit) and the shapes of its
per-record results are here too, so the request handlers only sequence
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DEFAULT_MODULES",
    "LONG_TEXT",
    "MAX_TEXT",
    "IssuedToken",
    "ModuleSpec",
    "ZohoState",
    "batch_status",
    "check_record",
    "record_details",
    "stamp",
    "zoho_error",
]


@dataclass(frozen=True)
class ModuleSpec:
    """What a module requires: mandatory fields, unique fields, upsert support."""

    mandatory: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    upsert: bool = True


DEFAULT_MODULES: dict[str, ModuleSpec] = {
    "Leads": ModuleSpec(("Last_Name",), ("Email",)),
    "Contacts": ModuleSpec(("Last_Name",), ("Email",)),
    "Accounts": ModuleSpec(("Account_Name",), ("Account_Name",)),
    "Deals": ModuleSpec(("Deal_Name", "Stage")),
    "Tasks": ModuleSpec(("Subject",), upsert=False),
    "Calls": ModuleSpec(("Subject",), upsert=False),
    "Events": ModuleSpec(("Event_Title",), upsert=False),
    "Repairs": ModuleSpec(("Name",)),
}
LONG_TEXT = {"Description"}
MAX_TEXT = 255


def zoho_error(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Zoho's error object, for a whole request or for one record of a batch."""
    return {"code": code, "details": dict(details or {}), "message": message, "status": "error"}


def stamp() -> str:
    """Now, the way Zoho writes ``Created_Time``/``Modified_Time``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class IssuedToken:
    expires: float
    """``time.monotonic()`` when the access token stops being accepted."""
    refresh_token: str


@dataclass
class ZohoState:
    """Everything the double remembers; guarded by the server's lock."""

    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    minted: dict[str, list[float]] = field(default_factory=dict)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    next_id: int = 5725767000000417001

    def find_by(self, module: str, name: str, value: Any) -> dict[str, Any] | None:
        """The record of ``module`` whose ``name`` is ``value`` (text: case-blind)."""
        if value in (None, ""):
            return None
        for record in self.records.get(module, {}).values():
            current = record.get(name)
            if isinstance(current, str) and isinstance(value, str):
                if current.lower() == value.lower():
                    return record
            elif current == value:
                return record
        return None

    def create(
        self, module: str, fields: dict[str, Any], user: Mapping[str, str]
    ) -> dict[str, Any]:
        """Store a new record with an id and Zoho's system fields; return it."""
        self.next_id += 1
        now = stamp()
        record = {
            **fields,
            "id": str(self.next_id),
            "Created_Time": now,
            "Modified_Time": now,
            "Created_By": dict(user),
            "Modified_By": dict(user),
        }
        self.records.setdefault(module, {})[record["id"]] = record
        return record

    def unique_clash(
        self, module: str, spec: ModuleSpec, record: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """The unique field of ``record`` that an existing record already holds, and it."""
        for name in spec.unique:
            existing = self.find_by(module, name, record.get(name))
            if existing is not None:
                return name, existing
        return None


def check_record(
    spec: ModuleSpec, index: int, record: Any, *, partial: bool = False
) -> dict[str, Any] | None:
    """The error object for record ``index`` of a batch, or None when it is valid.

    ``partial`` (updates) skips the mandatory fields.
    """
    if not isinstance(record, dict):
        return zoho_error(
            "INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]", "api_name": ""}
        )
    if not partial:
        for name in spec.mandatory:
            if record.get(name) in (None, ""):
                return zoho_error(
                    "MANDATORY_NOT_FOUND",
                    "required field not found",
                    {"api_name": name, "json_path": f"$.data[{index}].{name}"},
                )
    for name, value in record.items():
        if isinstance(value, str) and name not in LONG_TEXT and len(value) > MAX_TEXT:
            return zoho_error(
                "INVALID_DATA",
                "invalid data",
                {
                    "api_name": name,
                    "json_path": f"$.data[{index}].{name}",
                    "maximum_length": MAX_TEXT,
                },
            )
    return None


def record_details(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``details`` of a successful record result."""
    return {
        key: record[key]
        for key in ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")
    }


def batch_status(results: list[dict[str, Any]], success: int) -> int:
    """A batch's status: ``success`` if all records were, 400 if none, else 207."""
    ok = sum(1 for r in results if r.get("status") == "success")
    if ok == len(results):
        return success
    return 400 if ok == 0 else 207
