"""SOP: its definition, a form to run or dry-run it, and its recent runs.

``sop.ipynb?sop=gov_contract_win`` shows one SOP; without ``?sop=`` the page
lists them all.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from sopbench.model.sop import SopFile
from sopbench.services.runs import RunView
from sopbench.services.workspace import SopSummary, list_sops
from sopbench.ui.app import Page
from sopbench.ui.run_form import RunForm
from sopbench.ui.run_views import short
from sopbench.ui.widgets import Column, PageQuery, Table, esc, fmt_time, link, notice

__all__ = ["PAGE", "SopPage"]


class SopPage(Page):
    name = "sop"
    title = "SOP"

    def build(self) -> list[widgets.Widget]:
        sop_id = self.ctx.param("sop")
        if sop_id is None:
            return self._all_sops()
        sop = self.ctx.workspace.sop(sop_id)  # NotFound (with a suggestion) shows not-found
        summary = next(s for s in list_sops(self.ctx.workspace) if s.sop_id == sop.sop_id)
        self.recent = self._recent(sop.sop_id)
        self.form = RunForm(self.ctx, sop, on_signed_in=self._signed_in, on_run=self._ran)
        return [
            self._definition(sop, summary),
            self._inputs(sop),
            self._steps(sop),
            self.form,
            widgets.VBox([widgets.HTML("<h3>Recent runs</h3>"), self.recent]),
            self._source(sop),
        ]

    def _signed_in(self) -> None:
        self.account.children = self._account()
        self.messages.children = []

    def _ran(self, view: RunView) -> None:
        self.recent.refresh()

    # -- all SOPs ----------------------------------------------------------------------

    def _all_sops(self) -> list[widgets.Widget]:
        ctx = self.ctx
        rows = [
            {
                "sop_id": s.sop_id,
                "entity": s.entity,
                "name": s.name,
                "triggers": ", ".join(s.triggers),
                "steps": s.steps,
                "tags": ", ".join(s.tags),
            }
            for s in list_sops(ctx.workspace)
        ]
        table = Table(
            [
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column(
                    "entity",
                    "Entity",
                    lambda r: link(ctx.link("entity", entity=r["entity"]), r["entity"]),
                ),
                Column("name", "Name"),
                Column("triggers", "Triggers"),
                Column("steps", "Steps"),
                Column("tags", "Tags"),
            ],
            rows,
            page_size=50,
            empty="No SOPs in this workspace yet.",
            name="sops",
        )
        return [widgets.HTML(f"<h2>SOPs ({len(rows)})</h2>"), table]

    # -- one SOP -----------------------------------------------------------------------

    def _definition(self, sop: SopFile, summary: SopSummary) -> widgets.Widget:
        ctx = self.ctx
        entity = ctx.entities().get(sop.entity)
        entity_name = entity.name if entity is not None else sop.entity
        facts = [
            ("Entity", link(ctx.link("entity", entity=sop.entity), entity_name)),
            ("Owner", esc(sop.owner or "")),
            ("Tags", esc(", ".join(sop.tags))),
            ("Triggers", esc("; ".join(summary.triggers))),
            ("Steps", esc(f"{summary.steps} ({', '.join(summary.step_types)})")),
            ("File", f"<code>{esc(sop.path)}</code>"),
        ]
        if sop.concurrency is not None:
            limit = sop.concurrency
            facts.append(("Concurrency", esc(f"{limit.limit} at once, then {limit.policy}")))
        rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
        view = widgets.HTML(
            f"<h2>{esc(sop.name)} <small><code>{esc(sop.sop_id)}</code></small></h2>"
            f"<p>{esc(sop.description or '')}</p><table class='sb-facts'>{rows}</table>"
        )
        view.add_class("sb-sop-definition")
        return view

    def _inputs(self, sop: SopFile) -> widgets.Widget:
        rows = [
            {
                "name": name,
                "type": spec.type + (f" of {spec.items}" if spec.items else ""),
                "required": "yes" if spec.required else "",
                "default": "" if spec.default is None else str(spec.default),
                "about": spec.label or spec.description or "",
                "allowed": ", ".join(map(str, spec.values or [])),
            }
            for name, spec in sop.inputs.items()
        ]
        table = Table(
            [
                Column("name", "Input"),
                Column("type", "Type"),
                Column("required", "Required"),
                Column("default", "Default"),
                Column("allowed", "Allowed"),
                Column("about", "About"),
            ],
            rows,
            page_size=50,
            empty="This SOP takes no inputs.",
            name="inputs",
        )
        return widgets.VBox([widgets.HTML("<h3>Inputs</h3>"), table])

    def _steps(self, sop: SopFile) -> widgets.Widget:
        rows = [
            {
                "order": n,
                "path": path,
                "type": step.type,
                "summary": step.title()
                + (f": {short(step.description, 160)}" if step.description else ""),
            }
            for n, (path, step) in enumerate(sop.walk(), start=1)
        ]
        table = Table(
            [
                Column("order", "#", width="40px"),
                Column("path", "Step"),
                Column("type", "Type"),
                Column("summary", "Summary"),
            ],
            rows,
            page_size=100,
            name="sop-steps",
        )
        return widgets.VBox([widgets.HTML("<h3>Steps</h3>"), table])

    def _recent(self, sop_id: str) -> Table:
        ctx = self.ctx

        def source(query: PageQuery) -> tuple[list[dict[str, Any]], int]:
            return ctx.runs.runs_page(
                sop_id=sop_id,
                text=query.text,
                offset=query.offset,
                limit=query.limit,
                sort=query.sort,
                descending=query.descending if query.sort else True,
            )

        return Table(
            [
                Column(
                    "run_id",
                    "Run id",
                    lambda r: link(ctx.link("history", run=r["run_id"]), r["run_id"]),
                ),
                Column("status", "Status"),
                Column("dry_run", "Dry run", lambda r: "yes" if r["dry_run"] else ""),
                Column("started_by", "Started by"),
                Column("created_at", "Started", lambda r: esc(fmt_time(r["created_at"]))),
                Column("error", "Failure", lambda r: esc(short(r["error"]))),
            ],
            source=source,
            page_size=10,
            empty="No runs of this SOP yet.",
            name="sop-runs",
        )

    def _source(self, sop: SopFile) -> widgets.Widget:
        try:
            text = (self.ctx.workspace.home / sop.path).read_text(encoding="utf-8")
        except OSError as exc:
            return notice(f"cannot read {sop.path}: {exc.strerror}", "warn")
        pre = widgets.HTML(f'<pre class="sb-pre">{esc(text)}</pre>')
        pre.add_class("sb-sop-source")
        return widgets.VBox([widgets.HTML("<h3>Source</h3>"), pre])


PAGE = SopPage
