"""Cron parsing and fire times, including the documented DST behaviour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sopbench.cron import load_zone, parse_cron

DENVER = ZoneInfo("America/Denver")
BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def fires(expr: str, zone: ZoneInfo, after: datetime, count: int) -> list[str]:
    """The next ``count`` fire times as local ISO strings (with offsets)."""
    cron = parse_cron(expr)
    found = []
    for _ in range(count):
        nxt = cron.next_after(after, zone)
        assert nxt is not None
        assert nxt.tzinfo is UTC
        found.append(nxt.astimezone(zone).isoformat())
        after = nxt
    return found


# -- parsing -----------------------------------------------------------------


def test_fields() -> None:
    cron = parse_cron("0,30 9-17/2 1,15 JAN-MAR MON-FRI")
    assert cron.minutes == {0, 30}
    assert cron.hours == {9, 11, 13, 15, 17}
    assert cron.days == {1, 15}
    assert cron.months == {1, 2, 3}
    assert cron.weekdays == {1, 2, 3, 4, 5}
    assert cron.days_restricted and cron.weekdays_restricted
    assert cron.text == "0,30 9-17/2 1,15 JAN-MAR MON-FRI"


def test_stars_and_steps() -> None:
    cron = parse_cron("*/15 * * * *")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == set(range(24))
    assert cron.days == set(range(1, 32))
    assert not cron.days_restricted and not cron.weekdays_restricted
    assert parse_cron("5/20 * * * *").minutes == {5, 25, 45}
    assert parse_cron("10-40/15 * * * *").minutes == {10, 25, 40}


def test_names_are_case_insensitive_and_sunday_is_0_or_7() -> None:
    assert parse_cron("0 9 * jan,Dec sun").months == {1, 12}
    assert parse_cron("0 9 * * SUN").weekdays == {0}
    assert parse_cron("0 9 * * 7").weekdays == {0}
    assert parse_cron("0 9 * * 5-7").weekdays == {5, 6, 0}
    assert parse_cron("0 9 * * SAT").weekdays == {6}


@pytest.mark.parametrize(
    ("macro", "same_as"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros(macro: str, same_as: str) -> None:
    a, b = parse_cron(macro), parse_cron(same_as)
    assert (a.minutes, a.hours, a.days, a.months, a.weekdays) == (
        b.minutes,
        b.hours,
        b.days,
        b.months,
        b.weekdays,
    )
    assert a.text == macro


def test_extra_spaces_are_fine() -> None:
    assert parse_cron("  0   9 * *   MON ").weekdays == {1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 9 * *", "has 4 field(s); expected 5"),
        ("0 9 * * MON 2027", "has 6 field(s); expected 5"),
        ("", "has 0 field(s); expected 5"),
        ("@reboot", "has 1 field(s); expected 5"),
        ("61 * * * *", "cron minute: 61 is outside 0-59"),
        ("0 24 * * *", "cron hour: 24 is outside 0-23"),
        ("0 0 0 * *", "cron day of month: 0 is outside 1-31"),
        ("0 0 32 * *", "cron day of month: 32 is outside 1-31"),
        ("0 0 * 13 *", "cron month: 13 is outside 1-12"),
        ("0 0 * 0 *", "cron month: 0 is outside 1-12"),
        ("0 0 * * 8", "cron day of week: 8 is outside 0-7"),
        ("0 0 * * FUNDAY", "cron day of week: 'FUNDAY' is not a number or a name SUN-SAT"),
        ("0 0 * FOO *", "cron month: 'FOO' is not a number or a name JAN-DEC"),
        ("x 0 * * *", "cron minute: 'x' is not a number"),
        ("*/0 * * * *", "cron minute: step '0' must be a positive number"),
        ("*/x * * * *", "cron minute: step 'x' must be a positive number"),
        ("0 */ * * *", "cron hour: step '' must be a positive number"),
        ("0 17-9 * * *", "cron hour: range '17-9' runs backwards"),
        ("-1 * * * *", "cron minute: '-1' is not a range like 1-5"),
        ("1- * * * *", "cron minute: '1-' is not a range like 1-5"),
        ("1,,2 * * * *", "cron minute: empty list item in '1,,2'"),
        ("0 0 31 2 *", "cron '0 0 31 2 *' never fires: no month has such a day"),
        ("0 0 30,31 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_cron(text)
    assert message in str(caught.value)


def test_not_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="a cron expression is text"):
        parse_cron(5)  # type: ignore[arg-type]


def test_days_that_exist_in_some_month_are_fine() -> None:
    parse_cron("0 0 31 1-12 *")
    parse_cron("0 0 30 2,4 *")
    parse_cron("0 0 29 2 *")  # leap years
    parse_cron("0 0 30 2 MON")  # day-of-week makes it fire (OR rule)


# -- zones ---------------------------------------------------------------------


def test_load_zone() -> None:
    assert load_zone("America/Denver") == DENVER
    assert load_zone("UTC") == ZoneInfo("UTC")
    for bad in ("Mars/Olympus", "Mountain Time", "", "../etc/passwd", "America/"):
        with pytest.raises(ValueError, match="unknown time zone"):
            load_zone(bad)


# -- fire times ----------------------------------------------------------------


def test_next_after_is_strictly_after() -> None:
    cron = parse_cron("0 9 * * *")
    at_nine = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
    assert cron.next_after(at_nine, ZoneInfo("UTC")) == datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
    just_before = at_nine - timedelta(seconds=1)
    assert cron.next_after(just_before, ZoneInfo("UTC")) == at_nine


def test_next_after_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_cron("* * * * *").next_after(datetime(2027, 1, 1), DENVER)


def test_fire_times_are_local_to_the_zone() -> None:
    after = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)  # a Monday, before 09:00 in Denver
    assert fires("0 9 * * MON", DENVER, after, 2) == [
        "2027-01-04T09:00:00-07:00",
        "2027-01-11T09:00:00-07:00",
    ]
    assert fires("0 9 * * MON", BERLIN, after, 1) == ["2027-01-04T09:00:00+01:00"]


def test_month_and_year_rollover() -> None:
    after = local(DENVER, 2027, 12, 31, 23, 59)
    assert fires("0 0 1 * *", DENVER, after, 2) == [
        "2028-01-01T00:00:00-07:00",
        "2028-02-01T00:00:00-07:00",
    ]


def test_leap_day_schedule() -> None:
    assert fires("0 0 29 2 *", BERLIN, datetime(2027, 1, 1, tzinfo=UTC), 2) == [
        "2028-02-29T00:00:00+01:00",
        "2032-02-29T00:00:00+01:00",
    ]


def test_day_of_month_or_day_of_week() -> None:
    # Both restricted: the 13th OR any Friday (Vixie cron).
    got = fires("0 0 13 * FRI", BERLIN, datetime(2027, 1, 1, tzinfo=UTC), 5)
    days = [date.fromisoformat(g[:10]) for g in got]
    assert days == [
        date(2027, 1, 8),
        date(2027, 1, 13),
        date(2027, 1, 15),
        date(2027, 1, 22),
        date(2027, 1, 29),
    ]
    # Only one restricted: both must match (a star means "any").
    got = fires("0 0 * * FRI", BERLIN, datetime(2027, 1, 1, tzinfo=UTC), 2)
    assert [g[:10] for g in got] == ["2027-01-08", "2027-01-15"]
    got = fires("0 0 13 * *", BERLIN, datetime(2027, 1, 1, tzinfo=UTC), 2)
    assert [g[:10] for g in got] == ["2027-01-13", "2027-02-13"]
    # A */n day field counts as unrestricted, as in Vixie cron.
    got = fires("0 0 */10 * MON", BERLIN, datetime(2027, 1, 1, tzinfo=UTC), 3)
    assert [g[:10] for g in got] == ["2027-01-11", "2027-02-01", "2027-03-01"]


# Denver: 2027-03-14 02:00 -> 03:00 (spring), 2027-11-07 02:00 -> 01:00 (autumn).
# Berlin: 2027-03-28 02:00 -> 03:00 (spring), 2027-10-31 03:00 -> 02:00 (autumn).


@pytest.mark.parametrize(
    ("zone", "day_before", "expected"),
    [
        (
            DENVER,
            datetime(2027, 3, 13, 12, tzinfo=UTC),
            ["2027-03-14T03:00:00-06:00", "2027-03-15T02:30:00-06:00"],
        ),
        (
            BERLIN,
            datetime(2027, 3, 27, 12, tzinfo=UTC),
            ["2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"],
        ),
    ],
)
def test_skipped_local_time_fires_once_at_the_next_valid_minute(
    zone: ZoneInfo, day_before: datetime, expected: list[str]
) -> None:
    assert fires("30 2 * * *", zone, day_before, 2) == expected


def test_every_skipped_slot_collapses_into_one_fire() -> None:
    after = local(DENVER, 2027, 3, 14, 1, 0)
    assert fires("*/30 * * * *", DENVER, after, 4) == [
        "2027-03-14T01:30:00-07:00",
        "2027-03-14T03:00:00-06:00",  # 02:00 and 02:30 do not exist: one fire
        "2027-03-14T03:30:00-06:00",
        "2027-03-14T04:00:00-06:00",
    ]


@pytest.mark.parametrize(
    ("zone", "expr", "day_before", "expected"),
    [
        (
            DENVER,
            "30 1 * * *",
            datetime(2027, 11, 6, 12, tzinfo=UTC),
            ["2027-11-07T01:30:00-06:00", "2027-11-08T01:30:00-07:00"],
        ),
        (
            BERLIN,
            "30 2 * * *",
            datetime(2027, 10, 30, 12, tzinfo=UTC),
            ["2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"],
        ),
    ],
)
def test_repeated_local_time_fires_once_at_its_first_occurrence(
    zone: ZoneInfo, expr: str, day_before: datetime, expected: list[str]
) -> None:
    assert fires(expr, zone, day_before, 2) == expected


def test_no_second_fire_during_the_repeated_hour() -> None:
    # 01:45 MDT has fired; at 01:10 MST (the repeat) the next fire is tomorrow.
    cron = parse_cron("45 1 * * *")
    second_pass = local(DENVER, 2027, 11, 7, 1, 10, fold=1)
    assert second_pass.utcoffset() == timedelta(hours=-7)
    nxt = cron.next_after(second_pass, DENVER)
    assert nxt is not None
    assert nxt.astimezone(DENVER).isoformat() == "2027-11-08T01:45:00-07:00"


def test_repeated_hour_with_a_frequent_schedule() -> None:
    after = local(DENVER, 2027, 11, 7, 0, 0)
    assert fires("*/30 * * * *", DENVER, after, 5) == [
        "2027-11-07T00:30:00-06:00",
        "2027-11-07T01:00:00-06:00",
        "2027-11-07T01:30:00-06:00",
        "2027-11-07T02:00:00-07:00",  # the repeated 01:00 and 01:30 do not fire again
        "2027-11-07T02:30:00-07:00",
    ]


def test_utc_offsets_between_fires_are_one_day_except_across_dst() -> None:
    cron = parse_cron("0 9 * * *")
    after = datetime(2027, 3, 12, 0, tzinfo=UTC)
    first = cron.next_after(after, DENVER)
    assert first is not None
    second = cron.next_after(first, DENVER)
    third = cron.next_after(second, DENVER) if second else None
    assert second is not None and third is not None
    assert second - first == timedelta(days=1)
    assert third - second == timedelta(hours=23)  # the spring-forward day is short


def test_never_matching_day_combinations_return_none() -> None:
    # Feb 30 exists in no year, and the weekday field is unrestricted; parse_cron
    # refuses it, so build the impossible case by hand through dataclass replace.
    from dataclasses import replace

    cron = replace(parse_cron("0 0 1 2 *"), days=frozenset({30}))
    assert cron.next_after(datetime(2027, 1, 1, tzinfo=UTC), BERLIN) is None
