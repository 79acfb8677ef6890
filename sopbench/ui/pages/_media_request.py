"""One media request on the Media page: decision, job progress and the asset.

``requested`` → a person with the role (not the requester) clicks Approve or
Reject; the job starts at once. While it runs, Refresh looks at the job once
(:meth:`~sopbench.services.media.MediaDesk.poll`) and the bar shows how far it
got; when it succeeded the asset's files and links are shown, with a preview
of a local image.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from sopbench.services.media import MediaRequestView
from sopbench.ui.identity import SignInPanel
from sopbench.ui.widgets import esc, fmt_time, link, progress

if TYPE_CHECKING:
    from sopbench.ui.pages.media import MediaPage

__all__ = ["MediaRequestDetail", "percent_done"]

_IMAGES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
_PREVIEW_BYTES = 8_000_000
# Canva jobs report no percentage: show how many of their phases are behind them.
_PHASES = {"design": 35, "export": 70}


def percent_done(view: MediaRequestView) -> int:
    """How far the job is, 0-100 (the video provider's figure when it gives one)."""
    if view.status == "succeeded":
        return 100
    if view.status in ("requested", "rejected", "cancelled"):
        return 0
    if view.status in ("approved", "starting"):
        return 5
    reported = view.params.get("progress")
    if isinstance(reported, int | float) and not isinstance(reported, bool):
        return max(5, min(99, int(reported)))
    return _PHASES.get(str(view.params.get("phase")), 10)


class MediaRequestDetail(widgets.VBox):
    """The detail view of one request (``NotFound`` for an unknown id)."""

    def __init__(self, page: MediaPage, request_id: str) -> None:
        super().__init__()
        self.page = page
        self.ctx = page.ctx
        self.view = page.desk.get(request_id)
        self.add_class("sb-media-request")
        self.children = [self._facts(), self._decision(), self._progress(), self._asset()]

    def _facts(self) -> widgets.HTML:
        v, ctx = self.view, self.ctx
        rows = [
            ("Status", f"<b>{esc(v.status)}</b>"),
            (
                "Prompt",
                f"{esc(v.params.get('prompt_title') or '')} <code>{esc(v.prompt_id)}</code>",
            ),
            ("Kind", f"{esc(v.kind)} ({esc(v.params.get('format') or '')})"),
            ("Entity", esc(v.entity)),
            ("Cost class", esc(v.cost_class)),
            (
                "Requested by",
                f"{esc(ctx.person_name(v.requested_by or '-'))} at {fmt_time(v.created_at)}",
            ),
        ]
        overrides = v.params.get("overrides") or {}
        if overrides:
            rows.append(("Overrides", f"<code>{esc(overrides)}</code>"))
        if v.params.get("decided_by"):
            who = ctx.person_name(str(v.params["decided_by"]))
            rows.append(("Decided by", f"{esc(who)} at {esc(_when(v.params.get('decided_at')))}"))
        if v.run_id:
            rows.append(("Run", link(ctx.link("history", run=v.run_id), v.run_id)))
        if v.job_id:
            rows.append(("Job", f"<code>{esc(v.job_id)}</code>"))
        if v.error:
            rows.append(("Error", f'<span style="color:#a00">{esc(v.error)}</span>'))
        cells = "".join(f"<tr><th align=left>{k}</th><td>{val}</td></tr>" for k, val in rows)
        facts = widgets.HTML(
            f"<h2>Media request <code>{esc(v.id)}</code></h2><table>{cells}</table>"
        )
        facts.add_class("sb-media-facts")
        return facts

    # -- approve / reject --------------------------------------------------------------

    def _decision(self) -> widgets.Widget:
        if self.view.status != "requested":
            return widgets.VBox()
        if self.ctx.person is None:
            hint = widgets.HTML("<p>Sign in to approve or reject this request.</p>")
            return widgets.VBox([hint, SignInPanel(self.ctx, lambda _: self.page.render())])
        reason = widgets.Text(placeholder="Reason (for a rejection)", layout={"width": "50%"})
        reason.add_class("sb-media-reason")
        approve = widgets.Button(description="Approve", button_style="success")
        approve.add_class("sb-approve")
        approve.on_click(lambda _: self.page.approve(self.view.id))
        reject = widgets.Button(description="Reject", button_style="danger")
        reject.add_class("sb-reject")
        reject.on_click(lambda _: self.page.reject(self.view.id, reason.value.strip() or None))
        note = widgets.HTML(
            "<p>Nothing paid runs before approval. A manager or owner serving this entity "
            "approves; not the person who asked.</p>"
        )
        return widgets.VBox([note, widgets.HBox([approve, reject, reason])])

    # -- the job ------------------------------------------------------------------------------

    def _progress(self) -> widgets.Widget:
        v = self.view
        if v.status in ("requested", "rejected", "cancelled"):
            return widgets.VBox()
        bar = progress("Job")
        bar.value = percent_done(v)
        if v.status == "failed":
            bar.bar_style = "danger"
        elif v.status == "succeeded":
            bar.bar_style = "success"
        line = f"{v.status}"
        if v.params.get("phase") and not v.done:
            line += f" (phase {v.params['phase']})"
        if v.params.get("polled_at"):
            line += f", last looked at {v.params['polled_at'][:19].replace('T', ' ')}"
        if v.params.get("last_error"):
            line += f"; last poll: {v.params['last_error']} (will retry)"
        status = widgets.HTML(f'<span class="sb-job-status">{esc(line)}</span>')
        children: list[widgets.Widget] = [bar, status]
        if not v.done:
            refresh = widgets.Button(description="Refresh", button_style="info")
            refresh.add_class("sb-refresh")
            refresh.on_click(lambda _: self.page.poll(v.id))
            children.append(refresh)
        return widgets.HBox(children).add_class("sb-job")

    # -- the asset ------------------------------------------------------------------------------

    def _asset(self) -> widgets.Widget:
        asset = self.view.asset
        if self.view.status != "succeeded" or not asset:
            return widgets.VBox()
        home = self.ctx.settings.home
        files = [str(f) for f in asset.get("files") or []]
        items = "".join(f"<li><code>{esc(f)}</code></li>" for f in files)
        links = "".join(
            f"<li>{link(str(asset[key]), key.replace('_', ' '))}</li>"
            for key in ("view_url", "edit_url", "url")
            if asset.get(key)
        )
        blank = (
            "<p>A blank design at the right size: finish it in Canva.</p>"
            if asset.get("blank")
            else ""
        )
        html = widgets.HTML(f"<h3>Asset</h3>{blank}<ul>{items}{links}</ul>")
        html.add_class("sb-asset")
        previews = [p for p in (_preview(home, f) for f in files) if p is not None]
        return widgets.VBox([html, *previews])


def _when(text: object) -> str:
    """A stored ISO time as the dashboard shows times."""
    try:
        return fmt_time(datetime.fromisoformat(str(text)))
    except ValueError:
        return "" if text is None else str(text)


def _preview(home: Path, name: str) -> widgets.Image | None:
    path = Path(name) if Path(name).is_absolute() else home / name
    kind = _IMAGES.get(path.suffix.lower())
    if kind is None or not path.is_file() or path.stat().st_size > _PREVIEW_BYTES:
        return None
    image = widgets.Image(value=path.read_bytes(), format=kind, layout={"max_width": "480px"})
    image.add_class("sb-asset-preview")
    return image


def request_row(view: MediaRequestView) -> dict[str, Any]:
    """A requests-table row."""
    return {
        "id": view.id,
        "entity": view.entity,
        "kind": view.kind,
        "prompt_id": view.prompt_id,
        "title": view.params.get("prompt_title") or "",
        "status": view.status,
        "cost_class": view.cost_class,
        "requested_by": view.requested_by or "",
        "created_at": view.created_at,
    }
