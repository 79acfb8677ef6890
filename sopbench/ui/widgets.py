"""Small widgets every dashboard page uses: tables, notices, not-found, progress.

Built on plain ipywidgets only, so a page renders in Voilà, JupyterLab and
in tests (widgets work without a browser: ``button.click()`` runs its
handlers in-process).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ipywidgets as widgets

__all__ = [
    "Column",
    "PageQuery",
    "RowAction",
    "Table",
    "esc",
    "fmt_time",
    "link",
    "notice",
    "progress",
]

Row = Mapping[str, Any]


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def link(href: str, text: object) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def fmt_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def notice(text: str, kind: str = "info") -> widgets.HTML:
    """A coloured one-line message (kinds: info, ok, warn, error)."""
    box = widgets.HTML(f'<div class="sb-notice sb-{esc(kind)}">{esc(text)}</div>')
    box.add_class(f"sb-notice-{kind}")
    return box


def progress(description: str) -> widgets.IntProgress:
    bar = widgets.IntProgress(value=0, min=0, max=100, description=description)
    bar.add_class("sb-progress")
    return bar


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    render: Callable[[Row], str] | None = None
    """HTML of the cell; default: the escaped value."""
    sortable: bool = True
    width: str = "auto"

    def cell(self, row: Row) -> str:
        if self.render is not None:
            return self.render(row)
        value = row.get(self.key)
        return esc(fmt_time(value))


@dataclass(frozen=True)
class RowAction:
    label: str
    run: Callable[[Row], None]
    style: str = ""
    enabled: Callable[[Row], bool] | None = None


@dataclass
class PageQuery:
    offset: int = 0
    limit: int = 20
    sort: str | None = None
    descending: bool = False
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


RowSource = Callable[[PageQuery], tuple[Sequence[Row], int]]


def rows_source(rows: Sequence[Row], columns: Sequence[Column]) -> RowSource:
    """Sort, filter and page an in-memory list of rows."""

    def source(query: PageQuery) -> tuple[Sequence[Row], int]:
        chosen = list(rows)
        if query.text:
            needle = query.text.lower()
            chosen = [
                r for r in chosen if any(needle in fmt_time(r.get(c.key)).lower() for c in columns)
            ]
        if query.sort:
            key = query.sort
            chosen.sort(
                key=lambda r: (r.get(key) is None, _sort_key(r.get(key))),
                reverse=query.descending,
            )
        return chosen[query.offset : query.offset + query.limit], len(chosen)

    return source


def _sort_key(value: object) -> Any:
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, fmt_time(value).lower())


class Table(widgets.VBox):
    """A sortable (click a header), filterable, paged table with row actions."""

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Row] | None = None,
        *,
        source: RowSource | None = None,
        actions: Sequence[RowAction] = (),
        page_size: int = 20,
        empty: str = "Nothing here.",
        name: str = "table",
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self.actions = list(actions)
        self.source = source or rows_source(rows or [], self.columns)
        self.query = PageQuery(limit=page_size)
        self.empty = empty
        self.total = 0
        self.shown: list[Row] = []
        self.filter = widgets.Text(placeholder="filter…", layout={"width": "260px"})
        self.filter.add_class("sb-filter")
        self.filter.observe(self._on_filter, names="value")
        self.prev = widgets.Button(description="< prev", layout={"width": "80px"})
        self.next = widgets.Button(description="next >", layout={"width": "80px"})
        self.prev.on_click(lambda _: self._page(-1))
        self.next.on_click(lambda _: self._page(+1))
        self.status = widgets.HTML()
        self.status.add_class("sb-table-status")
        self.grid = widgets.GridBox(layout={"grid_gap": "2px 12px"})
        self.add_class("sb-table")
        self.add_class(f"sb-table-{name}")
        self.children = [
            widgets.HBox([self.filter, self.prev, self.next, self.status]),
            self.grid,
        ]
        self.refresh()

    # -- events ----------------------------------------------------------------

    def _on_filter(self, change: Mapping[str, Any]) -> None:
        self.query.text = str(change["new"]).strip()
        self.query.offset = 0
        self.refresh()

    def _page(self, step: int) -> None:
        offset = self.query.offset + step * self.query.limit
        if 0 <= offset < max(self.total, 1):
            self.query.offset = offset
            self.refresh()

    def sort_by(self, key: str) -> None:
        if self.query.sort == key:
            self.query.descending = not self.query.descending
        else:
            self.query.sort, self.query.descending = key, False
        self.query.offset = 0
        self.refresh()

    # -- rendering -------------------------------------------------------------

    def refresh(self) -> None:
        rows, self.total = self.source(self.query)
        self.shown = list(rows)
        first = self.query.offset + 1 if self.total else 0
        last = self.query.offset + len(self.shown)
        self.status.value = f"<span>{first}-{last} of {self.total:,}</span>"
        self.prev.disabled = self.query.offset == 0
        self.next.disabled = last >= self.total
        cells: list[widgets.Widget] = [self._header(c) for c in self.columns]
        if self.actions:
            cells.append(widgets.HTML("<b></b>"))
        for row in self.shown:
            cells.extend(widgets.HTML(c.cell(row)) for c in self.columns)
            if self.actions:
                cells.append(self._buttons(row))
        if not self.shown:
            cells.append(widgets.HTML(f"<i>{esc(self.empty)}</i>"))
        widths = [c.width for c in self.columns] + (["auto"] if self.actions else [])
        self.grid.layout.grid_template_columns = " ".join(widths)
        self.grid.children = cells

    def _header(self, column: Column) -> widgets.Widget:
        if not column.sortable:
            return widgets.HTML(f"<b>{esc(column.title)}</b>")
        arrow = ""
        if self.query.sort == column.key:
            arrow = " ▼" if self.query.descending else " ▲"
        button = widgets.Button(description=column.title + arrow)
        button.add_class("sb-sort")
        button.on_click(lambda _, key=column.key: self.sort_by(key))
        return button

    def _buttons(self, row: Row) -> widgets.HBox:
        buttons = []
        for action in self.actions:
            button = widgets.Button(description=action.label, button_style=action.style)
            button.add_class("sb-row-action")
            button.disabled = action.enabled is not None and not action.enabled(row)
            button.on_click(lambda _, a=action, r=row: a.run(r))
            buttons.append(button)
        return widgets.HBox(buttons)
