"""Ranges and output of ``sopbench calendar --week`` / ``--month`` / ``--windows``.

A week runs Monday 00:00 to the next Monday 00:00 local time, a month from
its 1st to the next month's 1st, both in the zone of the days (see
:mod:`sopbench.cli.calendar`), so a week or month that holds a
daylight-saving change is an hour shorter or longer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from sopbench.cli._common import echo_json
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.calendar import CalendarService, PostingWindow

__all__ = ["MERGED_KINDS", "Span", "month_span", "show_windows", "span_of", "week_span"]

MERGED_KINDS = ("post", "slot", "theme", "schedule", "delay", "approval_due")
"""What ``--week`` and ``--month`` show unless ``--kind`` says otherwise: the
posts and slots, the month's themes, and the SOP runs due (fires, delays,
approvals)."""


@dataclass(frozen=True)
class Span:
    """Local days ``[first, after)`` of one view, and how its heading names it."""

    view: str
    first: date
    after: date
    name: str


def week_span(value: str, zone: ZoneInfo) -> Span:
    """The Monday-to-Sunday week holding ``value`` (a date; empty means today)."""
    day = _parse(value, "--week", "a date like 2026-03-14", date.fromisoformat, zone)
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Span("week", monday, monday + timedelta(days=7), f"Week {year}-W{week:02d}")


def month_span(value: str, zone: ZoneInfo) -> Span:
    """The month ``value`` (``YYYY-MM``; empty means this month)."""
    first = _parse(value, "--month", "a month like 2026-03", _month, zone).replace(day=1)
    after = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return Span("month", first, after, first.strftime("%B %Y"))


def span_of(week: str | None, month: str | None, zone: ZoneInfo) -> Span | None:
    if week is not None and month is not None:
        raise UsageError("give --week or --month, not both")
    if week is not None:
        return week_span(week, zone)
    if month is not None:
        return month_span(month, zone)
    return None


def _month(text: str) -> date:
    year, _, month = text.partition("-")
    if len(year) != 4 or len(month) != 2:
        raise ValueError(text)
    return date(int(year), int(month), 1)


def _parse(
    value: str, option: str, example: str, parse: Callable[[str], date], zone: ZoneInfo
) -> date:
    if not value:
        return datetime.now(zone).date()
    try:
        return parse(value)
    except ValueError:
        raise UsageError(f"{option} expects {example}, got {value!r}") from None


# -- best posting windows ---------------------------------------------------------------------


def show_windows(service: CalendarService, entity: str | None, as_json: bool) -> None:
    """``--windows``: each entity's best posting windows (one entity with ``--entity``)."""
    chosen = [entity] if entity else service.entity_ids()
    found = {eid: service.best_windows(eid) for eid in chosen}
    if as_json:
        echo_json(
            {
                "count": sum(len(w) for w in found.values()),
                "windows": [w.as_dict() for ws in found.values() for w in ws],
            }
        )
        return
    for line in window_lines(service, found):
        click.echo(line)


def window_lines(service: CalendarService, found: dict[str, list[PostingWindow]]) -> list[str]:
    lines: list[str] = []
    for entity_id, windows in found.items():
        if lines:
            lines.append("")
        lines.append(f"{entity_id} ({service.entity_zone(entity_id)})")
        lines += [f"  {_window_line(w)}" for w in windows] or ["  (no posting slots or posts)"]
    return lines or ["(no entities)"]


def _window_line(window: PostingWindow) -> str:
    counts = _counts(((window.slots, "slot"), (window.posts, "published post")))
    return (
        f"{window.platform:<10} #{window.rank}  {window.day} {window.start}-{window.end}  {counts}"
    )


def _counts(parts: Sequence[tuple[int, str]]) -> str:
    return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in parts if n)
