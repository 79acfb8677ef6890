"""``calendar``: an agenda of posts, drafts, slots, themes, schedule fires, delays, tasks, media.

Days are calendar days of one time zone: ``--timezone``, else the entity's
(with ``--entity``), else the zone all entities share, else UTC. A day runs
from one local midnight to the next, so a daylight-saving day is 23 or 25
hours long and an entry is listed on the day its local time falls on.
``--week`` and ``--month`` are shorthands for one week (Monday to Sunday) or
month of such days; ``--windows`` shows the best posting windows instead
(:mod:`sopbench.cli.calendar_views`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from sopbench.cli._common import cli, echo_json, json_option, settings_of
from sopbench.cli.calendar_views import MERGED_KINDS, Span, show_windows, span_of

# The one import of a face below the services (an ignore of the "faces" contract in
# pyproject.toml): click needs the kind names when the command is declared, and the
# calendar service would load SQLAlchemy and the library on every CLI start.
from sopbench.content.calendar_types import KINDS
from sopbench.cron import load_zone
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.calendar import CalendarEntry, CalendarService

__all__ = ["agenda_lines", "day_start", "pick_zone"]

DEFAULT_DAYS = 14


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of local ``day`` (an aware datetime in ``zone``).

    Where a zone skips midnight (clocks jump at 00:00), the old offset names
    the instant of the jump, which is the day's true start.
    """
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(zone)


def pick_zone(service: CalendarService, explicit: str | None, entity: str | None) -> str:
    if explicit:
        return explicit
    if entity:
        return service.entity_zone(entity)
    zones = service.zones()
    return zones.pop() if len(zones) == 1 else "UTC"


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} expects a date like 2026-03-14, got {value!r}") from None


def _range(
    zone: ZoneInfo, first: str | None, last: str | None, days: int | None
) -> tuple[date, date]:
    """The first day and the day after the last (local dates)."""
    if last is not None and days is not None:
        raise UsageError("give --to or --days, not both")
    start = _date(first, "--from") or datetime.now(zone).date()
    end_day = _date(last, "--to")
    if end_day is not None:
        if end_day < start:
            raise UsageError(f"--to {end_day} is before --from {start}")
        return start, end_day + timedelta(days=1)
    count = DEFAULT_DAYS if days is None else days
    if count < 1:
        raise UsageError("--days must be at least 1")
    return start, start + timedelta(days=count)


def agenda_lines(entries: Sequence[CalendarEntry], zone: ZoneInfo) -> list[str]:
    """The entries as text, one block per local day."""
    lines: list[str] = []
    for day, group in groupby(entries, key=lambda e: e.when.astimezone(zone).date()):
        if lines:
            lines.append("")
        lines.append(day.strftime("%a %Y-%m-%d"))
        for entry in group:
            local = entry.when.astimezone(zone)
            where = "/".join(p for p in (entry.entity, entry.platform) if p) or "-"
            ref = entry.ref_id or entry.run_id or ""
            lines.append(
                f"  {local:%H:%M} {local.tzname() or ''}  {entry.kind:<12}  {where:<22}  "
                f"{entry.title}  [{entry.status}]  {ref}".rstrip()
            )
    return lines


@cli.command()
@click.option("--from", "first", default=None, metavar="DATE", help="First day (default: today).")
@click.option("--to", "last", default=None, metavar="DATE", help="Last day, included.")
@click.option(
    "--days",
    type=int,
    default=None,
    help=f"Number of days (default {DEFAULT_DAYS}), not with --to.",
)
@click.option(
    "--week",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[DATE]",
    help="The week (Mon-Sun) holding DATE (default: this week): posts, slots, themes, SOP runs.",
)
@click.option(
    "--month",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[YYYY-MM]",
    help="That month (default: this one), the same merged view as --week.",
)
@click.option(
    "--windows", is_flag=True, help="Show the best posting windows per entity and platform."
)
@click.option("--entity", default=None, help="Only this entity.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only these kinds (repeat).",
)
@click.option(
    "--timezone",
    default=None,
    help="IANA zone of the days (default: the entity's, or the zone all entities share).",
)
@json_option
@click.pass_context
def calendar(
    ctx: click.Context,
    first: str | None,
    last: str | None,
    days: int | None,
    week: str | None,
    month: str | None,
    windows: bool,
    entity: str | None,
    kinds: tuple[str, ...],
    timezone: str | None,
    as_json: bool,
) -> int:
    """What is planned, due or published when, grouped by day."""
    from sopbench.services.calendar import CalendarService

    if windows and (
        first or last or days is not None or week is not None or month is not None or kinds
    ):
        raise UsageError("--windows shows posting windows; give it no range or --kind")
    if (week is not None or month is not None) and (first or last or days is not None):
        raise UsageError("--week and --month are ranges of their own: no --from, --to or --days")
    service = CalendarService(settings_of(ctx))
    try:
        if windows:
            show_windows(service, entity, as_json)
            return 0
        name = pick_zone(service, timezone, entity)
        try:
            zone = load_zone(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        span = span_of(week, month, zone)
        if span is None:
            first_day, after_last = _range(zone, first, last, days)
        else:
            first_day, after_last = span.first, span.after
            kinds = kinds or MERGED_KINDS
        start, end = day_start(first_day, zone), day_start(after_last, zone)
        found = service.entries(start, end, entity=entity, kinds=kinds or None)
    finally:
        service.close()
    if as_json:
        echo_json(
            {
                "view": span.view if span else "days",
                "from": start.isoformat(),
                "to": end.isoformat(),
                "timezone": name,
                "count": len(found),
                "entries": [
                    {**e.as_dict(), "day": e.when.astimezone(zone).date().isoformat()}
                    for e in found
                ],
            }
        )
        return 0

    click.echo(
        f"{_heading(span)}{first_day} to {after_last - timedelta(days=1)} ({name}): "
        f"{len(found)} entries"
    )
    for line in agenda_lines(found, zone) or ["(nothing planned)"]:
        click.echo(line)
    return 0


def _heading(span: Span | None) -> str:
    return f"{span.name}, " if span else ""
