"""One library prompt on the Media page: its full text, parameters, cost and a request form.

The form holds the overrides a request may carry: the text slots of a Canva
brand template, or a Sora video's model, length, size and a closing note.
Only values that differ from the prompt's own go into the request, and the
cost class shown follows the form (a 12-second or ``sora-2-pro`` clip is
``high``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from sopbench.services.media import (
    SORA_PRO_SIZES,
    SORA_SECONDS,
    SORA_SIZES,
    CanvaPrompt,
    Prompt,
    cost_class,
)
from sopbench.ui.identity import SignInPanel
from sopbench.ui.widgets import esc

if TYPE_CHECKING:
    from sopbench.ui.pages.media import MediaPage

__all__ = ["PromptDetail"]


class PromptDetail(widgets.VBox):
    """The selected prompt and the form to request it."""

    def __init__(self, page: MediaPage, prompt: Prompt) -> None:
        super().__init__()
        self.page = page
        self.ctx = page.ctx
        self.prompt = prompt
        self.fields: dict[str, widgets.Widget] = {}
        self.cost = widgets.HTML()
        self.cost.add_class("sb-cost-class")
        self.add_class("sb-prompt")
        self.children = [self._about(), self._form()]
        self._show_cost()

    def _about(self) -> widgets.HTML:
        p = self.prompt
        library = self.page.desk.media.library
        service = library.services[p.service]
        rows = [
            ("Kind", "Canva image" if p.kind == "canva" else "Sora 2 video"),
            ("Entity", esc(service.entity)),
            ("Service", f"{esc(service.name)}: {esc(service.description)}"),
            ("Audience", esc(service.audience)),
            ("Format", esc(p.format)),
            ("Platforms", esc(", ".join(p.platforms) or "-")),
            ("Tags", esc(", ".join([*p.tags, *service.tags]) or "-")),
        ]
        rows += _parameters(p)
        cells = "".join(f"<tr><th align=left>{k}</th><td>{v}</td></tr>" for k, v in rows)
        about = widgets.HTML(
            f"<h3>{esc(p.title)} <code>{esc(p.id)}</code></h3><table>{cells}</table>"
            f'<h4>Full prompt</h4><pre class="sb-pre">{esc(p.text())}</pre>'
        )
        about.add_class("sb-prompt-about")
        return about

    # -- the request form ----------------------------------------------------------------

    def _form(self) -> widgets.Widget:
        if self.ctx.person is None:
            hint = widgets.HTML("<p>Sign in to request this image or video.</p>")
            return widgets.VBox([hint, SignInPanel(self.ctx, lambda _: self.page.render())])
        p = self.prompt
        if isinstance(p, CanvaPrompt):
            for slot, spec in p.text_slots.items():
                box = widgets.Text(
                    placeholder=spec.example,
                    description=slot,
                    layout={"width": "70%"},
                )
                box.add_class(f"sb-override-{slot}")
                self.fields[f"text.{slot}"] = box
        else:
            self.fields["model"] = widgets.Dropdown(
                options=["sora-2", "sora-2-pro"], value=p.model, description="Model"
            )
            self.fields["seconds"] = widgets.Dropdown(
                options=list(SORA_SECONDS), value=p.seconds, description="Seconds"
            )
            self.fields["size"] = widgets.Dropdown(
                options=list(SORA_SIZES), value=p.size, description="Size"
            )
            self.fields["note"] = widgets.Text(
                placeholder="an extra line for the video prompt", description="Note"
            )
            for key in ("model", "seconds", "size", "note"):
                self.fields[key].add_class(f"sb-override-{key}")
        for field in self.fields.values():
            field.observe(lambda _: self._show_cost(), names="value")
        request = widgets.Button(description="Request", button_style="primary")
        request.add_class("sb-request")
        request.on_click(lambda _: self.page.request(p.id, self.overrides()))
        return widgets.VBox(
            [
                widgets.HTML("<h4>Request it</h4>"),
                *self.fields.values(),
                widgets.HBox([request, self.cost]),
            ]
        ).add_class("sb-request-form")

    def overrides(self) -> dict[str, Any]:
        """The form's values that differ from the prompt's own."""
        p = self.prompt
        found: dict[str, Any] = {}
        texts = {
            key.split(".", 1)[1]: str(w.value).strip()
            for key, w in self.fields.items()
            if key.startswith("text.") and str(getattr(w, "value", "")).strip()
        }
        if texts:
            found["text"] = texts
        if not isinstance(p, CanvaPrompt):
            for key in ("model", "seconds", "size"):
                value = self.fields[key].value
                if value != getattr(p, key):
                    found[key] = value
            note = str(self.fields["note"].value).strip()
            if note:
                found["note"] = note
        return found

    def _show_cost(self) -> None:
        over = self.overrides() if self.fields else {}
        warning = ""
        size = over.get("size", getattr(self.prompt, "size", ""))
        model = over.get("model", getattr(self.prompt, "model", ""))
        if size in SORA_PRO_SIZES and model != "sora-2-pro":
            warning = f" · size {esc(size)} needs sora-2-pro"
        self.cost.value = (
            f"<span>cost class <b>{esc(cost_class(self.prompt, over))}</b>{warning}</span>"
        )


def _parameters(p: Prompt) -> list[tuple[str, str]]:
    if isinstance(p, CanvaPrompt):
        slots = "".join(
            f"<li><code>{esc(k)}</code> (≤ {s.max_chars} chars), e.g. “{esc(s.example)}”</li>"
            for k, s in p.text_slots.items()
        )
        swatches = " ".join(
            f'<span style="background:{esc(c)};padding:0 10px" title="{esc(c)}">&nbsp;</span>'
            for c in p.brand_colors
        )
        return [
            ("Design type", esc(p.design_type)),
            ("Size", esc(p.size)),
            ("Brand colours", swatches),
            ("Text slots", f"<ul>{slots}</ul>"),
        ]
    return [
        ("Model", esc(p.model)),
        ("Length", f"{p.seconds} s"),
        ("Size", esc(p.size)),
        ("Style", esc(p.style or "-")),
        ("Audio", esc(p.audio)),
    ]
