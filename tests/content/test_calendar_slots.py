"""Posting slots, monthly themes and best posting windows of the content calendar.

The workspace's entities have slots at local times that daylight saving time
skips (02:30 on 2030-03-10 in Denver) or repeats (01:30 on 2030-11-03); posts
are real drafts in the real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sopbench.content.calendar import calendar_entries
from sopbench.content.drafts import Draft
from sopbench.errors import NotFound
from sopbench.model.workspace import Entity, PostingSlot
from sopbench.services.calendar import CalendarEntry, CalendarService
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer

from .calendar_home import MIXPOST_TOKEN, SLOTTED_ENTITIES, Home, make_home, utc


@pytest.fixture
def home(tmp_path: Path, database: Database, db_url: str) -> Iterator[Home]:
    with MixpostServer(token=MIXPOST_TOKEN) as mixpost:
        assert isinstance(mixpost, MixpostServer)
        yield make_home(tmp_path, database, db_url, mixpost.api_url, SLOTTED_ENTITIES)


@pytest.fixture
def calendar(home: Home) -> Iterator[CalendarService]:
    service = CalendarService(home.settings, workspace=home.runs.workspace, database=home.runs.db)
    yield service
    service.close()


def post(home: Home, platform: str, at: datetime, status: str, entity: str = "shop") -> Draft:
    """A draft of ``entity`` approved for ``at`` and marked ``status``."""
    drafts = home.content.drafts
    made = drafts.create(
        entity=entity, platform=platform, body=f"Post at {at}", author="eve", publish_at=at
    )
    drafts.approve(made.id, person="dana")
    return drafts.mark(made.id, status)


def slots(entries: list[CalendarEntry], platform: str) -> list[datetime]:
    return [e.when for e in entries if e.kind == "slot" and e.platform == platform]


def test_slots_keep_local_time_across_spring_forward(calendar: CalendarService) -> None:
    found = calendar.entries(utc(2030, 3, 1), utc(2030, 3, 20), entity="shop", kinds=["slot"])
    assert {e.entity for e in found} == {"shop"}
    assert slots(found, "x") == [
        utc(2030, 3, 3, 9, 30),  # 02:30 MST (-7)
        utc(2030, 3, 10, 9, 0),  # 02:30 does not exist: the first valid minute, 03:00 MDT
        utc(2030, 3, 17, 8, 30),  # 02:30 MDT (-6)
    ]
    assert slots(found, "facebook") == [
        utc(2030, 3, 3, 8, 30),
        utc(2030, 3, 10, 8, 30),  # 01:30 MST, before the jump
        utc(2030, 3, 17, 7, 30),
    ]
    assert slots(found, "linkedin") == [
        utc(2030, 3, 5, 16, 30),
        utc(2030, 3, 12, 15, 30),
        utc(2030, 3, 19, 15, 30),
    ]
    first = found[0]
    assert (first.kind, first.title, first.status, first.platform) == (
        "slot",
        "Posting slot: facebook",
        "open",
        "facebook",
    )
    assert (first.sop_id, first.run_id, first.ref_id) == (None, None, None)


def test_slots_take_the_first_of_a_repeated_hour_in_autumn(calendar: CalendarService) -> None:
    found = calendar.entries(utc(2030, 10, 27), utc(2030, 11, 11), entity="shop", kinds=["slot"])
    assert slots(found, "facebook") == [
        utc(2030, 10, 27, 7, 30),  # 01:30 MDT
        utc(2030, 11, 3, 7, 30),  # 01:30 happens twice: the first (MDT), not 08:30Z (MST)
        utc(2030, 11, 10, 8, 30),  # 01:30 MST
    ]
    # 02:30 exists once on the 3rd (after the repeated hour): MST from then on
    assert slots(found, "x") == [
        utc(2030, 10, 27, 8, 30),
        utc(2030, 11, 3, 9, 30),
        utc(2030, 11, 10, 9, 30),
    ]
    # range ends are exact: a slot at the start is in, one at the end is out
    edge = calendar.entries(utc(2030, 11, 3, 7, 30), utc(2030, 11, 3, 9, 30), kinds=["slot"])
    assert [(e.when, e.platform) for e in edge] == [(utc(2030, 11, 3, 7, 30), "facebook")]


def test_slots_of_every_entity_in_its_own_zone(calendar: CalendarService) -> None:
    # Berlin moves its clocks on 2030-03-31: 10:00 is 09:00Z in CET, 08:00Z in CEST
    found = calendar.entries(utc(2030, 3, 25), utc(2030, 4, 2), kinds=["slot"])
    agency = [e.when for e in found if e.entity == "agency"]
    assert agency == [utc(2030, 3, 25, 9), utc(2030, 4, 1, 8)]
    assert {e.entity for e in found} == {"shop", "agency"}
    assert [e.when for e in found] == sorted(e.when for e in found)


def test_slot_is_filled_by_a_post_near_it(home: Home, calendar: CalendarService) -> None:
    # linkedin slots (Tue 09:30 MDT = 15:30Z) on the 12th, 19th and 26th of March 2030
    near = post(home, "linkedin", utc(2030, 3, 12, 16, 45), "scheduled")
    post(home, "linkedin", utc(2030, 3, 19, 17, 31), "published")  # 2 h 1 min late: too far
    post(home, "x", utc(2030, 3, 19, 15, 30), "published")  # another platform
    post(home, "linkedin", utc(2030, 3, 19, 15, 0), "failed")  # failed posts fill nothing
    post(home, "linkedin", utc(2030, 3, 19, 15, 30), "published", entity="agency")
    edge = post(home, "linkedin", utc(2030, 3, 26, 13, 30), "published")  # exactly 2 h early
    found = calendar.entries(utc(2030, 3, 11), utc(2030, 3, 27), entity="shop", kinds=["slot"])
    linkedin = [(e.when, e.status, e.ref_id) for e in found if e.platform == "linkedin"]
    assert linkedin == [
        (utc(2030, 3, 12, 15, 30), "filled", near.id),
        (utc(2030, 3, 19, 15, 30), "open", None),
        (utc(2030, 3, 26, 15, 30), "filled", edge.id),
    ]
    # the post is outside the range, the slot inside: still filled
    late = calendar.entries(utc(2030, 3, 12, 15), utc(2030, 3, 12, 16), kinds=["slot"])
    assert [(e.status, e.ref_id) for e in late] == [("filled", near.id)]


def test_one_post_fills_one_slot(home: Home) -> None:
    # two x slots half an hour apart on Sunday 2030-03-17: 08:30Z and 09:00Z (MDT)
    shop = Entity(
        name="Corner Shop",
        timezone="America/Denver",
        posting_slots=[
            PostingSlot(day="SUN", time="02:30", platform="x"),
            PostingSlot(day="SUN", time="03:00", platform="x"),
        ],
    )
    only = post(home, "x", utc(2030, 3, 17, 8, 50), "published")
    found = calendar_entries(
        home.runs.db, utc(2030, 3, 17), utc(2030, 3, 18), entities={"shop": shop}, kinds=["slot"]
    )
    # the post is 20 min after the first slot and 10 min before the second: it fills that one
    assert [(e.when, e.status, e.ref_id) for e in found] == [
        (utc(2030, 3, 17, 8, 30), "open", None),
        (utc(2030, 3, 17, 9), "filled", only.id),
    ]
    second = post(home, "x", utc(2030, 3, 17, 9, 0), "scheduled")
    found = calendar_entries(
        home.runs.db, utc(2030, 3, 17), utc(2030, 3, 18), entities={"shop": shop}, kinds=["slot"]
    )
    # the nearest pairs first: the 09:00 post takes the 09:00 slot, 08:50 the 08:30 one
    assert [(e.status, e.ref_id) for e in found] == [("filled", only.id), ("filled", second.id)]


def test_one_theme_per_entity_and_month(calendar: CalendarService) -> None:
    found = calendar.entries(utc(2030, 3, 20), utc(2030, 5, 5), kinds=["theme"])
    assert [(e.when, e.entity, e.title) for e in found] == [
        (utc(2030, 2, 28, 23), "agency", "Theme: Agency March"),  # 1 March 00:00 CET
        (utc(2030, 3, 1, 7), "shop", "Theme: Spring cleaning"),  # 1 March 00:00 MST
        (utc(2030, 5, 1, 6), "shop", "Theme: Garden month"),  # 1 May 00:00 MDT; April has none
    ]
    assert {(e.kind, e.status, e.platform, e.ref_id) for e in found} == {
        ("theme", "planned", None, None)
    }
    # a month counts when it overlaps the range: not when it ends at its start or
    # starts at its end
    april = calendar.entries(utc(2030, 4, 1, 6), utc(2030, 5, 1, 6), entity="shop")
    assert [e for e in april if e.kind == "theme"] == []
    agency = calendar.entries(utc(2030, 3, 30), utc(2030, 3, 31), entity="agency")
    assert [(e.kind, e.title) for e in agency if e.kind == "theme"] == [
        ("theme", "Theme: Agency March")
    ]
    assert [
        e for e in calendar.entries(utc(2030, 3, 20), utc(2030, 5, 5)) if e.kind == "theme"
    ] == found


def test_without_entities_there_are_no_slots_or_themes(home: Home) -> None:
    found = calendar_entries(
        home.runs.db, utc(2030, 3, 1), utc(2030, 4, 1), kinds=["slot", "theme"]
    )
    assert found == []


def test_best_windows_from_slots_and_published_posts(home: Home, calendar: CalendarService) -> None:
    now = utc(2030, 4, 1)
    # 15:xx local on Wednesdays: twice in MDT, once in MST (a different UTC hour)
    post(home, "x", utc(2030, 3, 13, 21, 10), "published")  # 15:10 MDT
    post(home, "x", utc(2030, 3, 20, 21, 40), "published")  # 15:40 MDT
    post(home, "x", utc(2030, 1, 16, 22, 20), "published")  # 15:20 MST
    post(home, "x", utc(2029, 12, 4, 22, 20), "published")  # more than 90 days ago
    post(home, "x", utc(2030, 3, 27, 21, 30), "scheduled")  # not published
    post(home, "linkedin", utc(2030, 3, 12, 15, 45), "published")  # Tue 09:45 MDT
    post(home, "linkedin", utc(2030, 3, 15, 18), "published")  # one Friday post: no habit
    post(home, "x", utc(2030, 3, 13, 21, 10), "published", entity="agency")
    windows = calendar.best_windows("shop", now=now)
    assert [
        (w.platform, w.rank, w.day, w.start, w.end, w.slots, w.posts, w.basis) for w in windows
    ] == [
        ("facebook", 1, "SUN", "00:30", "02:30", 1, 0, "slots"),
        ("linkedin", 1, "TUE", "08:30", "10:45", 1, 1, "slots+posts"),
        ("x", 1, "WED", "14:10", "16:40", 0, 3, "posts"),
        ("x", 2, "SUN", "01:30", "03:30", 1, 0, "slots"),
    ]
    assert windows[2].label() == "WED 14:10-16:40 America/Denver"
    assert windows[2].as_dict() == {
        "entity": "shop",
        "platform": "x",
        "rank": 1,
        "day": "WED",
        "start": "14:10",
        "end": "16:40",
        "timezone": "America/Denver",
        "slots": 0,
        "posts": 3,
        "score": 3,
        "basis": "posts",
    }
    # the agency's one post is no habit; its slot is Monday 10:00 Berlin time
    assert [w.label() for w in calendar.best_windows("agency", now=now)] == [
        "MON 09:00-11:00 Europe/Berlin"
    ]
    with pytest.raises(NotFound, match="no entity 'shopp'"):
        calendar.best_windows("shopp")
    assert calendar.entity_ids() == ["agency", "shop"]
