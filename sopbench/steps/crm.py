"""CRM writes: ``create_task``, ``create_record`` and ``field_update`` (Zoho CRM).

The client comes from the ``zoho`` integration; each write runs as one
outside effect, so the step's idempotency key keeps a crash from creating a
second record.
"""

from __future__ import annotations

from typing import Any

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.model.steps import CreateRecordParams, CreateTaskParams, FieldUpdateParams
from sopbench.steps._base import BaseHandler

__all__ = ["CreateRecord", "CreateTask", "FieldUpdate"]


def _module(call: StepCall, name: str) -> str:
    """A logical module name (``deal``) mapped through the entity's CRM mapping."""
    crm = call.services.entity_context(call.run.entity).get("crm") or {}
    modules: dict[str, str] = crm.get("modules", {})
    return modules.get(name, name)


def _simulated(call: StepCall, **extra: Any) -> Outcome:
    return Done({"record_id": f"dry-run-{call.idempotency_key[3:15]}", "simulated": True, **extra})


class CreateTask(BaseHandler):
    Params = CreateTaskParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(CreateTaskParams)
        client = call.services.client("zoho", params.connection)
        request = params.model_dump(mode="json", exclude={"connection"})
        result = call.effect(
            "crm", request, lambda key: client.create_task(request, idempotency_key=key)
        )
        return Done({"record_id": result["record_id"]})

    def simulate(self, call: StepCall) -> Outcome:
        return _simulated(call, subject=call.typed(CreateTaskParams).subject)


class CreateRecord(BaseHandler):
    Params = CreateRecordParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(CreateRecordParams)
        client = call.services.client("zoho", params.connection)
        module = _module(call, params.module)
        request = {
            "module": module,
            "fields": params.fields,
            "duplicate_check_fields": params.duplicate_check_fields,
        }
        result = call.effect(
            "crm",
            request,
            lambda key: client.upsert(
                module,
                params.fields,
                duplicate_check_fields=params.duplicate_check_fields,
                idempotency_key=key,
            ),
        )
        return Done({"record_id": result["record_id"], "action": result.get("action")})

    def simulate(self, call: StepCall) -> Outcome:
        return _simulated(call, module=_module(call, call.typed(CreateRecordParams).module))


class FieldUpdate(BaseHandler):
    Params = FieldUpdateParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(FieldUpdateParams)
        client = call.services.client("zoho", params.connection)
        module = _module(call, params.module)
        request = {"module": module, "record_id": params.record_id, "fields": params.fields}
        result = call.effect(
            "crm",
            request,
            lambda key: client.update(module, params.record_id, params.fields, idempotency_key=key),
        )
        return Done({"record_id": result.get("record_id", params.record_id)})

    def simulate(self, call: StepCall) -> Outcome:
        return Done({"record_id": call.typed(FieldUpdateParams).record_id, "simulated": True})
