"""Calendar: posts, drafts, slots, themes, schedule fires, delays, approvals, media by day.

Below the entries, the best posting windows of the chosen entity (or of every
entity), in each entity's own time zone.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ipywidgets as widgets

from sopbench.errors import InputError
from sopbench.services.calendar import KINDS, CalendarEntry, PostingWindow
from sopbench.ui.app import Page
from sopbench.ui.widgets import Column, Table, esc, link

__all__ = ["PAGE", "CalendarPage"]

_SPANS = {"7 days": 7, "14 days": 14, "30 days": 30, "90 days": 90}
# Where a calendar entry's reference opens: (page, query parameter).
_TARGETS = {
    "post": ("drafts", "draft"),
    "draft": ("drafts", "draft"),
    "schedule": ("scheduler", "schedule"),
    "approval_due": ("approvals", "task"),
    "media": ("media", "request"),
    "slot": ("drafts", "draft"),  # a filled slot refers to the draft filling it
}


class CalendarPage(Page):
    name = "calendar"
    title = "Calendar"

    def build(self) -> list[widgets.Widget]:
        ctx = self.ctx
        chosen = ctx.param("entity") or ""
        start = _parse_day(ctx.param("from")) or self._today(chosen)
        self.start = widgets.DatePicker(description="From", value=start)
        span = int(ctx.param("days") or 14)
        self.span = widgets.Dropdown(
            options=list(_SPANS.items()), value=span if span in _SPANS.values() else 14
        )
        entities = [("All entities", "")] + [
            (e.name, eid) for eid, e in sorted(ctx.entities().items())
        ]
        self.entity = widgets.Dropdown(
            options=entities, value=chosen if chosen in dict(entities).values() else ""
        )
        self.kinds = widgets.SelectMultiple(options=list(KINDS), value=list(KINDS), rows=3)
        show = widgets.Button(description="Show", button_style="primary")
        show.add_class("sb-calendar-show")
        show.on_click(lambda _: self._show())
        self.result = widgets.VBox()
        self.result.add_class("sb-calendar")
        controls = widgets.HBox([self.start, self.span, self.entity, self.kinds, show])
        self._show()
        return [controls, self.result]

    def _show(self) -> None:
        try:
            entries = self._entries()
        except InputError as exc:
            self.result.children = [widgets.HTML(f"<p>{esc(exc)}</p>")]
            return
        self.result.children = [self._strip(entries), self._table(entries), self._windows()]

    def _entries(self) -> list[CalendarEntry]:
        first = self.start.value
        if not isinstance(first, date):
            raise InputError("choose a start day")
        last = first + timedelta(days=int(self.span.value))
        # Days are each entity's local days: ask for a day more on either side
        # (no zone is a day off UTC), then keep what falls on the chosen days.
        begin = datetime.combine(first, time.min, tzinfo=UTC) - timedelta(days=1)
        end = datetime.combine(last, time.min, tzinfo=UTC) + timedelta(days=1)
        found = self.ctx.calendar.entries(
            begin, end, entity=self.entity.value or None, kinds=list(self.kinds.value)
        )
        return [e for e in found if self._in_range(e, first, last)]

    def _in_range(self, entry: CalendarEntry, first: date, last: date) -> bool:
        day = self._local_day(entry)
        if entry.kind == "theme":  # a month's theme shows while its month overlaps the days
            next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            return day < last and next_month > first
        return first <= day < last

    def _local_day(self, entry: CalendarEntry) -> date:
        return entry.when.astimezone(self._zone(entry.entity)).date()

    def _today(self, entity_id: str) -> date:
        """Today where it is earliest among the shown entities, so no entity's today is cut off."""
        entities = self.ctx.entities()
        ids = [entity_id] if entity_id in entities else list(entities)
        today = (datetime.now(self._zone(eid)).date() for eid in ids)
        return min(today, default=datetime.now(UTC).date())

    def _strip(self, entries: list[CalendarEntry]) -> widgets.HTML:
        per_day = Counter(self._local_day(e) for e in entries)
        first = self.start.value
        cells = []
        for offset in range(int(self.span.value)):
            day = first + timedelta(days=offset)
            count = per_day.get(day, 0)
            weight = "font-weight:600;" if count else "color:#999;"
            cells.append(
                f'<div class="sb-card" style="min-width:64px;{weight}">'
                f"{day:%a %d %b}<br>{count} item(s)</div>"
            )
        return widgets.HTML('<div style="display:flex;flex-wrap:wrap">' + "".join(cells) + "</div>")

    def _table(self, entries: list[CalendarEntry]) -> Table:
        rows = [self._row(e) for e in entries]
        return Table(
            [
                Column("when", "When (local)", lambda r: esc(r["local"])),
                Column("kind", "What"),
                Column("entity", "Entity"),
                Column("title", "Title", lambda r: r["title_html"]),
                Column("status", "Status"),
                Column("platform", "Platform"),
                Column("run_id", "Run", _run_link(self)),
            ],
            rows,
            page_size=25,
            empty="Nothing planned in this range.",
            name="calendar",
        )

    def _windows(self) -> widgets.VBox:
        service = self.ctx.calendar
        chosen = [self.entity.value] if self.entity.value else service.entity_ids()
        found: list[PostingWindow] = [w for eid in chosen for w in service.best_windows(eid)]
        table = Table(
            [
                Column("entity", "Entity"),
                Column("platform", "Platform"),
                Column("rank", "#"),
                Column("window", "Window (entity time)"),
                Column("basis", "Based on"),
            ],
            [{**w.as_dict(), "window": w.label()} for w in found],
            page_size=10,
            empty="No posting slots and no published posts to derive windows from.",
            name="calendar-windows",
        )
        box = widgets.VBox([widgets.HTML("<h3>Best posting windows</h3>"), table])
        box.add_class("sb-calendar-windows")
        return box

    def _row(self, entry: CalendarEntry) -> dict[str, Any]:
        row = entry.as_dict()
        row["when"] = entry.when
        zone = self._zone(entry.entity)
        local = entry.when.astimezone(zone)
        row["local"] = f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"
        target = _TARGETS.get(entry.kind)
        if target and entry.ref_id:
            page, key = target
            row["title_html"] = link(self.ctx.link(page, **{key: entry.ref_id}), entry.title)
        else:
            row["title_html"] = esc(entry.title)
        return row

    def _zone(self, entity_id: str | None) -> ZoneInfo:
        entity = self.ctx.entities().get(entity_id or "")
        return ZoneInfo(entity.timezone) if entity is not None else ZoneInfo("UTC")


def _run_link(page: CalendarPage) -> Any:
    def render(row: Any) -> str:
        run_id = row.get("run_id")
        return link(page.ctx.link("history", run=run_id), run_id) if run_id else ""

    return render


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


PAGE = CalendarPage
