"""Turning pydantic errors into ``path:line:col: message`` problems.

pydantic reports where a value failed as a ``loc`` tuple of field names,
list indices and (for unions) tags. :func:`problems_from_error` walks that
``loc`` through the parsed data to find the YAML node, so every message
points at the offending key (unknown fields, missing ones) or value (wrong
types and values) in the author's file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from sopbench.errors import Problem
from sopbench.expressions import is_template
from sopbench.model.common import IDENTIFIER
from sopbench.model.workspace import SECRET_NAME
from sopbench.suggest import did_you_mean
from sopbench.yamlsource import DataPath, YamlDocument

__all__ = [
    "describe_value",
    "field_names_at",
    "not_a_template",
    "problems_from_error",
    "validate_model",
]

_EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value pairs)",
    "model_type": "expected a mapping (key: value pairs)",
    "model_attributes_type": "expected a mapping (key: value pairs)",
    "date_type": "expected a date like 2027-03-14",
    "date_parsing": "expected a date like 2027-03-14",
    "datetime_type": "expected a date and time like 2027-03-14T09:00:00",
    "datetime_parsing": "expected a date and time like 2027-03-14T09:00:00",
}


EVENT_NAME = r"^[a-z][a-z0-9_.]*$"
CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}

_PATTERNS = {
    IDENTIFIER: "is not a valid id (lowercase letters, digits and _, starting with a letter)",
    SECRET_NAME: (
        "is not a secret name (capital letters, digits and _, starting with a letter, "
        "like DISCORD_WEBHOOK_SHOP); the value itself goes in the environment or .env"
    ),
    EVENT_NAME: (
        "is not a valid event name (lowercase letters, digits, _ and ., like repair.completed)"
    ),
    CLOCK_TIME: "is not a time like 09:30 (24-hour HH:MM)",
}


def describe_value(value: Any) -> str:
    """How a YAML value reads in a message: ``'abc'``, ``42``, ``a list``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return repr(short)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _data_path(data: Any, loc: tuple[int | str, ...]) -> DataPath:
    """Follow ``loc`` through ``data``; components not in the data (tags) are skipped."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
    return tuple(path)


def _label(path: DataPath) -> str:
    """``approvers[1]`` for ``(..., "approvers", 1)``: the last key and its indices."""
    label = ""
    for part in path:
        label = label + f"[{part}]" if isinstance(part, int) else str(part)
    return label


def field_names_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names (aliases) of the model found by walking ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            break
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``list[M]``, ``M | None``, ``dict[str, M]``..."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _prefixed(field: str, text: str) -> str:
    """``field: text``, without stutter when ``text`` already starts with the field."""
    if not field or text.startswith((f"{field} ", f"{field}:")):
        return text
    return f"{field}: {text}"


def _message(error: dict[str, Any], field: str, model: type[BaseModel]) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        choices = field_names_at(model, tuple(error["loc"][:-1]))
        return f"unknown field '{error['loc'][-1]}'{did_you_mean(str(error['loc'][-1]), choices)}"
    if kind == "missing":
        return f"missing required field '{error['loc'][-1]}'"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("True", "true").replace("False", "false")
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return _prefixed(field, f"expected {expected}, got {describe_value(value)}{hint}")
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        what = _PATTERNS.get(pattern, f"does not match the pattern {pattern}")
        if field.startswith("key "):
            return f"{field} {what}"
        return _prefixed(field, f"{describe_value(value)} {what}")
    if kind in ("value_error", "assertion_error"):
        return _prefixed(field, str(ctx.get("error", error["msg"])))
    if kind in _EXPECTED:
        return _prefixed(field, f"{_EXPECTED[kind]}, got {describe_value(value)}")
    if kind in ("too_short", "too_long") and "actual_length" in ctx:
        if kind == "too_short" and ctx.get("min_length") == 1:
            return _prefixed(field, "must not be empty")
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        bound = "at least" if kind == "too_short" else "at most"
        return _prefixed(field, f"needs {bound} {limit} item(s), has {ctx['actual_length']}")
    for bound, words in _BOUNDS.items():
        if bound in ctx and kind.startswith(("greater_than", "less_than")):
            limit = ctx[bound]
            shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
            return _prefixed(field, f"must be {words} {shown}, got {describe_value(value)}")
    return _prefixed(field, str(error["msg"]))


def _merge_alternatives(found: list[tuple[DataPath, str, Problem]]) -> list[Problem]:
    """One problem per value for unions: ``expected a whole number or text, got a list``."""
    merged: dict[object, tuple[Problem, list[str]]] = {}
    for index, (path, kind, problem) in enumerate(found):
        if kind not in _EXPECTED:
            merged[index] = (problem, [])
            continue
        key = (path, problem.message.rpartition(", got ")[2])
        wanted = _EXPECTED[kind].removeprefix("expected ").replace(" or ", "/")
        if key not in merged:
            merged[key] = (problem, [wanted])
            continue
        first, alternatives = merged[key]
        if wanted in alternatives:
            continue
        alternatives.append(wanted)
        field, _, _ = first.message.rpartition("expected ")
        message = f"{field}expected {' or '.join(alternatives)}, got {key[1]}"
        merged[key] = (Problem(first.path, first.line, first.column, message), alternatives)
    return [problem for problem, _ in merged.values()]


def problems_from_error(
    doc: YamlDocument,
    exc: ValidationError,
    model: type[BaseModel],
    *,
    base: DataPath = (),
    data: Any = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> list[Problem]:
    """One problem per pydantic error, placed at its YAML node in ``doc``."""
    found: list[tuple[DataPath, str, Problem]] = []
    root = doc.data if data is None else data
    for details in exc.errors(include_url=False):
        error = cast(dict[str, Any], details)
        if keep is not None and not keep(error):
            continue
        loc = tuple(error["loc"])
        path = _data_path(root, loc)
        full = (*base, *path)
        is_key = bool(loc) and loc[-1] == "[key]"
        at_key = is_key or error["type"] == "extra_forbidden"
        pos = doc.source.key(full) if at_key else doc.source.value(full)
        field = f"key {describe_value(path[-1])}" if is_key and path else _label(path)
        problem = Problem(doc.path, pos.line, pos.column, _message(error, field, model))
        found.append((full, error["type"], problem))
    return _merge_alternatives(found)


def not_a_template(error: dict[str, Any]) -> bool:
    """Keep errors whose input is not a template: templates are checked once rendered."""
    return not is_template(error.get("input"))


M = TypeVar("M", bound=BaseModel)


def validate_model(
    doc: YamlDocument,
    model: type[M],
    data: Any,
    *,
    base: DataPath = (),
    problems: list[Problem],
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> M | None:
    """``model.model_validate(data, strict=True)``, or None with the problems appended.

    Strict, because YAML values are already typed: ``limit: true`` or
    ``required: "2"`` are mistakes to report, not values to convert.

    ``keep`` filters errors (e.g. :func:`not_a_template` drops errors on
    template values, which are checked after rendering).
    """
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        found = problems_from_error(doc, exc, model, base=base, data=data, keep=keep)
        problems.extend(found)
        return None
