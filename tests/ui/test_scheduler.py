"""The Scheduler page over the reference workspace, on SQLite and PostgreSQL.

Pause and resume are clicked on the page and checked with the real
``sopbench schedule list`` command (a subprocess over the same database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ipywidgets as widgets
from sqlalchemy import select

from sopbench.config import Settings
from sopbench.model.sop import ScheduleTrigger
from sopbench.scheduler import Scheduler, trigger_id
from sopbench.services.runs import RunService
from sopbench.store.tables import events
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.pages.scheduler import local_time
from sopbench.ui.widgets import fmt_time
from tests.ui.conftest import PageFactory

ARRIVALS = "trg-cs_new_arrivals-0"  # cron "0 10 * * THU", America/Denver, catchup none


def _cli_states(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "SOPBENCH_DB_URL": settings.db_url, "SOPBENCH_SANDBOX_FILE": "off"}
    command = ["schedule", "list", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(settings.home), *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {row["id"]: row["state"] for row in json.loads(done.stdout)}


def _table(page: Page, name: str) -> Any:
    (table,) = find_all(page, css=f"sb-table-{name}")
    return table


def _row_button(page: Page, label: str, schedule_id: str) -> Any:
    table = _table(page, "schedules")
    index = [r["id"] for r in table.shown].index(schedule_id)
    return button(table, label, index=index)


def _notices(page: Page, kind: str) -> str:
    return "\n".join(text_of(n) for n in find_all(page, css=f"sb-notice-{kind}"))


def test_lists_the_trigger_schedules_of_the_sop_files(
    make_page: PageFactory, runs: RunService
) -> None:
    page = make_page("scheduler")
    table = _table(page, "schedules")
    triggers = {
        trigger_id(sop.sop_id, i)
        for sop in runs.workspace.sops.values()
        for i, t in enumerate(sop.triggers)
        if isinstance(t, ScheduleTrigger)
    }
    assert len(triggers) >= 7
    assert {r["id"] for r in table.shown} == triggers
    row = next(r for r in table.shown if r["id"] == ARRIVALS)
    assert (row["cron"], row["timezone"], row["catchup"], row["source"], row["state"]) == (
        "0 10 * * THU",
        "America/Denver",
        "none",
        "trigger",
        "active",
    )
    local = row["next_fire_at"].astimezone(ZoneInfo("America/Denver"))
    assert row["next_local"] == local.strftime("%Y-%m-%d 10:00 %Z")
    text = text_of(page)
    assert row["next_local"] in text and fmt_time(row["next_fire_at"]) in text
    assert "This week's tested arrivals" in text  # the trigger's inputs
    html = " ".join(w.value for w in find_all(page, widgets.HTML))
    assert f"scheduler.ipynb?schedule={ARRIVALS}" in html
    assert "sop.ipynb?sop=cs_new_arrivals" in html


def test_filter_and_sort(make_page: PageFactory) -> None:
    page = make_page("scheduler")
    table = _table(page, "schedules")
    (box,) = find_all(table, widgets.Text, css="sb-filter")
    box.value = "America/Chicago"
    assert [r["timezone"] for r in table.shown] == ["America/Chicago"]
    box.value = ""
    button(table, "SOP").click()
    button(table, "SOP").click()
    sops = [r["sop_id"] for r in table.shown]
    assert sops == sorted(sops, reverse=True)


def test_pause_and_resume_need_a_signed_in_person(make_page: PageFactory, runs: RunService) -> None:
    page = make_page("scheduler")
    assert find_all(page, css="sb-sign-in")
    _row_button(page, "Pause", ARRIVALS).click()
    assert "sign in first" in _notices(page, "error")
    assert Scheduler(runs).get(ARRIVALS).state == "active"


def test_pause_and_resume_change_schedule_list(
    make_page: PageFactory, settings: Settings, runs: RunService
) -> None:
    page = make_page("scheduler", person="olivia")
    assert not find_all(page, css="sb-sign-in")
    assert _row_button(page, "Resume", ARRIVALS).disabled
    _row_button(page, "Pause", ARRIVALS).click()
    assert f"paused {ARRIVALS} (cs_new_arrivals) for Olivia Marsh" in _notices(page, "ok")
    assert next(r for r in _table(page, "schedules").shown if r["id"] == ARRIVALS)["state"] == (
        "paused"
    )
    assert _cli_states(settings)[ARRIVALS] == "paused"
    assert _row_button(page, "Pause", ARRIVALS).disabled
    _row_button(page, "Resume", ARRIVALS).click()
    assert f"resumed {ARRIVALS} (cs_new_arrivals); next fire " in _notices(page, "ok")
    assert _cli_states(settings)[ARRIVALS] == "active"
    with runs.db.read() as conn:
        journal = conn.execute(
            select(events.c.kind, events.c.actor, events.c.data)
            .where(events.c.kind.in_(["schedule.paused", "schedule.resumed"]))
            .order_by(events.c.id)
        ).all()
    assert [(k, a, d["schedule_id"]) for k, a, d in journal] == [
        ("schedule.paused", "olivia", ARRIVALS),
        ("schedule.resumed", "olivia", ARRIVALS),
    ]


def test_one_schedule_shows_its_fires_and_toggles(make_page: PageFactory, runs: RunService) -> None:
    scheduler = Scheduler(runs)
    scheduler.sync()
    for other in scheduler.schedules():  # fire only this one (the others' SOPs call out)
        if other.id != ARRIVALS:
            scheduler.pause(other.id)
    upcoming = scheduler.get(ARRIVALS).next_fire_at
    assert upcoming is not None
    result = scheduler.tick(upcoming + timedelta(minutes=1))
    (fire,) = [f for f in result.fires if f.schedule_id == ARRIVALS]
    assert fire.run_id is not None
    page = make_page("scheduler", {"schedule": ARRIVALS}, person="marco")
    summary = text_of(find_all(page, css="sb-schedule-summary")[0])
    assert "cs_new_arrivals" in summary and "0 10 * * THU" in summary and "none" in summary
    fires = _table(page, "fires")
    (row,) = fires.shown
    assert (row["run_id"], row["status"]) == (fire.run_id, "fired")
    text = text_of(fires)
    assert local_time(upcoming, "America/Denver") in text  # 10:00 on a Thursday, Denver time
    assert "10:00" in local_time(upcoming, "America/Denver")
    assert f"{fire.run_id} ({runs.view(fire.run_id).run.status})" in text
    html = " ".join(w.value for w in find_all(fires, widgets.HTML))
    assert f"history.ipynb?run={fire.run_id}" in html
    button(page, "Pause").click()
    assert scheduler.get(ARRIVALS).state == "paused"
    assert button(page, "Resume").description == "Resume"
    button(page, "All schedules").click()
    assert _table(page, "schedules").shown


def test_unknown_schedule_shows_not_found(make_page: PageFactory) -> None:
    page = make_page("scheduler", {"schedule": "sch_nope"})
    (view,) = find_all(page, css="sb-not-found")
    assert "no schedule with id 'sch_nope'" in text_of(view)
