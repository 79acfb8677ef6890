"""Typed form fields (a SOP's inputs, a task's form) as ipywidgets.

Each :class:`~sopbench.model.common.InputSpec` becomes the widget a person
expects for its type (a checkbox for a boolean, a dropdown for an enum, a
date picker for a date...). :meth:`FormFields.values` returns only what was
filled in; converting and checking the values (types, bounds, required) is
left to the engine, which refuses bad values with a message that names the
field, so the form and the CLI are checked by the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import ipywidgets as widgets

from sopbench.model.common import InputSpec

__all__ = ["FormFields", "field_widget"]

_WIDE = {"width": "420px"}
_STYLE = {"description_width": "140px"}


def _label(name: str, spec: InputSpec) -> str:
    text = spec.label or name.replace("_", " ")
    return f"{text} *" if spec.required else text


def field_widget(name: str, spec: InputSpec) -> widgets.Widget:
    """The input widget of one field, preset to its default."""
    label, default = _label(name, spec), spec.default
    common: dict[str, Any] = {"description": label, "style": _STYLE, "layout": _WIDE}
    widget: widgets.Widget
    if spec.type == "boolean":
        widget = widgets.Checkbox(value=bool(default), indent=False, description=label)
    elif spec.type == "enum":
        options: list[tuple[str, Any]] = [("(choose)", None)] + [
            (str(v), v) for v in spec.values or []
        ]
        value = default if default in (spec.values or []) else None
        widget = widgets.Dropdown(options=options, value=value, **common)
    elif spec.type == "date":
        picked = date.fromisoformat(str(default)) if default else None
        widget = widgets.DatePicker(value=picked, **common)
    elif spec.type == "text":
        widget = widgets.Textarea(value="" if default is None else str(default), **common)
    elif spec.type in ("integer", "number") and (spec.required or default is not None):
        kind = widgets.IntText if spec.type == "integer" else widgets.FloatText
        start = default if default is not None else (spec.minimum or 0)
        widget = kind(value=int(start) if spec.type == "integer" else float(start), **common)
    else:
        shown = ", ".join(map(str, default)) if isinstance(default, list) else default
        hint = {"list": "comma separated", "datetime": "YYYY-MM-DDTHH:MM"}.get(spec.type, spec.type)
        widget = widgets.Text(value="" if shown is None else str(shown), placeholder=hint, **common)
    widget.add_class("sb-field")
    widget.add_class(f"sb-field-{name}")
    if spec.description:
        widget.tooltip = spec.description
    return widget


class FormFields(widgets.VBox):
    """The widgets of a form (``{name: spec}``, as stored on a task or a SOP's inputs)."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        super().__init__()
        self.specs = {
            name: spec if isinstance(spec, InputSpec) else InputSpec.model_validate(spec)
            for name, spec in form.items()
        }
        self.fields = {name: field_widget(name, spec) for name, spec in self.specs.items()}
        self.add_class("sb-form")
        self.children = list(self.fields.values())

    def values(self) -> dict[str, Any]:
        """The filled-in values (blank text, unchosen dropdowns and dates are left out)."""
        values: dict[str, Any] = {}
        for name, widget in self.fields.items():
            value = widget.value
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, date):
                value = value.isoformat()
            values[name] = value
        return values
