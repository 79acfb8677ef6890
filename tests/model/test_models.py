"""Every contract model survives a round trip through its own JSON Schema.

For each pydantic model of :mod:`sopbench.model`: its JSON Schema is valid
Draft 2020-12, a realistic instance dumped to JSON validates against that
schema, and validating the dump again gives an equal model.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

import sopbench.model
from sopbench.model import (
    BUILTIN_STEP_TYPES,
    InputSpec,
    RetryPolicy,
    SopFile,
    StepSpec,
    format_duration,
    nested_step_fields,
    parse_duration,
    step_param_models,
)

STEP = {"id": "tell", "type": "notification", "with": {"message": "hi"}}

EXAMPLES: dict[str, dict[str, Any]] = {
    # -- SOP files --------------------------------------------------------------
    "InputSpec": {
        "type": "integer",
        "label": "Players",
        "default": 32,
        "minimum": 2,
        "maximum": 64,
    },
    "RetryPolicy": {"max_attempts": 4, "backoff": "5s", "max_backoff": "1m", "jitter": False},
    "Concurrency": {"limit": 2, "policy": "skip"},
    "Schedule": {
        "cron": "0 9 * * MON",
        "timezone": "America/Denver",
        "catchup": "all",
        "inputs": {"report_day": "2027-01-04"},
    },
    "ScheduleTrigger": {"schedule": {"cron": "@daily"}},
    "EventTrigger": {"event": "repair.completed"},
    "ManualTrigger": {"manual": True},
    "StepSpec": {
        "id": "sign_off",
        "type": "approval",
        "name": "Manager signs off",
        "description": "Publishing needs a manager.",
        "when": "{{ inputs.publish }}",
        "with": {"title": "Publish?", "approvers": ["manager"]},
        "retry": {"max_attempts": 2, "backoff": "10s", "max_backoff": "1h"},
        "timeout": "2d",
        "on_error": "continue",
    },
    "SopFile": {
        "sop_id": "cs_tournament_event",
        "entity": "computer_store",
        "name": "Gaming tournament",
        "description": "Promote, run and wrap up a LAN tournament.",
        "version": 3,
        "owner": "manager",
        "tags": ["events", "lan"],
        "inputs": {
            "event_name": {"type": "string", "required": True},
            "game": {"type": "enum", "values": ["Valorant", "Rocket League"]},
            "seats": {"type": "list", "items": "integer"},
        },
        "examples": [{"event_name": "Spring Cup", "game": "Valorant"}],
        "triggers": [
            {"schedule": {"cron": "0 9 * * MON", "timezone": "America/Denver"}},
            {"event": "tournament.requested"},
            {"manual": True},
        ],
        "concurrency": {"limit": 1, "policy": "queue"},
        "outputs": {"draft_ids": "{{ steps.draft.draft_ids }}"},
        "steps": [
            STEP,
            {
                "id": "each",
                "type": "loop",
                "with": {"over": [1, 2], "steps": [{"id": "inner", "type": "notification"}]},
            },
        ],
    },
    # -- step parameters ----------------------------------------------------------
    "ManualParams": {
        "instructions": "Check the room.",
        "assignee": "technician",
        "checklist": ["Room booked", "Rigs updated"],
        "due": "2d",
        "on_timeout": "continue",
        "form": {"rigs_ready": {"type": "integer", "required": True, "minimum": 0}},
    },
    "ApprovalParams": {
        "title": "Publish?",
        "description": "Both must agree.",
        "approvers": ["manager", "owner"],
        "required": 2,
        "timeout": "48h",
        "on_timeout": "fail",
        "form": {"note": {"type": "text"}},
        "subject": ["draft_1", "draft_2"],
    },
    "NotificationParams": {
        "channel": "staff",
        "message": "Doors open at 7.",
        "subject": "Tonight",
        "level": "warning",
    },
    "Rule": {"check": "{{ inputs.total > 0 }}", "message": "Total must be positive."},
    "ValidationParams": {"rules": [{"check": True, "message": "always"}]},
    "CreateTaskParams": {
        "connection": "zoho",
        "subject": "Call back",
        "due_date": "2027-03-14",
        "owner": "marco",
        "priority": "High",
        "related_module": "Deals",
        "related_id": "123",
        "fields": {"Description": "Ask about the GPU"},
    },
    "CreateRecordParams": {
        "module": "Deals",
        "fields": {"Deal_Name": "Help desk", "Amount": 2400000},
        "duplicate_check_fields": ["Deal_Name"],
    },
    "FieldUpdateParams": {"module": "Deals", "record_id": "42", "fields": {"Stage": "Won"}},
    "ApiCallParams": {
        "connection": "crm",
        "path": "/v1/items",
        "method": "POST",
        "headers": {"X-Trace": "1"},
        "params": {"limit": 10},
        "json": {"name": "GPU"},
        "expect": [200, 201],
    },
    "HttpTarget": {"url": "https://api.example.com/v1/ping", "headers": {"Accept": "*/*"}},
    "WebhookParams": {"url": "https://hooks.example.com/x", "body": {"ok": True}},
    "ConditionParams": {
        "if": "{{ vars.total > 10 }}",
        "then": [STEP],
        "else": [{"id": "other", "type": "notification", "with": {"message": "no"}}],
    },
    "LoopParams": {"over": "{{ inputs.items }}", "as": "row", "steps": [STEP], "max_items": 50},
    "DelayParams": {"duration": "1h30m"},
    "TransformParams": {"set": {"total": "{{ inputs.items | sum }}", "fixed": 3}},
    "ContentGenerateParams": {
        "template": "event_promo",
        "platforms": ["discord", "facebook"],
        "variables": {"event": "Spring Cup"},
        "account": "main",
        "publish_at": "2027-03-10T09:00:00",
        "review": "wait",
        "reviewers": ["manager", "marketing"],
    },
    "SocialPostParams": {"drafts": ["d1", "d2"], "via": "discord", "publish_at": "2027-03-10"},
    "MediaRequestParams": {
        "prompt_id": "cs_lan_hero",
        "overrides": {"colour": "orange"},
        "approvers": ["owner"],
        "wait": False,
        "connection": "canva",
    },
    "CrossEntityTriggerParams": {"sop": "other_sop", "inputs": {"note": "hi"}, "wait": True},
    "NotebookParams": {
        "path": "notebooks/weekly.ipynb",
        "parameters": {"week": 12},
        "kernel": "python3",
    },
    # -- workspace files -------------------------------------------------------------
    "Voice": {
        "tone": "friendly",
        "use": ["you", "simple"],
        "avoid": ["synergy"],
        "samples": ["You asked, we shipped."],
    },
    "PlatformSet": {"primary": ["linkedin"], "secondary": ["x", "email"]},
    "Channel": {"type": "email", "to": ["ops@example.com"], "secret": "SMTP_PASSWORD"},
    "CrmMapping": {"connection": "zoho", "modules": {"lead": "Leads", "deal": "Deals"}},
    "PostingSlot": {"day": "WED", "time": "17:00", "platform": "discord"},
    "Entity": {
        "name": "Summit PC & LAN",
        "kind": "business",
        "folder": "computer_store",
        "timezone": "America/Denver",
        "description": "Computer store.",
        "voice": {"tone": "energetic"},
        "hashtags": ["#PCBuild"],
        "platforms": {"primary": ["discord"]},
        "channels": {"staff": {"type": "discord", "secret": "DISCORD_WEBHOOK_STAFF"}},
        "crm": {"modules": {"repair": "Repairs"}},
        "posting_slots": [{"day": "FRI", "time": "15:00", "platform": "tiktok"}],
        "monthly_themes": {3: "Spring LAN season", 12: "Holiday gifting"},
        "brand_colors": ["#111827"],
    },
    "EntitiesFile": {
        "entities": {
            "shop": {"name": "Shop"},
            "cross_entity": {"name": "Group", "kind": "group", "members": ["shop"]},
        }
    },
    "Person": {
        "name": "Olivia Marsh",
        "email": "olivia@example.com",
        "roles": ["owner", "manager"],
        "entities": ["*"],
    },
    "PeopleFile": {
        "roles": {"manager": "Approves things."},
        "people": {"olivia": {"name": "Olivia", "roles": ["manager"]}},
    },
    "Connection": {
        "type": "http",
        "base_url": "https://api.example.com",
        "secret": "API_TOKEN",
        "auth": "header",
        "header": "X-Api-Key",
        "headers": {"Accept": "application/json"},
        "options": {"retries": 2},
        "timeout": 12.5,
    },
    "ConnectionsFile": {"connections": {"crm": {"type": "zoho", "secret": "ZOHO_TOKEN"}}},
}

ABSTRACT = {"Strict", "StepParams", "_HttpTarget"}


def contract_models() -> dict[str, type[BaseModel]]:
    """Every pydantic model class defined in the sopbench.model package."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(sopbench.model.__path__):
        module = importlib.import_module(f"sopbench.model.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and name not in ABSTRACT
            ):
                found[name] = value
    return found


