"""Scheduler: every schedule with its next fire time, pause/resume, fire history.

Schedules come from the SOP files' ``schedule:`` triggers (synced on every
build, as ``sopbench schedule list`` does) and from ``sopbench schedule
add``. Pausing and resuming need a signed-in person, whom the journal
records. ``scheduler.ipynb?schedule=ID`` (or the row button "Fires") shows
one schedule with its recent fire records.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import ipywidgets as widgets

from sopbench.cron import load_zone
from sopbench.services.session import ScheduleView
from sopbench.ui.app import Page
from sopbench.ui.identity import SignInPanel
from sopbench.ui.widgets import Column, RowAction, Table, esc, fmt_time, link

__all__ = ["PAGE", "SchedulerPage", "local_time"]


def local_time(when: datetime | None, timezone: str) -> str:
    """``when`` on the wall clock of ``timezone`` (``2026-11-25 09:00 MST``)."""
    if when is None:
        return "-"
    return when.astimezone(load_zone(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def _row(view: ScheduleView) -> dict[str, Any]:
    return {
        **view.as_dict(),
        "next_local": local_time(view.next_fire_at, view.timezone),
        "inputs_text": json.dumps(view.inputs, sort_keys=True, default=str) if view.inputs else "",
    }


class SchedulerPage(Page):
    name = "scheduler"
    title = "Schedule"

    # None: the ``schedule`` query parameter decides; "": the list; else that schedule.
    chosen: str | None = None

    def build(self) -> list[widgets.Widget]:
        scheduler = self.ctx.scheduler
        scheduler.sync()  # triggers added to (or removed from) SOP files show up now
        schedule_id = self.ctx.param("schedule") if self.chosen is None else self.chosen
        parts = [] if self.ctx.person else [self._sign_in()]
        if schedule_id:
            return parts + self._detail(scheduler.get(schedule_id))  # NotFound: not-found view
        return [*parts, self._list([_row(v) for v in scheduler.schedules()])]

    def show(self, schedule_id: str) -> None:
        self.chosen = schedule_id
        self.messages.children = []
        self.render()

    def _sign_in(self) -> widgets.Widget:
        panel = SignInPanel(self.ctx, lambda _: self.render())
        note = widgets.HTML("<p>Sign in to pause or resume schedules.</p>")
        return widgets.VBox([note, panel]).add_class("sb-scheduler-sign-in")

    # -- actions ---------------------------------------------------------------

    def pause(self, schedule_id: str) -> None:
        def action() -> str:
            who = self.ctx.require_person()
            view = self.ctx.scheduler.pause(schedule_id, actor=who)
            return f"paused {view.id} ({view.sop_id}) for {self.ctx.person_name(who)}"

        self.act(action)

    def resume(self, schedule_id: str) -> None:
        def action() -> str:
            who = self.ctx.require_person()
            view = self.ctx.scheduler.resume(schedule_id, actor=who)
            upcoming = local_time(view.next_fire_at, view.timezone)
            return f"resumed {view.id} ({view.sop_id}); next fire {upcoming}"

        self.act(action)

    # -- views -----------------------------------------------------------------

    def _list(self, rows: list[dict[str, Any]]) -> widgets.Widget:
        ctx = self.ctx
        table = Table(
            [
                Column(
                    "id",
                    "Schedule",
                    lambda r: link(ctx.link("scheduler", schedule=r["id"]), r["id"]),
                ),
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column("cron", "Cron", lambda r: f"<code>{esc(r['cron'])}</code>"),
                Column("timezone", "Time zone"),
                Column("catchup", "Catch-up"),
                Column("source", "Source"),
                Column(
                    "state", "State", lambda r: f'<span class="sb-state">{esc(r["state"])}</span>'
                ),
                Column("next_local", "Next fire (local)"),
                Column("next_fire_at", "Next fire (UTC)"),
                Column("inputs_text", "Inputs", lambda r: f"<code>{esc(r['inputs_text'])}</code>"),
            ],
            rows,
            actions=[
                RowAction("Pause", lambda r: self.pause(r["id"]), enabled=_is("active")),
                RowAction("Resume", lambda r: self.resume(r["id"]), "success", _is("paused")),
                RowAction("Fires", lambda r: self.show(r["id"])),
            ],
            page_size=25,
            empty="No schedules. Add a `schedule:` trigger to a SOP, or `sopbench schedule add`.",
            name="schedules",
        )
        counts = {s: sum(1 for r in rows if r["state"] == s) for s in ("active", "paused")}
        heading = widgets.HTML(
            f"<h2>Schedules</h2><p>{len(rows)} schedule(s): {counts['active']} active, "
            f"{counts['paused']} paused. Times are in each schedule's time zone and in UTC.</p>"
        )
        return widgets.VBox([heading, table]).add_class("sb-schedules")

    def _detail(self, view: ScheduleView) -> list[widgets.Widget]:
        ctx = self.ctx
        back = widgets.Button(description="All schedules", icon="arrow-left")
        back.add_class("sb-back")
        back.on_click(lambda _: self.show(""))
        row = _row(view)
        facts = [
            ("SOP", link(ctx.link("sop", sop=view.sop_id), view.sop_id)),
            ("Cron", f"<code>{esc(view.cron)}</code> ({esc(view.timezone)})"),
            ("Catch-up", esc(view.catchup)),
            ("Source", esc(view.source)),
            ("State", f'<span class="sb-state">{esc(view.state)}</span>'),
            ("Next fire", f"{esc(row['next_local'])} / {esc(fmt_time(view.next_fire_at))} UTC"),
            ("Inputs", f"<code>{esc(row['inputs_text'] or '-')}</code>"),
        ]
        cells = "".join(f"<tr><th align=left>{k}</th><td>{v}</td></tr>" for k, v in facts)
        summary = widgets.HTML(f"<h2>Schedule {esc(view.id)}</h2><table>{cells}</table>")
        summary.add_class("sb-schedule-summary")
        toggle = widgets.Button(
            description="Resume" if view.paused else "Pause",
            button_style="success" if view.paused else "",
            disabled=view.state == "removed",
        )
        toggle.add_class("sb-schedule-toggle")
        toggle.on_click(lambda _: self.resume(view.id) if view.paused else self.pause(view.id))
        return [back, summary, toggle, self._fires(view)]

    def _fires(self, view: ScheduleView) -> widgets.Widget:
        ctx = self.ctx
        rows = ctx.scheduler.fires(view.id, limit=50)

        def run_link(r: Any) -> str:
            if not r["run_id"]:
                return "-"
            return link(ctx.link("history", run=r["run_id"]), f"{r['run_id']} ({r['run_status']})")

        table = Table(
            [
                Column("fire_time", "Fire time (UTC)"),
                Column(
                    "local",
                    "Fire time (local)",
                    lambda r: esc(local_time(r["fire_time"], view.timezone)),
                    sortable=False,
                ),
                Column("status", "Status"),
                Column("run_id", "Run", run_link),
                Column("fired_at", "Fired at (UTC)"),
            ],
            rows,
            page_size=20,
            empty="Not fired yet.",
            name="fires",
        )
        return widgets.VBox([widgets.HTML("<h3>Recent fires</h3>"), table]).add_class("sb-fires")


def _is(state: str) -> Any:
    return lambda row: row["state"] == state


PAGE = SchedulerPage
