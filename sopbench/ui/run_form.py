"""The SOP page's run form: typed inputs, examples, Dry-run and Run.

Inputs are converted and checked by the engine (the same rules as
``sopbench run --input``); a refusal is shown next to the form. A real run
records who started it, so it needs a signed-in reviewer: the sign-in panel
appears inline and the run starts once they are in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import ipywidgets as widgets

from sopbench.errors import SopbenchError
from sopbench.model.common import InputSpec
from sopbench.model.sop import SopFile
from sopbench.services.runs import RunView
from sopbench.ui.context import PageContext
from sopbench.ui.forms import FormFields
from sopbench.ui.identity import SignInPanel
from sopbench.ui.run_views import run_status, steps_table
from sopbench.ui.widgets import notice, progress

__all__ = ["RunForm", "fill_field"]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)) if value else None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        # Comma-separated reads best; JSON keeps items that hold commas or mappings intact.
        plain = all(isinstance(v, str | int | float) and "," not in str(v) for v in value)
        return ", ".join(map(str, value)) if plain else json.dumps(value, default=str)
    return str(value)


def fill_field(widget: widgets.Widget, spec: InputSpec, value: Any) -> None:
    """Show ``value`` (from an example or a default) in a field's widget."""
    if isinstance(widget, widgets.Checkbox):
        widget.value = bool(value)
    elif isinstance(widget, widgets.Dropdown):
        matches = [v for v in spec.values or [] if value is not None and str(v) == str(value)]
        widget.value = matches[0] if matches else None
    elif isinstance(widget, widgets.DatePicker):
        widget.value = _as_date(value)
    elif isinstance(widget, widgets.IntText):
        widget.value = int(value if value is not None else spec.minimum or 0)
    elif isinstance(widget, widgets.FloatText):
        widget.value = float(value if value is not None else spec.minimum or 0)
    else:
        widget.value = _as_text(value)


class RunForm(widgets.VBox):
    """Inputs of one SOP and the buttons that start it."""

    def __init__(
        self,
        ctx: PageContext,
        sop: SopFile,
        *,
        on_signed_in: Callable[[], None],
        on_run: Callable[[RunView], None],
    ) -> None:
        super().__init__()
        self.ctx, self.sop = ctx, sop
        self.on_signed_in, self.on_run = on_signed_in, on_run
        self.fields = FormFields(sop.inputs)
        self.example = widgets.Dropdown(
            options=[("Defaults", -1)]
            + [(f"Use example {i + 1}", i) for i in range(len(sop.examples))],
            value=-1,
            description="Prefill",
        )
        self.example.add_class("sb-example")
        self.example.observe(lambda _: self.use_example(self.example.value), names="value")
        self.dry_button = widgets.Button(description="Dry-run", button_style="info")
        self.run_button = widgets.Button(description="Run", button_style="primary")
        self.dry_button.add_class("sb-dry-run")
        self.run_button.add_class("sb-run")
        self.dry_button.on_click(lambda _: self.start(dry_run=True))
        self.run_button.on_click(lambda _: self.start(dry_run=False))
        self.message = widgets.VBox()
        self.message.add_class("sb-run-message")
        self.sign_in = widgets.VBox()
        self.bar = progress("Running")
        self.bar.layout.display = "none"
        self.state = widgets.HTML()
        self.state.add_class("sb-run-progress")
        self.result = widgets.VBox()
        self.result.add_class("sb-run-result")
        self.add_class("sb-run-form")
        head = [widgets.HTML("<h3>Start a run</h3>")]
        if sop.examples:
            head.append(self.example)
        if not sop.inputs:
            head.append(widgets.HTML("<p><i>This SOP takes no inputs.</i></p>"))
        self.children = [
            *head,
            self.fields,
            widgets.HBox([self.dry_button, self.run_button]),
            self.message,
            self.sign_in,
            widgets.HBox([self.bar, self.state]),
            self.result,
        ]

    def use_example(self, index: int) -> None:
        """Fill the fields from example ``index`` (``-1``: the defaults)."""
        example: Mapping[str, Any] = self.sop.examples[index] if index >= 0 else {}
        for name, widget in self.fields.fields.items():
            spec = self.fields.specs[name]
            try:
                fill_field(widget, spec, example.get(name, spec.default))
            except (TypeError, ValueError):  # a value the widget cannot show: leave it blank
                continue

    def say(self, text: str, kind: str) -> None:
        self.message.children = [notice(text, kind)] if text else []

    def start(self, *, dry_run: bool) -> None:
        if not dry_run and self.ctx.person is None:
            self.say("Sign in to start a real run (a dry run needs no sign-in).", "warn")
            self.sign_in.children = [SignInPanel(self.ctx, lambda _: self._signed_in())]
            return
        self.say("", "info")
        self._busy(True, "Checking the inputs…", 10)
        try:
            view = self._drive(dry_run)
        except SopbenchError as exc:
            self._busy(False, "", 0)
            self.say(str(exc), "error")
            return
        self._busy(False, "Done.", 100)
        self.show(view)
        self.on_run(view)

    def _drive(self, dry_run: bool) -> RunView:
        runs = self.ctx.runs
        values = self.fields.values()
        view = runs.start(
            self.sop.sop_id, values, started_by=self.ctx.person, dry_run=dry_run, detach=True
        )
        what = "Dry run" if dry_run else "Run"
        self._busy(True, f"{what} {view.run.id} started; running its steps…", 40)
        return runs.drive(view.run.id)

    def _signed_in(self) -> None:
        self.sign_in.children = []
        self.on_signed_in()
        self.start(dry_run=False)

    def _busy(self, busy: bool, text: str, value: int) -> None:
        self.dry_button.disabled = self.run_button.disabled = busy
        self.bar.layout.display = None if busy else "none"
        self.bar.value = value
        self.state.value = f"<span>{text}</span>" if text else ""

    def show(self, view: RunView) -> None:
        href = self.ctx.link("history", run=view.run.id)
        self.result.children = [
            run_status(view.run, detail_href=href),
            steps_table(view.steps, name="run-steps"),
        ]