MODELS = contract_models()


def test_every_model_has_an_example() -> None:
    assert set(MODELS) == set(EXAMPLES), "add a realistic example for each new model"
    assert {kind.params.__name__ for kind in BUILTIN_STEP_TYPES} <= set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_through_json_schema(name: str) -> None:
    model = MODELS[name]
    schema = model.model_json_schema(by_alias=True)
    jsonschema.Draft202012Validator.check_schema(schema)

    instance = model.model_validate(EXAMPLES[name], strict=False)
    dumped = instance.model_dump(mode="json", by_alias=True)
    json.dumps(dumped)  # JSON all the way down
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(dumped)]
    assert errors == []

    again = model.model_validate(dumped)
    assert again == instance
    assert again.model_dump(mode="json", by_alias=True) == dumped
    assert model.model_validate_json(json.dumps(dumped)) == instance


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unknown_fields_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MODELS[name].model_validate({**EXAMPLES[name], "surely_not_a_field": 1})
    assert any(e["type"] == "extra_forbidden" for e in caught.value.errors())


def test_models_are_frozen() -> None:
    spec = InputSpec(type="string")
    with pytest.raises(ValidationError):
        spec.type = "integer"  # type: ignore[misc]


def test_retry_policy_defaults_are_durations() -> None:
    policy = RetryPolicy()
    assert policy.backoff == timedelta(seconds=2)
    assert policy.max_backoff == timedelta(hours=1)
    assert policy.model_dump(mode="json") == {
        "max_attempts": 3,
        "backoff": "2s",
        "max_backoff": "1h",
        "jitter": True,
    }


