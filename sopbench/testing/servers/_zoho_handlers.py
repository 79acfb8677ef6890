"""The Zoho double's record API: insert, upsert, update and search.

Each handler answers one kind of ``/crm/<version>/<Module>...`` request the
way Zoho documents it: a batch of at most 100 records, one result per
record in order (``201``/``200`` when all succeed, ``207`` when some do,
``400`` when none do), upserts matched on ``duplicate_check_fields`` (else
the module's unique fields), and search by criteria, email, phone or word
with 204 when nothing matches. These are
:class:`~sopbench.testing.servers.zoho.ZohoServer`'s handlers, split out
by concern; they work on its state under its lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sopbench.testing.servers._base import Recorded, Reply
from sopbench.testing.servers._zoho_criteria import parse_criteria
from sopbench.testing.servers._zoho_store import (
    ModuleSpec,
    batch_status,
    check_record,
    record_details,
    stamp,
    zoho_error,
)

if TYPE_CHECKING:
    from sopbench.testing.servers.zoho import ZohoServer

__all__ = ["insert_or_upsert", "read_payload", "search", "update"]


def read_payload(request: Recorded) -> list[Any] | Reply:
    """The ``data`` list of a write, or the 400 that refuses the body."""
    try:
        body = request.json
    except ValueError:
        return Reply(400, zoho_error("INVALID_DATA", "the body is not valid JSON"))
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return Reply(
            400,
            zoho_error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data"}),
        )
    data: list[Any] = body["data"]
    if not data:
        return Reply(
            400,
            zoho_error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data"}),
        )
    if len(data) > 100:
        return Reply(
            400,
            zoho_error("LIMIT_EXCEEDED", "the number of records exceeds 100", {"limit": 100}),
        )
    return data


def insert_or_upsert(
    server: ZohoServer, request: Recorded, module: str, spec: ModuleSpec, *, upsert: bool
) -> Reply:
    """``POST /{Module}`` (insert) or ``POST /{Module}/upsert``."""
    data = read_payload(request)
    if isinstance(data, Reply):
        return data
    body = request.json
    check_fields = list(body.get("duplicate_check_fields") or []) if upsert else []
    if upsert and not check_fields:
        check_fields = list(spec.unique)
    results: list[dict[str, Any]] = []
    with server._mu:
        for index, record in enumerate(data):
            problem = check_record(spec, index, record)
            if problem is not None:
                results.append(problem)
                continue
            match = None
            matched_on = None
            for name in check_fields:
                match = server._st.find_by(module, name, record.get(name))
                if match is not None:
                    matched_on = name
                    break
            if match is not None:
                match.update(record)
                match["Modified_Time"] = stamp()
                results.append(
                    {
                        "code": "SUCCESS",
                        "duplicate_field": matched_on,
                        "action": "update",
                        "details": record_details(match),
                        "message": "record updated",
                        "status": "success",
                    }
                )
                continue
            duplicate = server._st.unique_clash(module, spec, record)
            if duplicate is not None:
                name, existing = duplicate
                results.append(
                    zoho_error(
                        "DUPLICATE_DATA",
                        "duplicate data",
                        {
                            "api_name": name,
                            "json_path": f"$.data[{index}].{name}",
                            "duplicate_record": {
                                "id": existing["id"],
                                "module": {"api_name": module},
                            },
                        },
                    )
                )
                continue
            created = server._st.create(module, dict(record), server.user)
            result: dict[str, Any] = {
                "code": "SUCCESS",
                "details": record_details(created),
                "message": "record added",
                "status": "success",
            }
            if upsert:
                result.update({"duplicate_field": None, "action": "insert"})
            results.append(result)
    return Reply(batch_status(results, 201), {"data": results})


def update(server: ZohoServer, request: Recorded, module: str, record_id: str | None) -> Reply:
    """``PUT /{Module}/{id}``, or ``PUT /{Module}`` with an ``id`` in every record."""
    data = read_payload(request)
    if isinstance(data, Reply):
        return data
    spec = server.modules[module]
    results: list[dict[str, Any]] = []
    with server._mu:
        for index, record in enumerate(data):
            problem = check_record(spec, index, record, partial=True)
            if problem is not None:
                results.append(problem)
                continue
            target_id = record_id or str(record.get("id") or "")
            existing = server._st.records.get(module, {}).get(target_id)
            if existing is None:
                results.append(
                    zoho_error(
                        "INVALID_DATA",
                        "the id given seems to be invalid",
                        {"api_name": "id", "json_path": f"$.data[{index}].id"},
                    )
                )
                continue
            existing.update({k: v for k, v in record.items() if k != "id"})
            existing["Modified_Time"] = stamp()
            results.append(
                {
                    "code": "SUCCESS",
                    "details": record_details(existing),
                    "message": "record updated",
                    "status": "success",
                }
            )
    return Reply(batch_status(results, 200), {"data": results})


def search(server: ZohoServer, request: Recorded, module: str) -> Reply:
    """``GET /{Module}/search`` by ``criteria``, ``email``, ``phone`` or ``word``."""
    page = int(request.param("page") or 1)
    per_page = min(int(request.param("per_page") or 200), 200)
    with server._mu:
        records = list(server._st.records.get(module, {}).values())
    criteria = request.param("criteria")
    try:
        if criteria is not None:
            tree = parse_criteria(criteria)
            if tree.count() > 10:
                raise ValueError("more than 10 criteria")
            found = [r for r in records if tree.test(r, server.equals_contains)]
        elif request.param("email") is not None:
            value = (request.param("email") or "").lower()
            found = [
                r
                for r in records
                if any(
                    isinstance(v, str) and v.lower() == value
                    for k, v in r.items()
                    if "mail" in k.lower()
                )
            ]
        elif request.param("phone") is not None:
            value = request.param("phone") or ""
            found = [
                r
                for r in records
                if any(
                    isinstance(v, str) and v == value
                    for k, v in r.items()
                    if "phone" in k.lower() or "mobile" in k.lower()
                )
            ]
        elif request.param("word") is not None:
            value = (request.param("word") or "").lower()
            found = [r for r in records if any(value in str(v).lower() for v in r.values())]
        else:
            return Reply(
                400,
                zoho_error(
                    "REQUIRED_PARAM_MISSING",
                    "One of the expected parameter is missing",
                    {"param": "criteria"},
                ),
            )
    except ValueError as exc:
        return Reply(400, zoho_error("INVALID_QUERY", "invalid query formed", {"reason": str(exc)}))
    chunk = found[(page - 1) * per_page : page * per_page]
    if not chunk:
        return Reply(204)
    return Reply(
        200,
        {
            "data": [dict(r) for r in chunk],
            "info": {
                "per_page": per_page,
                "count": len(chunk),
                "page": page,
                "more_records": page * per_page < len(found),
            },
        },
    )
