"""The content calendar over a real workspace and database.

Runs go through the real engine (delay, approval, content_generate →
social_post via the Mixpost double); drafts and media requests through their
services. Times are read back from the store and compared with what the
calendar says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sopbench.content.calendar import MAX_FIRES_PER_SCHEDULE, calendar_entries
from sopbench.content.media import MediaService
from sopbench.content.prompts import load_prompt_library
from sopbench.errors import InputError, NotFound
from sopbench.scheduler import Scheduler
from sopbench.services.calendar import KINDS, CalendarEntry, CalendarService
from sopbench.store import Database, utcnow
from sopbench.testing.servers import MixpostServer
from tests.integrations.test_media_service import write_workspace as write_prompts

from .calendar_home import MIXPOST_TOKEN, Home, make_home, utc


@pytest.fixture
def mixpost() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        assert isinstance(server, MixpostServer)
        yield server


@pytest.fixture
def home(tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer) -> Home:
    return make_home(tmp_path, database, db_url, mixpost.api_url)


@pytest.fixture
def calendar(home: Home) -> Iterator[CalendarService]:
    service = CalendarService(home.settings, workspace=home.runs.workspace, database=home.runs.db)
    yield service
    service.close()


def by_ref(entries: list[CalendarEntry]) -> dict[tuple[str, str | None], CalendarEntry]:
    return {(e.kind, e.ref_id or e.run_id): e for e in entries}


def test_every_kind_appears_at_its_time(home: Home, calendar: CalendarService) -> None:
    runs, drafts = home.runs, home.content.drafts
    before = utcnow()
    # content_generate → review → social_post scheduling the post for a later time
    promo = runs.start("promo", {"at": "2030-03-09T18:00:00Z"}).run.id
    [promo_draft] = drafts.find(run_id=promo)
    assert home.content.approve(promo_draft.id, person="dana")["run_status"] == "succeeded"
    assert drafts.get(promo_draft.id).status == "scheduled"
    assert drafts.get(promo_draft.id).publish_at is None  # the time lives in the step only
    planned = drafts.create(
        entity="shop",
        platform="x",
        body="Spring hours start Monday.\nSee you there.",
        author="eve",
        publish_at=utc(2030, 3, 8, 17, 0),
        status="in_review",
    )
    waiting = drafts.create(entity="agency", platform="linkedin", body="Hiring!", author="eve")
    out = drafts.create(entity="shop", platform="x", body="Open today", author="eve")
    drafts.approve(out.id, person="dana")
    out = drafts.mark(out.id, "published", post_id="p-1")
    dropped = drafts.create(entity="shop", platform="x", body="Nope", author="eve")
    drafts.reject(dropped.id, person="dana")
    nap = runs.start("nap", {"at": "2030-03-09T20:00:00Z"}).run
    assert (nap.status, nap.wait_kind) == ("waiting", "delay")
    signed = runs.start("sign_off", {}, started_by="eve").run.id
    [task] = [t for t in runs.tasks() if t.run_id == signed]
    write_prompts(home.home)
    media = MediaService(home.runs.db, home.settings, library=load_prompt_library(home.home))
    asked = media.request("shop", "cs_lan_teaser", requested_by="eve")
    refused = media.reject(media.request("shop", "cs_lan_square").id, by="dana")
    after = utcnow()

    soon = by_ref(calendar.entries(before - timedelta(minutes=1), after + timedelta(days=3)))
    assert soon[("draft", waiting.id)].when == waiting.created_at
    assert soon[("draft", waiting.id)].status == "draft"
    assert soon[("post", out.id)].when == drafts.get(out.id).updated_at
    assert soon[("post", out.id)].status == "published"
    due = soon[("approval_due", task.id)]
    assert due.when == task.due_at and before + timedelta(hours=48) <= due.when
    assert (due.sop_id, due.run_id, due.title, due.status) == (
        "sign_off",
        signed,
        "Approve the budget",
        "open",
    )
    assert soon[("media", asked.id)].when == asked.created_at
    assert soon[("media", asked.id)].title == "sora: LAN night teaser"
    assert soon[("media", refused.id)].when == media.get(refused.id).updated_at
    assert soon[("media", refused.id)].status == "rejected"
    assert not any(e.ref_id == dropped.id for e in soon.values())  # rejected: not planned

    later = calendar.entries(utc(2030, 3, 8), utc(2030, 3, 12))
    assert [e.when for e in later] == sorted(e.when for e in later)
    found = by_ref(later)
    post = found[("post", promo_draft.id)]
    assert (post.when, post.status, post.platform) == (utc(2030, 3, 9, 18), "scheduled", "facebook")
    assert (post.sop_id, post.run_id, post.entity) == ("promo", promo, "shop")
    assert post.title == "News from Corner Shop: Weekend sale on refurbished laptops."
    draft = found[("draft", planned.id)]
    assert (draft.when, draft.title, draft.status) == (
        utc(2030, 3, 8, 17),
        "Spring hours start Monday.",
        "in_review",
    )
    delay = found[("delay", nap.id)]
    assert (delay.when, delay.title, delay.sop_id) == (
        utc(2030, 3, 9, 20),
        "Follow up later resumes after pause",
        "nap",
    )
    # 09:00 in Denver: 16:00Z on standard time, 15:00Z once DST started on 2030-03-10
    daily = [e.when for e in later if e.kind == "schedule" and e.sop_id == "daily"]
    assert daily == [
        utc(2030, 3, 8, 16),
        utc(2030, 3, 9, 16),
        utc(2030, 3, 10, 15),
        utc(2030, 3, 11, 15),
    ]
    first = next(e for e in later if e.sop_id == "daily")
    assert (first.ref_id, first.status, first.entity) == ("trg-daily-0", "planned", "shop")
    assert first.title == "Daily stock check (0 9 * * *, America/Denver)"
    assert first.as_dict()["when"] == "2030-03-08T16:00:00+00:00"
    assert set(first.as_dict()) == {
        "when",
        "kind",
        "entity",
        "sop_id",
        "run_id",
        "ref_id",
        "title",
        "status",
        "platform",
    }
    assert all(e.when.utcoffset() == timedelta(0) for e in later)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_range_entity_and_kind_filters(home: Home, calendar: CalendarService) -> None:
    shop = home.runs.start("nap", {"at": "2030-05-01T12:00:00Z"}).run.id
    agency = home.runs.start("agency_nap", {"at": "2030-05-01T13:00:00Z"}).run.id
    delays = ["delay"]
    # start is included, end is not
    only = calendar.entries(utc(2030, 5, 1, 12), utc(2030, 5, 1, 13), kinds=delays)
    assert [e.run_id for e in only] == [shop]
    day = calendar.entries(utc(2030, 5, 1), utc(2030, 5, 2))
    assert {e.kind for e in day} == {"delay", "schedule"}
    agency_day = calendar.entries(utc(2030, 5, 1), utc(2030, 5, 2), entity="agency")
    assert {(e.kind, e.sop_id) for e in agency_day} == {
        ("delay", "agency_nap"),
        ("schedule", "agency_daily"),
    }
    assert [e.when for e in agency_day if e.kind == "schedule"] == [utc(2030, 5, 1, 8)]  # CEST
    assert agency in {e.run_id for e in agency_day}
    schedules_only = calendar.entries(utc(2030, 5, 1), utc(2030, 5, 2), kinds=["schedule"])
    assert {e.sop_id for e in schedules_only} == {"daily", "agency_daily"}
    with pytest.raises(NotFound, match=r"no entity 'agencyy'.*did you mean 'agency'"):
        calendar.entries(utc(2030, 5, 1), utc(2030, 5, 2), entity="agencyy")
    with pytest.raises(InputError, match="unknown calendar kind"):
        calendar.entries(utc(2030, 5, 1), utc(2030, 5, 2), kinds=["posts"])
    with pytest.raises(InputError, match="has no time zone"):
        calendar.entries(datetime(2030, 5, 1), utc(2030, 5, 2))
    with pytest.raises(InputError, match="before it starts"):
        calendar.entries(utc(2030, 5, 2), utc(2030, 5, 1))
    # new kinds were appended: the old ones keep their place
    assert KINDS == ("post", "draft", "schedule", "delay", "approval_due", "media", "slot", "theme")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_recorded_fires_and_synced_schedules(home: Home, calendar: CalendarService) -> None:
    scheduler = Scheduler(home.runs)
    scheduler.sync(now=utc(2030, 3, 9))
    every_minute = scheduler.add("daily", "* * * * *", now=utc(2030, 3, 9))
    result = scheduler.tick(now=utc(2030, 3, 9, 16, 0, 30), sync=False)
    fired = {f.schedule_id: f for f in result.fires}
    assert fired["trg-daily-0"].status == "fired"
    entries = calendar.entries(utc(2030, 3, 9), utc(2030, 3, 10), kinds=["schedule"])
    daily = [e for e in entries if e.ref_id == "trg-daily-0"]
    assert [(e.when, e.status, e.run_id) for e in daily] == [
        (utc(2030, 3, 9, 16), "fired", fired["trg-daily-0"].run_id)
    ]  # the recorded fire, and no planned one at the same time
    agency = [e for e in entries if e.ref_id == "trg-agency_daily-0"]
    assert [(e.when, e.status) for e in agency] == [(utc(2030, 3, 9, 9), "fired")]
    minutes = [e for e in entries if e.ref_id == every_minute.id and e.status == "planned"]
    assert len(minutes) == 479  # 16:01 to 23:59, from its next fire time on
    # an every-minute schedule is capped: not 2,880 entries in two days
    two_days = calendar.entries(utc(2030, 3, 10), utc(2030, 3, 12), kinds=["schedule"])
    assert sum(e.ref_id == every_minute.id for e in two_days) == MAX_FIRES_PER_SCHEDULE
    assert minutes[0].when == utc(2030, 3, 9, 16, 1)  # its next fire after the tick
    scheduler.pause(every_minute.id)
    paused = calendar.entries(utc(2030, 3, 9, 17), utc(2030, 3, 10), kinds=["schedule"])
    assert every_minute.id not in {e.ref_id for e in paused}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_pure_query_without_a_workspace(home: Home) -> None:
    home.runs.start("nap", {"at": "2030-05-01T12:00:00Z"})
    found = calendar_entries(home.runs.db, utc(2030, 5, 1), utc(2030, 5, 2))
    assert [(e.kind, e.sop_id, e.title) for e in found] == [
        ("delay", "nap", "nap resumes after pause")
    ]
    assert calendar_entries(home.runs.db, utc(2030, 5, 1), utc(2030, 5, 2), entity="x") == []
