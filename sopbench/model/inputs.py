"""Checking and converting input and form values against their :class:`InputSpec`.

Values arrive as YAML data (already typed) or as text from the command line
and forms (``--input max_players=16``); both go through :func:`coerce_value`
so a run never starts with a value its SOP did not declare.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sopbench.errors import InputError
from sopbench.model.common import InputSpec
from sopbench.suggest import did_you_mean

__all__ = ["coerce_inputs", "coerce_value"]

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _show(value: Any) -> str:
    """A value as an author wrote it: ``'abc'``, ``42``, ``true``, ``2027-03-14``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a mapping"
    return str(value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number, got true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise ValueError(f"expected a whole number, got {_show(value)}")


def _as_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    number: float | int | None = None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                pass
    if number is None or not math.isfinite(number):
        raise ValueError(f"expected a number, got {_show(value)}")
    return number


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {_show(value)}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("expected a date like 2027-03-14, got a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2027-03-14, got {_show(value)}")


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date and time like 2027-03-14T09:00, got {_show(value)}")


def _as_list(value: Any, spec: InputSpec) -> list[Any]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f'expected a JSON list like ["a", "b"], got {text!r}') from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_show(value)}")
    if spec.items is None:
        return value
    element = InputSpec(type=spec.items)
    return [_convert(item, element) for item in value]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise ValueError(f"expected text, got {_show(value)}")
    return str(value)


def _convert(value: Any, spec: InputSpec) -> Any:
    kind = spec.type
    if kind in ("string", "text"):
        return _as_text(value)
    if kind == "integer":
        return _as_int(value)
    if kind == "number":
        return _as_number(value)
    if kind == "boolean":
        return _as_bool(value)
    if kind == "date":
        return _as_date(value)
    if kind == "datetime":
        return _as_datetime(value)
    if kind == "list":
        return _as_list(value, spec)
    # enum: compare as text so `--input size=2` matches `values: [1, 2]`
    for allowed in spec.values or []:
        if isinstance(value, bool) != isinstance(allowed, bool):
            continue  # true is not 1
        if value == allowed or str(value) == str(allowed):
            return allowed
    choices = ", ".join(str(v) for v in spec.values or [])
    hint = did_you_mean(str(value), spec.values or []) if isinstance(value, str) else ""
    raise ValueError(f"expected one of {choices}, got {_show(value)}{hint}")


def _check_bounds(value: Any, spec: InputSpec) -> None:
    measure: float
    what: str
    if spec.type in ("integer", "number"):
        measure, what = float(value), "value"
    elif spec.type in ("string", "text", "list"):
        measure, what = float(len(value)), "length"
    else:
        return
    if spec.minimum is not None and measure < spec.minimum:
        raise ValueError(f"{what} {measure:g} is below the minimum {spec.minimum:g}")
    if spec.maximum is not None and measure > spec.maximum:
        raise ValueError(f"{what} {measure:g} is above the maximum {spec.maximum:g}")


def coerce_value(spec: InputSpec, value: Any, *, name: str) -> Any:
    """The value converted to the spec's type; :class:`InputError` if it does not fit."""
    try:
        converted = _convert(value, spec)
        _check_bounds(converted, spec)
    except (ValueError, TypeError) as exc:
        raise InputError(f"input '{name}': {exc}") from None
    return converted


def coerce_inputs(
    specs: Mapping[str, InputSpec], given: Mapping[str, Any], *, what: str = "input"
) -> dict[str, Any]:
    """All inputs of a run or form: unknown names refused, defaults applied, required checked."""
    problems = []
    for name in given:
        if name not in specs:
            hint = did_you_mean(str(name), specs)
            problems.append(f"unknown {what} '{name}'{hint}")
    result: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given and given[name] is not None and given[name] != "":
            try:
                result[name] = coerce_value(spec, given[name], name=name)
            except InputError as exc:
                problems.append(exc.message.replace("input '", f"{what} '", 1))
        elif spec.default is not None:
            try:
                result[name] = coerce_value(spec, spec.default, name=name)
            except InputError as exc:
                problems.append(f"default of {exc.message.replace('input', what, 1)}")
        elif spec.required:
            problems.append(f"missing required {what} '{name}'")
        else:
            result[name] = None
    if problems:
        raise InputError("; ".join(problems))
    return result
