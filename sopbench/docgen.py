"""Reference docs generated from the models, so they cannot drift.

``python -m sopbench.docgen`` rewrites ``docs/steps.md``; a test checks the
committed file equals what the models produce.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sopbench.model.sop import RetryPolicy, StepSpec
from sopbench.model.steps import BUILTIN_PARAMS

__all__ = ["steps_markdown"]


def _schema_type(prop: dict[str, Any]) -> str:
    """A short human type from a JSON Schema property: ``list of text``, ``fail or continue``."""
    if "enum" in prop:
        return " or ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        options = [_schema_type(o) for o in prop["anyOf"] if o.get("type") != "null"]
        return " or ".join(dict.fromkeys(options))
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("items", {})
        return "list of steps" if items.get("x-sopbench") else f"list of {_schema_type(items)}"
    if kind == "object":
        return "mapping"
    if kind == "string" and "duration" in prop.get("description", ""):
        return "duration"
    names = {
        "string": "text",
        "integer": "whole number",
        "number": "number",
        "boolean": "true/false",
    }
    return names.get(str(kind), "any")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if value is None:
        return ""
    if hasattr(value, "total_seconds"):
        from sopbench.model.common import format_duration

        return f"`{format_duration(value)}`"
    return f"`{value!r}`" if value not in ({}, []) else f"`{value}`"


def _fields_table(model: type[BaseModel]) -> list[str]:
    props = model.model_json_schema(by_alias=True).get("properties", {})
    lines = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind = _schema_type(props.get(key, {}))
        meaning = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{key}` | {kind.replace('|', 'or')} | {_default(info)} | {meaning} |")
    return lines


def steps_markdown() -> str:
    """The whole ``docs/steps.md``."""
    out = [
        "# Step types",
        "",
        "Generated from `sopbench/model/steps.py` by `python -m sopbench.docgen`; do not edit.",
        "",
        "Every step has the common fields below; `with` holds the type's own fields.",
        "Strings in `with` are Jinja2 templates; a value that is exactly one `{{ expr }}`",
        "keeps its native type. A step's result is readable later as `steps.<id>.<field>`.",
        "",
        "## Common fields",
        "",
        *_fields_table(StepSpec),
        "",
        "`retry`:",
        "",
        *_fields_table(RetryPolicy),
        "",
    ]
    for name, model in BUILTIN_PARAMS.items():
        doc = (model.__doc__ or "").strip()
        out += [f"## `{name}`", "", doc, ""]
        out += _fields_table(model)
        result = ", ".join(f"`{f}`" for f in model.result_fields)
        out += ["", f"Result: {result}.", ""]
    return "\n".join(out)


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/steps.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(steps_markdown(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
