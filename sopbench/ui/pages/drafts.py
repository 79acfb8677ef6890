"""Drafts: the AI draft → review → approve / request changes / reject → publish flow.

The list shows drafts by status (in review first) and entity; a draft
(``drafts.ipynb?draft=ID`` or its Open button) shows the editor, the rule
violations, the revision history with a diff and the comments, and the
decisions (see :mod:`sopbench.ui.pages._draft_detail`). Everything goes
through :class:`~sopbench.services.content.ContentService`, as the CLI does.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from sopbench.services.content import Draft, get_platform
from sopbench.ui.app import Page
from sopbench.ui.context import PageContext
from sopbench.ui.pages._draft_detail import DraftDetail
from sopbench.ui.widgets import Column, RowAction, Table, esc, fmt_time, link

__all__ = ["PAGE", "STATUSES", "DraftsPage"]

STATUSES = ("draft", "in_review", "approved", "rejected", "scheduled", "published", "failed")
_LIMIT = 1000


class DraftsPage(Page):
    name = "drafts"
    title = "Draft"

    def __init__(self, ctx: PageContext) -> None:
        # set before the frame renders (Page.__init__ calls build())
        self.selected: str | None = ctx.param("draft")
        status = ctx.param("status") or "in_review"
        self.status_filter = "" if status == "all" else status
        self.entity_filter = ctx.param("entity") or ""
        self.detail: DraftDetail | None = None
        super().__init__(ctx)

    def build(self) -> list[widgets.Widget]:
        self.detail = None
        if self.selected:
            self.detail = DraftDetail(self, self.selected)
            return [self._back(), self.detail]
        return self._list()

    # -- navigation ---------------------------------------------------------------------

    def open_draft(self, draft_id: str) -> None:
        self.selected = draft_id
        self.messages.children = []
        self.render()

    def close_draft(self) -> None:
        self.selected = None
        self.messages.children = []
        self.render()

    def _back(self) -> widgets.Widget:
        back = widgets.Button(description="< All drafts", layout={"width": "120px"})
        back.add_class("sb-back")
        back.on_click(lambda _: self.close_draft())
        return back

    # -- the list -------------------------------------------------------------------------

    def _list(self) -> list[widgets.Widget]:
        status_options = [("All statuses", "")] + [(s.replace("_", " "), s) for s in STATUSES]
        status = widgets.Dropdown(
            options=status_options,
            value=self.status_filter if self.status_filter in STATUSES else "",
            description="Status",
        )
        status.add_class("sb-draft-status-filter")
        entities = [("All entities", "")] + [
            (e.name, eid) for eid, e in sorted(self.ctx.entities().items())
        ]
        entity = widgets.Dropdown(
            options=entities,
            value=self.entity_filter if self.entity_filter in dict(entities).values() else "",
            description="Entity",
        )
        entity.add_class("sb-draft-entity-filter")
        holder = widgets.VBox()

        def show(_: object = None) -> None:
            self.status_filter, self.entity_filter = status.value, entity.value
            holder.children = [self._table(status.value or None, entity.value or None)]

        status.observe(show, names="value")
        entity.observe(show, names="value")
        show()
        return [widgets.HTML("<h2>Drafts</h2>"), widgets.HBox([status, entity]), holder]

    def _table(self, status: str | None, entity: str | None) -> Table:
        found = self.ctx.content.list_drafts(status=status, entity=entity, limit=_LIMIT)
        sops = self.ctx.content.run_sops(d.source_run_id for d in found if d.source_run_id)
        rows = sorted((self._row(d, sops) for d in found), key=lambda r: r["updated_at"])
        rows.reverse()  # most recently changed first
        ctx = self.ctx
        return Table(
            [
                Column("id", "Draft", lambda r: link(ctx.link("drafts", draft=r["id"]), r["id"])),
                Column("entity", "Entity"),
                Column("platform", "Platform"),
                Column("status", "Status"),
                Column("sop", "SOP / run", lambda r: r["source_html"]),
                Column("updated_at", "Updated", lambda r: esc(fmt_time(r["updated_at"]))),
                Column("violations", "Rules", lambda r: _rules_cell(r["violations"])),
                Column("text", "Text", sortable=False),
            ],
            rows,
            actions=[RowAction("Open", lambda r: self.open_draft(str(r["id"])))],
            page_size=20,
            empty="No drafts with this status."
            if status
            else "No drafts yet: a SOP's content_generate step writes them.",
            name="drafts",
        )

    def _row(self, draft: Draft, sops: dict[str, str]) -> dict[str, Any]:
        ctx = self.ctx
        run_id = draft.source_run_id
        sop = sops.get(run_id or "", "")
        source = ""
        if run_id:
            source = (link(ctx.link("sop", sop=sop), sop) + " / " if sop else "") + link(
                ctx.link("history", run=run_id), run_id
            )
        return {
            "id": draft.id,
            "entity": draft.entity,
            "platform": get_platform(draft.platform).name,
            "status": draft.status,
            "sop": sop,
            "run_id": run_id,
            "source_html": source,
            "updated_at": draft.updated_at,
            "violations": len(draft.violations),
            "text": _short(draft.text),
        }


def _rules_cell(count: int) -> str:
    if not count:
        return '<span class="sb-rules-ok">ok</span>'
    return f'<span class="sb-rules-broken" style="color:#a00">{count} problem(s)</span>'


def _short(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


PAGE = DraftsPage
