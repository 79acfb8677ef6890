"""The Calendar page: entries of the calendar service by day, in entity time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sopbench.scheduler import Scheduler
from sopbench.services.runs import RunService
from sopbench.testing.widgets import button, find_all, text_of
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
    assert page.start.value == datetime.now(UTC).date()
