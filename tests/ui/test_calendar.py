"""The Calendar page: entries of the calendar service by day, in entity time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sopbench.scheduler import Scheduler
from sopbench.services.runs import RunService
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.widgets import Table
from tests.ui.conftest import PageFactory


def test_calendar_shows_schedule_fires_of_the_reference_sops(make_page: PageFactory) -> None:
    page = make_page("calendar", query={"days": "30"})
    text = text_of(page)
    assert "schedule" in text
    assert "Nothing planned" not in text
    # 30 day cards and a table whose status line counts the entries
    assert text.count("item(s)") == 30


def test_calendar_filters_by_entity_and_kind(make_page: PageFactory, runs: RunService) -> None:
    Scheduler(runs).sync()
    page = make_page("calendar", query={"days": "30", "entity": "saas"})
    rows = page.body.children[1].children[1]  # the result box: strip, table
    table = rows
    entities = {r["entity"] for r in table.shown}
    assert entities <= {"saas"}, entities
    page.kinds.value = ("draft",)
    button(page, "Show").click()
    assert "Nothing planned in this range." in text_of(page)


def test_calendar_range_moves_with_the_start_day(make_page: PageFactory) -> None:
    page = make_page("calendar", query={"days": "7"})
    page.start.value = (datetime.now(UTC) + timedelta(days=400)).date()
    button(page, "Show").click()
    cards = [w for w in find_all(page) if "item(s)" in str(getattr(w, "value", ""))]
    assert cards, "the day strip is shown"
    assert text_of(page).count("item(s)") == 7


def test_calendar_bad_start_day_in_the_link_falls_back_to_today(make_page: PageFactory) -> None:
    page = make_page("calendar", query={"from": "not-a-day"})
    # today where it is earliest among the reference entities (New York to Denver)
    assert page.start.value == datetime.now(ZoneInfo("America/Denver")).date()
    page = make_page("calendar", query={"entity": "gov_contractor"})
    assert page.start.value == datetime.now(ZoneInfo("America/New_York")).date()


def _day_counts(page: Page) -> dict[str, int]:
    strip = page.body.children[1].children[0].value
    return {day: int(n) for day, n in re.findall(r">(\w{3} \d\d \w{3})<br>(\d+) item", strip)}


def test_calendar_days_are_the_entitys_local_days(make_page: PageFactory) -> None:
    # Summit PC & LAN (America/Denver) posts on Discord Wednesdays 17:00 local,
    # which is Thursday 00:00 UTC: the strip and the range go by the local day.
    page = make_page("calendar", query={"from": "2030-03-05", "days": "7"})
    page.entity.value = "computer_store"
    page.kinds.value = ("slot",)
    button(page, "Show").click()
    counts = _day_counts(page)
    assert counts["Wed 06 Mar"] == 1 and counts["Thu 07 Mar"] == 0
    assert counts["Sun 10 Mar"] == 1 and counts["Mon 11 Mar"] == 0  # 18:00 MDT, Mon 00:00 UTC
    page.start.value = date(2030, 3, 7)
    button(page, "Show").click()
    entries, _ = _result(page)
    assert "Wed 2030-03-06 17:00 MST" not in {r["local"] for r in entries.shown}


def _result(page: Page) -> tuple[Table, Table]:
    """The entries table and the posting-windows table of the page's result box."""
    result = page.body.children[1]
    entries, windows = result.children[1], result.children[2].children[1]
    assert isinstance(entries, Table) and isinstance(windows, Table)
    return entries, windows


def test_calendar_shows_slots_and_themes_of_the_entity(make_page: PageFactory) -> None:
    page = make_page("calendar", query={"from": "2030-03-05", "days": "7"})
    page.entity.value = "computer_store"
    page.kinds.value = ("slot", "theme")
    button(page, "Show").click()
    entries, _ = _result(page)
    shown = [(r["kind"], r["local"], r["title"], r["status"]) for r in entries.shown]
    assert shown == [
        # March's theme, from its 1st, though the range starts on the 5th
        ("theme", "Fri 2030-03-01 00:00 MST", "Theme: Spring LAN season", "planned"),
        ("slot", "Wed 2030-03-06 17:00 MST", "Posting slot: discord", "open"),
        ("slot", "Fri 2030-03-08 15:00 MST", "Posting slot: tiktok", "open"),
        ("slot", "Sat 2030-03-09 11:00 MST", "Posting slot: facebook", "open"),
        ("slot", "Sun 2030-03-10 18:00 MDT", "Posting slot: whatnot", "open"),  # after the jump
    ]
    assert "Posting slot: whatnot" in text_of(page)


def test_calendar_shows_best_posting_windows(make_page: PageFactory) -> None:
    page = make_page("calendar", query={"days": "7"})
    _, windows = _result(page)
    every = {(r["entity"], r["platform"], r["rank"], r["window"]) for r in windows.shown}
    assert ("gov_contractor", "linkedin", 1, "TUE 08:30-10:30 America/New_York") in every
    assert windows.total == 12  # every slot of the reference entities is a window of its own
    assert "Best posting windows" in text_of(page)
    page.entity.value = "saas"
    button(page, "Show").click()
    _, windows = _result(page)
    assert [(r["platform"], r["window"], r["basis"]) for r in windows.shown] == [
        ("email", "FRI 08:00-10:00 America/Chicago", "slots"),
        ("linkedin", "MON 09:00-11:00 America/Chicago", "slots"),
        ("x", "WED 11:00-13:00 America/Chicago", "slots"),
    ]
