"""Home: the entities, what is running or waiting, and what needs me."""

from __future__ import annotations

import ipywidgets as widgets

from sopbench.ui.app import Page
from sopbench.ui.widgets import Column, Table, esc, fmt_time, link

__all__ = ["PAGE", "HomePage"]


class HomePage(Page):
    name = "home"
    title = "Home"

    def build(self) -> list[widgets.Widget]:
        return [self._needs_me(), self._entities(), self._recent()]

    def _needs_me(self) -> widgets.Widget:
        ctx = self.ctx
        if ctx.person is None:
            return widgets.HTML(
                '<p class="sb-needs-me">Sign in on the '
                f"{link(ctx.link('approvals'), 'Approvals')} page to see what needs you.</p>"
            )
        _, tasks = ctx.runs.inbox(ctx.person, limit=1)
        in_review = sum(
            n for (_, status), n in ctx.content.status_counts().items() if status == "in_review"
        )
        return widgets.HTML(
            f'<div class="sb-needs-me"><h3>Needs {esc(ctx.person_name())}</h3><ul>'
            f"<li>{link(ctx.link('approvals'), f'{tasks} open task(s) you can decide')}</li>"
            f"<li>{link(ctx.link('drafts'), f'{in_review} draft(s) in review')}</li>"
            "</ul></div>"
        )

    def _entities(self) -> widgets.Widget:
        ctx = self.ctx
        counts = ctx.runs.status_counts()
        cards = []
        for entity_id, entity in sorted(ctx.entities().items()):
            running = counts.get((entity_id, "running"), 0) + counts.get((entity_id, "pending"), 0)
            waiting = counts.get((entity_id, "waiting"), 0)
            failed = counts.get((entity_id, "failed"), 0)
            sops = sum(1 for s in ctx.workspace.sops.values() if s.entity == entity_id)
            cards.append(
                widgets.HTML(
                    f'<div class="sb-card sb-entity-card">'
                    f"<h3>{link(ctx.link('entity', entity=entity_id), entity.name)}</h3>"
                    f"<div>{sops} SOP(s)</div>"
                    f"<div>{running} running · {waiting} waiting · {failed} failed</div></div>"
                )
            )
        return widgets.VBox(
            [
                widgets.HTML("<h3>Entities</h3>"),
                widgets.HBox(cards, layout={"flex_flow": "row wrap"}),
            ]
        )

    def _recent(self) -> widgets.Widget:
        ctx = self.ctx
        rows = [
            {
                "run_id": r.id,
                "sop_id": r.sop_id,
                "entity": r.entity,
                "status": r.status,
                "created_at": r.created_at,
            }
            for r in ctx.runs.list_runs(limit=20)
            if not r.dry_run
        ]
        table = Table(
            [
                Column(
                    "run_id",
                    "Run",
                    lambda r: link(ctx.link("history", run=r["run_id"]), r["run_id"]),
                ),
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column("entity", "Entity"),
                Column("status", "Status"),
                Column("created_at", "Started", lambda r: esc(fmt_time(r["created_at"]))),
            ],
            rows,
            page_size=10,
            empty="No runs yet. Start one from a SOP page.",
            name="recent-runs",
        )
        return widgets.VBox([widgets.HTML("<h3>Recent runs</h3>"), table])


PAGE = HomePage
