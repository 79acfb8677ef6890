"""Reference docs generated from the models and the workspace, so they cannot drift.

``python -m sopbench.docgen`` rewrites ``docs/steps.md``; ``python -m
sopbench.docgen readme [README.md]`` rewrites the table of reference SOPs
between the ``<!-- sop-table:start -->`` and ``<!-- sop-table:end -->``
markers of the README, from the workspace next to it. Tests check both
committed files equal what the code produces.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sopbench.errors import ConfigError
from sopbench.library import Workspace, load_workspace
from sopbench.model.registry import BUILTIN_STEP_TYPES
from sopbench.model.sop import RetryPolicy, SopFile, StepSpec

__all__ = ["README_END", "README_START", "sop_table_markdown", "steps_markdown", "update_readme"]

README_START = "<!-- sop-table:start -->"
README_END = "<!-- sop-table:end -->"


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
        "Generated from the table of step types (`sopbench/model/registry.py`) and their",
        "models (`sopbench/model/steps.py`) by `python -m sopbench.docgen`; do not edit.",
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
    for kind in BUILTIN_STEP_TYPES:
        name, model = kind.name, kind.params
        doc = (model.__doc__ or "").strip()
        out += [f"## `{name}`", "", doc, ""]
        out += _fields_table(model)
        result = ", ".join(f"`{f}`" for f in model.result_fields)
        out += ["", f"Result: {result}.", ""]
    out += _PLUGINS
    return "\n".join(out)


_PLUGINS = [
    "## Third-party step types",
    "",
    "A package adds step types through the `sopbench.steps` entry-point group; each",
    "entry point names a handler class (or instance) whose `Params` is a `StepParams`",
    "model (its docstring and `result_fields` document the type):",
    "",
    "```toml",
    '[project.entry-points."sopbench.steps"]',
    'stock_check = "acme_sopbench.steps:StockCheck"',
    "```",
    "",
    "Entry points are read on first use, never at import. Validation, `sopbench schema`",
    "and the engine read the same table, so an installed type is known to all three.",
    "A name that is already taken, by a built-in type or by another package, is refused",
    "with one error naming both, wherever the table is consulted.",
    "",
]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _first_sentence(text: str | None) -> str:
    words = " ".join((text or "").split())
    for end in (". ", ": "):
        if end in words:
            return words[: words.index(end) + 1].rstrip(":") + ("" if end == ". " else ".")
    return words


def _triggers(sop: SopFile) -> str:
    parts = []
    for trigger in sop.triggers:
        schedule = getattr(trigger, "schedule", None)
        event = getattr(trigger, "event", None)
        if schedule is not None:
            parts.append(f"cron `{schedule.cron}` {schedule.timezone}")
        elif event is not None:
            parts.append(f"event `{event}`")
        else:
            parts.append("manual")
    return ", ".join(parts) or "manual"


def sop_table_markdown(workspace: Workspace) -> str:
    """The README table of the workspace's SOPs: entity, trigger, purpose, step types."""
    order = list(workspace.entities.entities) if workspace.entities else []

    def rank(sop: SopFile) -> tuple[int, str]:
        return (order.index(sop.entity) if sop.entity in order else len(order), sop.sop_id)

    sops = sorted(workspace.sops.values(), key=rank)
    lines = [
        "| SOP | Entity | Trigger | What it does | Step types |",
        "|---|---|---|---|---|",
    ]
    used: set[str] = set()
    for sop in sops:
        types = sorted(sop.step_types())
        used.update(types)
        lines.append(
            f"| **{_cell(sop.name)}**<br>`{sop.sop_id}` | {sop.entity} | {_cell(_triggers(sop))} "
            f"| {_cell(_first_sentence(sop.description))} | {', '.join(types)} |"
        )
    lines += [
        "",
        f"{len(sops)} SOPs, {len(used)} of the {len(BUILTIN_STEP_TYPES)} step types. "
        "Generated by `python -m sopbench.docgen readme`; do not edit by hand.",
    ]
    return "\n".join(lines)


def update_readme(text: str, table: str) -> str:
    """``text`` with the block between the sop-table markers replaced by ``table``."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ConfigError(
            f"the README has no {README_START} ... {README_END} block",
            hint="add the two markers where the SOP table belongs",
        )
    head = text[: start + len(README_START)]
    return f"{head}\n{table}\n{text[end:]}"


def readme_table(readme: Path) -> str:
    """The SOP table for the workspace next to ``readme`` (problems are refused)."""
    workspace = load_workspace(readme.resolve().parent)
    workspace.raise_if_invalid()
    return sop_table_markdown(workspace)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["readme"]:
        readme = Path(args[1]) if len(args) > 1 else Path("README.md")
        text = readme.read_text(encoding="utf-8")
        readme.write_text(update_readme(text, readme_table(readme)), encoding="utf-8")
        print(f"wrote the SOP table of {readme}")
        return 0
    target = Path(args[0]) if args else Path("docs/steps.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(steps_markdown(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
