"""Five-field cron expressions in an IANA time zone, with defined DST behaviour.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
JAN-DEC), day of week (0-7 or SUN-SAT; 0 and 7 are Sunday). Each field takes
``*``, ``a``, ``a-b``, ``*/n``, ``a-b/n`` and comma lists; ``@hourly``,
``@daily``, ``@weekly``, ``@monthly`` and ``@yearly`` are shorthands. When
both day fields are restricted a day matching either fires (as in Vixie cron).

Daylight saving time, in the schedule's own zone:

* a local time that does not exist (the hour skipped in spring) fires once,
  at the first valid minute after the gap;
* a local time that happens twice (the hour repeated in autumn) fires once,
  at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CronExpr", "load_zone", "parse_cron"]

_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_MAX_DAYS = 366 * 8  # leap-day schedules fire at least every 8 years


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone, or ``ValueError`` naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as America/Denver or UTC"
        ) from None


def _number(text: str, low: int, high: int, names: list[str] | None, field: str) -> int:
    upper = text.upper()
    if names and upper in names:
        return names.index(upper) + (1 if names is _MONTHS else 0)
    if not text.isdigit():
        named = f" or a name {names[0]}-{names[-1]}" if names else ""
        raise ValueError(f"cron {field}: {text!r} is not a number{named}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"cron {field}: {value} is outside {low}-{high}")
    return value


def _parse_field(
    text: str, field: str, low: int, high: int, names: list[str] | None
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"cron {field}: empty list item in {text!r}")
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"cron {field}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            if not first or not last:
                raise ValueError(f"cron {field}: {body!r} is not a range like 1-5")
            start = _number(first, low, high, names, field)
            end = _number(last, low, high, names, field)
            if start > end:
                raise ValueError(f"cron {field}: range {body!r} runs backwards")
        else:
            start = _number(body, low, high, names, field)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpr:
    """A parsed cron expression; :meth:`next_after` gives fire times."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def _local_times(self, start: datetime) -> list[datetime]:
        """Matching naive local times of ``start``'s day at or after ``start``."""
        found = []
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                candidate = datetime.combine(start.date(), time(hour, minute))
                if candidate >= start:
                    found.append(candidate)
        return found

    def next_after(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), in UTC; None if never."""
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        day_start = local
        for _ in range(_MAX_DAYS):
            if self.matches_day(day_start.date()):
                for naive in self._local_times(day_start):
                    instant = _instant(naive, zone)
                    if instant > after:
                        return instant
            day_start = datetime.combine(day_start.date() + timedelta(days=1), time(0, 0))
        return None


def _instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: first occurrence; gaps move forward."""
    aware = naive.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == naive:
        return utc
    # Nonexistent (skipped) local time: the first valid minute after the gap is
    # the instant at which the clocks jumped forward.
    later = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    earlier = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    probe = min(earlier, later)
    while probe.astimezone(zone).replace(tzinfo=None) < naive:
        probe += timedelta(minutes=1)
    return probe.replace(second=0, microsecond=0)


def parse_cron(text: str) -> CronExpr:
    """Parse ``text``; ``ValueError`` with a readable reason when it is not valid."""
    if not isinstance(text, str):
        raise ValueError("a cron expression is text such as '0 9 * * MON'")
    source = _MACROS.get(text.strip().lower(), text.strip())
    parts = source.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron {text!r} has {len(parts)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week (e.g. '0 9 * * MON')"
        )
    sets = [
        _parse_field(part, name, low, high, names)
        for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(day % 7 for day in sets[4])
    expr = CronExpr(
        text=text,
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        days_restricted=parts[2] != "*" and not parts[2].startswith("*/"),
        weekdays_restricted=parts[4] != "*" and not parts[4].startswith("*/"),
    )
    if not expr.weekdays_restricted and not any(
        day <= _days_in(month) for month in expr.months for day in expr.days
    ):
        raise ValueError(f"cron {text!r} never fires: no month has such a day")
    return expr


def _days_in(month: int) -> int:
    return 29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31
