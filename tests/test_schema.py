"""The published JSON Schema: valid Draft 2020-12, and it agrees with the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sopbench.library import sop_files
from sopbench.model.registry import step_param_models
from sopbench.schema import SCHEMA_KINDS, schema_for, write_schemas

REFERENCE = Path(__file__).resolve().parents[1] / "sops"
BASE = Path(__file__).parent / "fixtures" / "workspace_base" / "sops"
REFERENCE_SOPS = sop_files(REFERENCE)


def as_json(path: Path) -> Any:
    """A YAML file as an editor's schema checker sees it: JSON types only."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema_for(kind))


def errors(kind: str, data: Any) -> list[str]:
    return [e.message for e in validator(kind).iter_errors(data)]


@pytest.mark.parametrize("kind", sorted(SCHEMA_KINDS))
def test_every_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = schema_for(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # plain JSON all the way down


def test_reference_workspace_has_sops() -> None:
    assert len(REFERENCE_SOPS) >= 2


@pytest.mark.parametrize("path", REFERENCE_SOPS, ids=[p.stem for p in REFERENCE_SOPS])
def test_reference_sops_validate_against_the_schema(path: Path) -> None:
    assert errors("sop", as_json(path)) == []


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("entities", REFERENCE / "entities.yaml"),
        ("people", REFERENCE / "people.yaml"),
        ("entities", BASE / "entities.yaml"),
        ("people", BASE / "people.yaml"),
    ],
)
def test_reference_workspace_files_validate(kind: str, path: Path) -> None:
    assert errors(kind, as_json(path)) == []


def minimal_sop(**changes: Any) -> dict[str, Any]:
    sop: dict[str, Any] = {
        "sop_id": "demo",
        "entity": "shop",
        "name": "Demo",
        "steps": [{"id": "tell", "type": "notification", "with": {"message": "hi"}}],
    }
    sop.update(changes)
    return sop


def test_minimal_sop_validates() -> None:
    assert errors("sop", minimal_sop()) == []


def test_unknown_step_type_fails() -> None:
    sop = minimal_sop(steps=[{"id": "x", "type": "aproval", "with": {"title": "t"}}])
    assert errors("sop", sop)


def test_unknown_top_level_field_fails() -> None:
    found = errors("sop", minimal_sop(descripton="typo"))
    assert any("descripton" in message for message in found)


def test_unknown_field_in_with_fails() -> None:
    sop = minimal_sop(steps=[{"id": "x", "type": "notification", "with": {"mesage": "hi"}}])
    assert errors("sop", sop)


def test_missing_required_fields_fail() -> None:
    sop = minimal_sop()
    del sop["name"]
    assert any("'name' is a required property" in m for m in errors("sop", sop))
    no_title = minimal_sop(steps=[{"id": "x", "type": "approval", "with": {"approvers": ["a"]}}])
    assert errors("sop", no_title)


def test_bad_step_id_fails() -> None:
    sop = minimal_sop(steps=[{"id": "Bad-Id", "type": "notification", "with": {"message": "m"}}])
    assert errors("sop", sop)


def test_templates_are_accepted_where_values_are_typed() -> None:
    step = {
        "id": "ask",
        "type": "approval",
        "with": {"title": "Go?", "approvers": "{{ inputs.roles }}", "required": "{{ 1 + 1 }}"},
    }
    assert errors("sop", minimal_sop(steps=[step])) == []
    not_a_template = {**step, "with": {**step["with"], "required": "two"}}
    assert errors("sop", minimal_sop(steps=[not_a_template]))


def test_nested_steps_are_checked_as_steps() -> None:
    loop = {
        "id": "each",
        "type": "loop",
        "with": {
            "over": [1, 2],
            "steps": [{"id": "inner", "type": "notification", "with": {"message": "m"}}],
        },
    }
    assert errors("sop", minimal_sop(steps=[loop])) == []
    loop["with"]["steps"][0]["type"] = "nonsense"  # type: ignore[index]
    assert errors("sop", minimal_sop(steps=[loop]))
    branch = {
        "id": "branch",
        "type": "condition",
        "with": {"if": True, "then": [{"id": "bad", "type": "manual", "with": {"x": 1}}]},
    }
    assert errors("sop", minimal_sop(steps=[branch]))


def test_every_step_type_has_a_variant() -> None:
    schema = schema_for("sop")
    variants = schema["$defs"]["Step"]["anyOf"]
    assert {v["properties"]["type"]["const"] for v in variants} == set(step_param_models())
    for variant in variants:
        assert variant["description"], variant["title"]
        assert {"id", "type"} <= set(variant["required"])


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "schemas")
    assert sorted(p.name for p in written) == sorted(f"{k}.schema.json" for k in SCHEMA_KINDS)
    for path in written:
        kind = path.name.split(".")[0]
        assert json.loads(path.read_text(encoding="utf-8")) == schema_for(kind)
    # writing again overwrites in place
    assert write_schemas(tmp_path / "schemas") == written
