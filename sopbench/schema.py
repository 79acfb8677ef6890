"""JSON Schema of the YAML contract, derived from the pydantic models.

Editors use it to complete and check SOP files (VS Code YAML: add
``# yaml-language-server: $schema=<path>`` at the top of a file, or map
``sops/**/*.yaml`` to it in ``yaml.schemas``). Each step type becomes its own
variant (``type`` fixed, ``with`` from that type's model); fields that are not
text also accept a template string, as they do at load time.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sopbench.model.registry import step_param_models
from sopbench.model.sop import SopFile
from sopbench.model.steps import NESTED_STEPS_SCHEMA
from sopbench.model.workspace import ConnectionsFile, EntitiesFile, PeopleFile

__all__ = ["SCHEMA_KINDS", "schema_for", "write_schemas"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_TEMPLATE = {
    "type": "string",
    "pattern": r"\{\{|\{%",
    "description": "A Jinja2 template, rendered when the step runs.",
}
SCHEMA_KINDS: dict[str, type[BaseModel]] = {
    "sop": SopFile,
    "entities": EntitiesFile,
    "people": PeopleFile,
    "connections": ConnectionsFile,
}


def _accepts_string(schema: dict[str, Any], defs: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return _accepts_string(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs)
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        return True
    if not schema or schema == {"description": schema.get("description")}:
        return True  # Any
    return any(_accepts_string(option, defs) for option in schema.get("anyOf", []))


def _allow_templates(with_schema: dict[str, Any], defs: dict[str, Any]) -> None:
    for name, prop in list(with_schema.get("properties", {}).items()):
        if not _accepts_string(prop, defs):
            with_schema["properties"][name] = {
                "anyOf": [prop, {"$ref": "#/$defs/Template"}],
                **({"description": prop["description"]} if "description" in prop else {}),
            }


def _replace(node: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Replace, in place, every sub-schema equal to ``old`` by ``new``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if value == old:
                node[key] = dict(new)
            else:
                _replace(value, old, new)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if value == old:
                node[index] = dict(new)
            else:
                _replace(value, old, new)


def _sop_schema() -> dict[str, Any]:
    schema = SopFile.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    base = defs.pop("StepSpec")
    defs["Template"] = _TEMPLATE
    variants = []
    for name, model in step_param_models().items():
        with_schema = model.model_json_schema(by_alias=True)
        defs.update(with_schema.pop("$defs", {}))
        _allow_templates(with_schema, defs)
        key = f"with_{name}"
        defs[key] = with_schema
        variant = copy.deepcopy(base)
        variant["title"] = f"{name} step"
        variant["description"] = (model.__doc__ or "").strip().splitlines()[0]
        variant["properties"]["type"] = {"const": name}
        variant["properties"]["with"] = {"$ref": f"#/$defs/{key}"}
        variant["required"] = sorted({*variant.get("required", []), "type"})
        variants.append(variant)
    defs["Step"] = {"anyOf": variants, "title": "Step"}
    step_ref = {"$ref": "#/$defs/Step"}
    _replace(schema, {"$ref": "#/$defs/StepSpec"}, step_ref)
    _replace(schema, NESTED_STEPS_SCHEMA["items"], step_ref)
    return schema


def schema_for(kind: str = "sop") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``sop``, ``entities``, ``people`` or ``connections``."""
    schema = _sop_schema() if kind == "sop" else SCHEMA_KINDS[kind].model_json_schema(by_alias=True)
    return {"$schema": _DIALECT, **schema}


def write_schemas(folder: Path) -> list[Path]:
    """Write every schema as ``<kind>.schema.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in SCHEMA_KINDS:
        path = folder / f"{kind}.schema.json"
        path.write_text(
            json.dumps(schema_for(kind), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
