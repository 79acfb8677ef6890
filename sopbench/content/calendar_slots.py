"""Calendar entries of ``entities.yaml``: weekly posting ``slot``\\ s and monthly ``theme``\\ s.

``slot``
    Each occurrence of an entity's weekly posting slot (``posting_slots``:
    day, local ``HH:MM``, platform) inside the range. The local time is read
    in the entity's own time zone and turned into UTC with the scheduler's
    daylight-saving rules (a slot is the cron ``MM HH * * DAY``):

    * a local time that does not exist (it falls in the hour skipped in
      spring) moves to the first valid minute after the gap: a 02:30 slot
      on the day Denver jumps from 02:00 MST to 03:00 MDT is at 03:00 MDT;
    * a local time that happens twice (the hour repeated in autumn) is its
      first occurrence: a 01:30 slot on the day Denver falls back is at
      01:30 MDT, not 01:30 MST.

    A slot is ``filled`` when a post of the same entity and platform that is
    ``scheduled`` or ``published`` lies within :data:`SLOT_TOLERANCE` of it,
    else ``open``. Each post fills at most one slot (the nearest one), so two
    slots an hour apart need two posts; a filled slot's ``ref_id`` is the
    draft that fills it.
``theme``
    One entry per entity and month that overlaps the range and has a theme
    in ``monthly_themes``, at 00:00 local time on the 1st of that month. The
    entry is listed even when the 1st lies before the range (a week in the
    middle of March still shows March's theme), so its ``when`` may be
    earlier than the range's start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sopbench.content.calendar_drafts import CalendarReads, draft_entries
from sopbench.content.calendar_types import CalendarEntry, Window
from sopbench.cron import load_zone, parse_cron
from sopbench.model.workspace import Entity, PostingSlot

__all__ = ["FILLING_STATUSES", "SLOT_TOLERANCE", "slot_entries", "slot_times", "theme_entries"]

SLOT_TOLERANCE = timedelta(hours=2)
"""How far from a slot a post may be and still fill it (either side, inclusive)."""
FILLING_STATUSES = ("scheduled", "published")
"""Posts that fill a slot; a failed post leaves it open."""


def slot_times(slot: PostingSlot, zone_name: str, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants of ``slot`` with ``start <= when < end`` (see the module's DST rules)."""
    hour, minute = (int(part) for part in slot.time.split(":"))
    # the scheduler's cron arithmetic, so slots and schedule fires agree on DST
    expr, zone = parse_cron(f"{minute} {hour} * * {slot.day}"), load_zone(zone_name)
    found: list[datetime] = []
    current = expr.next_after(start - timedelta(microseconds=1), zone)
    while current is not None and current < end:
        found.append(current)
        current = expr.next_after(current, zone)
    return found


def _entities(window: Window, entities: Mapping[str, Entity]) -> Iterator[tuple[str, Entity]]:
    for entity_id, entity in sorted(entities.items()):
        if window.entity is None or window.entity == entity_id:
            yield entity_id, entity


def slot_entries(
    reads: CalendarReads, window: Window, entities: Mapping[str, Entity]
) -> list[CalendarEntry]:
    """Every slot occurrence in ``window``, ``open`` or ``filled`` by a post."""
    planned: list[tuple[datetime, str, str]] = []
    for entity_id, entity in _entities(window, entities):
        for slot in entity.posting_slots:
            for when in slot_times(slot, entity.timezone, window.start, window.end):
                planned.append((when, entity_id, slot.platform))
    if not planned:
        return []
    fills = _fill(planned, _posts(reads, window))
    return [
        CalendarEntry(
            when=when,
            kind="slot",
            entity=entity_id,
            sop_id=None,
            run_id=None,
            ref_id=fills.get(index),
            title=f"Posting slot: {platform}",
            status="filled" if index in fills else "open",
            platform=platform,
        )
        for index, (when, entity_id, platform) in enumerate(planned)
    ]


def _posts(reads: CalendarReads, window: Window) -> list[CalendarEntry]:
    """Posts that may fill a slot of ``window``: the range widened by the tolerance."""
    wide = Window(
        start=window.start - SLOT_TOLERANCE,
        end=window.end + SLOT_TOLERANCE + timedelta(microseconds=1),
        entity=window.entity,
        sops=window.sops,
    )
    return [
        e
        for e in draft_entries(reads, wide)
        if e.kind == "post" and e.status in FILLING_STATUSES and wide.holds(e.when)
    ]


def _fill(planned: list[tuple[datetime, str, str]], posts: list[CalendarEntry]) -> dict[int, str]:
    """Slot index → the draft filling it; nearest pairs first, one post per slot."""
    pairs = sorted(
        (abs(post.when - when), index, post.ref_id or "")
        for index, (when, entity_id, platform) in enumerate(planned)
        for post in posts
        if post.entity == entity_id
        and (post.platform or "").lower() == platform.lower()
        and abs(post.when - when) <= SLOT_TOLERANCE
    )
    fills: dict[int, str] = {}
    used: set[str] = set()
    for _, index, draft_id in pairs:
        if index not in fills and draft_id not in used:
            fills[index] = draft_id
            used.add(draft_id)
    return fills


def theme_entries(window: Window, entities: Mapping[str, Entity]) -> list[CalendarEntry]:
    """One entry per entity and themed month overlapping ``window``."""
    found: list[CalendarEntry] = []
    for entity_id, entity in _entities(window, entities):
        if not entity.monthly_themes:
            continue
        zone = load_zone(entity.timezone)
        month = window.start.astimezone(zone).date().replace(day=1)
        while (begins := _month_start(month, zone)) < window.end:
            after = _next_month(month)
            theme = entity.monthly_themes.get(month.month)
            if theme and _month_start(after, zone) > window.start:
                found.append(_theme(begins, entity_id, theme))
            month = after
    return found


def _next_month(first: date) -> date:
    if first.month == 12:
        return first.replace(year=first.year + 1, month=1)
    return first.replace(month=first.month + 1)


def _month_start(first: date, zone: ZoneInfo) -> datetime:
    """00:00 local on ``first`` (or the first valid minute, if midnight is skipped)."""
    expr = parse_cron(f"0 0 {first.day} {first.month} *")
    day_before = datetime.combine(first - timedelta(days=1), time(12, 0), tzinfo=zone)
    instant = expr.next_after(day_before, zone)
    assert instant is not None  # the 1st of every month exists
    return instant


def _theme(when: datetime, entity_id: str, theme: str) -> CalendarEntry:
    return CalendarEntry(
        when=when,
        kind="theme",
        entity=entity_id,
        sop_id=None,
        run_id=None,
        ref_id=None,
        title=f"Theme: {theme}",
        status="planned",
        platform=None,
    )
