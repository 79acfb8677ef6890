"""History: every run, filterable and paged in the database; one run in full.

``history.ipynb`` lists runs (``?entity=``, ``?sop=``, ``?status=`` preset
the filters); ``history.ipynb?run=ID`` shows that run with its steps, human
tasks and journal, and lets a signed-in reviewer cancel it while it is active.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from sopbench.services.runs import ACTIVE, RUN_STATUSES
from sopbench.ui.app import Page
from sopbench.ui.identity import SignInPanel
from sopbench.ui.run_detail import journal_table, run_facts, run_values, tasks_table
from sopbench.ui.run_views import short, steps_table
from sopbench.ui.widgets import Column, PageQuery, Table, esc, fmt_time, link

__all__ = ["PAGE", "HistoryPage"]

_ALL = "(all)"


class HistoryPage(Page):
    name = "history"
    title = "Run"  # the not-found view reads "Run not found"

    def build(self) -> list[widgets.Widget]:
        run_id = self.ctx.param("run")
        if run_id is not None:
            return self._detail(run_id)
        return self._listing()

    # -- the runs table ----------------------------------------------------------------

    def _dropdown(self, label: str, options: list[str], param: str) -> widgets.Dropdown:
        wanted = self.ctx.param(param)
        if wanted is not None and wanted not in options:
            self.say(f"no {label.lower()} '{wanted}' to filter by; showing all", "warn")
            wanted = None
        box = widgets.Dropdown(
            options=[(_ALL, "")] + [(o, o) for o in options], value=wanted or "", description=label
        )
        box.add_class(f"sb-filter-{param}")
        return box

    def _listing(self) -> list[widgets.Widget]:
        ctx = self.ctx
        self.entity = self._dropdown("Entity", sorted(ctx.entities()), "entity")
        self.sop = self._dropdown("SOP", sorted(ctx.workspace.sops), "sop")
        self.status = self._dropdown("Status", list(RUN_STATUSES), "status")
        self.dry = widgets.Checkbox(value=False, description="Include dry runs", indent=False)
        self.dry.add_class("sb-filter-dry")
        self.table = Table(
            [
                Column(
                    "run_id",
                    "Run id",
                    lambda r: link(ctx.link("history", run=r["run_id"]), r["run_id"]),
                ),
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column("entity", "Entity"),
                Column("status", "Status", self._status_cell),
                Column("dry_run", "Dry run", lambda r: "yes" if r["dry_run"] else ""),
                Column("started_by", "Started by"),
                Column("created_at", "Started", lambda r: esc(fmt_time(r["created_at"]))),
                Column("finished_at", "Finished", lambda r: esc(fmt_time(r["finished_at"]))),
            ],
            source=self._source,
            page_size=20,
            empty="No runs match these filters.",
            name="runs",
        )
        for box in (self.entity, self.sop, self.status, self.dry):
            box.observe(lambda _: self._filter_changed(), names="value")
        filters = widgets.HBox([self.entity, self.sop, self.status, self.dry])
        filters.add_class("sb-history-filters")
        return [widgets.HTML("<h2>Runs</h2>"), filters, self.table]

    @staticmethod
    def _status_cell(row: Any) -> str:
        waiting = (
            f" ({row['wait_kind']})" if row["status"] == "waiting" and row["wait_kind"] else ""
        )
        return esc(row["status"] + waiting)

    def _source(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        return self.ctx.runs.runs_page(
            entity=self.entity.value or None,
            sop_id=self.sop.value or None,
            status=self.status.value or None,
            include_dry_runs=bool(self.dry.value),
            text=query.text,
            offset=query.offset,
            limit=query.limit,
            sort=query.sort,
            descending=query.descending if query.sort else True,
        )

    def _filter_changed(self) -> None:
        self.table.query.offset = 0
        self.table.refresh()

    # -- one run -----------------------------------------------------------------------

    def _detail(self, run_id: str) -> list[widgets.Widget]:
        ctx = self.ctx
        view = ctx.runs.view(run_id)  # NotFound shows the not-found view
        back = link(ctx.link("history"), "all runs")
        return [
            widgets.HTML(f"<p>← {back}</p>"),
            run_facts(ctx, view),
            self._actions(run_id, view.run.status),
            run_values(view),
            widgets.VBox([widgets.HTML("<h3>Steps</h3>"), steps_table(view.steps)]),
            tasks_table(ctx, ctx.runs.run_tasks(run_id)),
            journal_table(ctx, ctx.runs.journal(run_id)),
        ]

    def _actions(self, run_id: str, status: str) -> widgets.Widget:
        refresh = widgets.Button(description="Refresh")
        refresh.on_click(lambda _: self.render())
        if status not in ACTIVE:
            return widgets.HBox([refresh])
        if self.ctx.person is None:
            panel = SignInPanel(self.ctx, lambda _: self.render())
            return widgets.VBox(
                [refresh, widgets.HTML("<p>Sign in to cancel this run.</p>"), panel]
            )
        self.reason = widgets.Text(placeholder="why (optional)", description="Reason")
        self.reason.add_class("sb-cancel-reason")
        cancel = widgets.Button(description="Cancel run", button_style="danger")
        cancel.add_class("sb-cancel-run")
        cancel.on_click(lambda _: self.act(lambda: self._cancel(run_id)))
        return widgets.HBox([refresh, self.reason, cancel])

    def _cancel(self, run_id: str) -> str:
        person = self.ctx.require_person()
        reason = self.reason.value.strip() or f"cancelled by {person} from the dashboard"
        cancelled = self.ctx.runs.cancel(run_id, actor=person, reason=reason)
        others = len(cancelled) - 1
        tail = f" and {others} child run(s)" if others > 0 else ""
        return f"Cancelled run {run_id}{tail} as {self.ctx.person_name()}: {short(reason, 80)}"


PAGE = HistoryPage