# -- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("48h", timedelta(hours=48)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1d12h ", timedelta(days=1, hours=12)),
        (90, timedelta(seconds=90)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_parse_duration(text: Any, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["5 minutes", "1 day", "soon", "", "h", "1.5h", "30m1h", True, None]
)
def test_bad_durations(bad: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=8, hours=1), "1w1d1h"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


# -- step registry -----------------------------------------------------------------


def test_the_process_table_is_the_builtin_table_without_plugins() -> None:
    names = [kind.name for kind in BUILTIN_STEP_TYPES]
    assert len(set(names)) == len(names)
    assert step_param_models() == {kind.name: kind.params for kind in BUILTIN_STEP_TYPES}


def test_nested_step_fields() -> None:
    nested = {kind.name: nested_step_fields(kind.params) for kind in BUILTIN_STEP_TYPES}
    assert {name: fields for name, fields in nested.items() if fields} == {
        "condition": ["then", "else"],
        "loop": ["steps"],
    }


def test_every_step_type_documents_its_result() -> None:
    for kind in BUILTIN_STEP_TYPES:
        assert kind.params.result_fields, kind.name
        assert (kind.params.__doc__ or "").strip(), kind.name


def test_step_title() -> None:
    assert StepSpec.model_validate({"id": "sign_off", "type": "approval"}).title() == "sign off"
    named = StepSpec.model_validate({"id": "a", "type": "approval", "name": "Sign it"})
    assert named.title() == "Sign it"


def test_sop_walk_without_loader_has_no_children() -> None:
    sop = SopFile.model_validate(EXAMPLES["SopFile"])
    assert [path for path, _ in sop.walk()] == ["tell", "each"]
    assert sop.path == ""
