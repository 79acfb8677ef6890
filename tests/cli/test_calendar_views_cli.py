"""``sopbench calendar --week`` / ``--month`` (the merged view) and ``--windows``.

The workspace's entities have weekly posting slots and monthly themes
(``SLOTTED_ENTITIES``); the week of 2030-03-11 holds Denver's spring-forward
Sunday.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sopbench.cli import main
from sopbench.content.drafts import Draft
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer
from tests.content.calendar_home import MIXPOST_TOKEN, SLOTTED_ENTITIES, Home, make_home, utc

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DENVER = ZoneInfo("America/Denver")


@pytest.fixture
def home(
    tmp_path: Path,
    database: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Home]:
    with MixpostServer(token=MIXPOST_TOKEN) as mixpost:
        assert isinstance(mixpost, MixpostServer)
        made = make_home(tmp_path, database, db_url, mixpost.api_url, SLOTTED_ENTITIES)
        for key, value in made.environ().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("SOPBENCH_HOME", raising=False)
        yield made


def run(capsys: pytest.CaptureFixture[str], home: Home, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home.home), "calendar", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def post(home: Home, platform: str, at: datetime, status: str) -> Draft:
    drafts = home.content.drafts
    made = drafts.create(
        entity="shop", platform=platform, body="Spring hours", author="eve", publish_at=at
    )
    drafts.approve(made.id, person="dana")
    return drafts.mark(made.id, status)


def plan_week(home: Home) -> dict[str, str]:
    """A post filling Tuesday's linkedin slot, a delay, a draft (left out of the view)."""
    filled = post(home, "linkedin", utc(2030, 3, 12, 16, 45), "scheduled")
    nap = home.runs.start("nap", {"at": "2030-03-14T18:00:00Z"}).run.id
    home.content.drafts.create(
        entity="shop", platform="x", body="Not yet", author="eve", publish_at=utc(2030, 3, 13, 18)
    )
    return {"post": filled.id, "nap": nap}


def test_week_is_the_merged_view_of_monday_to_sunday(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = plan_week(home)
    code, out, err = run(capsys, home, "--week", "2030-03-13", "--entity", "shop")
    assert code == 0, err
    daily = "schedule      shop                    Daily stock check (0 9 * * *, America/Denver)"
    assert out.splitlines() == [
        "Week 2030-W11, 2030-03-11 to 2030-03-17 (America/Denver): 13 entries",
        "Fri 2030-03-01",
        "  00:00 MST  theme         shop                    Theme: Spring cleaning  [planned]",
        "",
        "Mon 2030-03-11",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "",
        "Tue 2030-03-12",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "  09:30 MDT  slot          shop/linkedin           Posting slot: linkedin  [filled]  "
        + ids["post"],
        "  10:45 MDT  post          shop/linkedin           Spring hours  [scheduled]  "
        + ids["post"],
        "",
        "Wed 2030-03-13",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "",
        "Thu 2030-03-14",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "  12:00 MDT  delay         shop                    Follow up later resumes after pause  "
        f"[waiting]  {ids['nap']}",
        "",
        "Fri 2030-03-15",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "",
        "Sat 2030-03-16",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
        "",
        "Sun 2030-03-17",
        "  01:30 MDT  slot          shop/facebook           Posting slot: facebook  [open]",
        "  02:30 MDT  slot          shop/x                  Posting slot: x  [open]",
        f"  09:00 MDT  {daily}  [planned]  trg-daily-0",
    ]
    # the week across the spring-forward Sunday: Monday 00:00 MST to Monday 00:00 MDT
    code, out, err = run(capsys, home, "--week", "2030-03-10", "--entity", "shop", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["view"], data["from"], data["to"]) == (
        "week",
        "2030-03-04T00:00:00-07:00",
        "2030-03-11T00:00:00-06:00",
    )
    sunday = [(e["kind"], e["platform"], e["when"]) for e in data["entries"] if e["kind"] == "slot"]
    assert sunday[-2:] == [
        ("slot", "facebook", "2030-03-10T08:30:00+00:00"),  # 01:30 MST
        ("slot", "x", "2030-03-10T09:00:00+00:00"),  # 02:30 skipped: 03:00 MDT
    ]


def test_month_json_and_kind_filter(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    ids = plan_week(home)
    code, out, err = run(capsys, home, "--month", "2030-03", "--json")
    assert code == 0, err
    data = json.loads(out)
    # two entities, two zones: the days are UTC days
    assert (data["view"], data["timezone"], data["from"], data["to"]) == (
        "month",
        "UTC",
        "2030-03-01T00:00:00+00:00",
        "2030-04-01T00:00:00+00:00",
    )
    kinds = {e["kind"] for e in data["entries"]}
    assert kinds == {"post", "slot", "theme", "schedule", "delay"}  # no drafts in the view
    assert data["count"] == len(data["entries"])
    themes = [(e["entity"], e["title"], e["day"]) for e in data["entries"] if e["kind"] == "theme"]
    assert themes == [
        ("agency", "Theme: Agency March", "2030-02-28"),  # 1 March 00:00 Berlin, a UTC day early
        ("shop", "Theme: Spring cleaning", "2030-03-01"),
    ]
    filled = [e for e in data["entries"] if e["kind"] == "slot" and e["status"] == "filled"]
    assert [(e["when"], e["ref_id"]) for e in filled] == [
        ("2030-03-12T15:30:00+00:00", ids["post"])
    ]
    # shop: Sun x + Sun facebook + Tue linkedin; agency: Mon linkedin (March 2030: 5 Sundays)
    slots = [e for e in data["entries"] if e["kind"] == "slot"]
    assert len(slots) == 5 + 5 + 4 + 4
    code, out, err = run(capsys, home, "--month", "2030-03", "--kind", "theme", "--json")
    assert code == 0, err
    assert [e["kind"] for e in json.loads(out)["entries"]] == ["theme", "theme"]
    code, out, err = run(capsys, home, "--month", "2030-03", "--entity", "agency")
    assert code == 0, err
    # 31 daily fires, 4 Monday slots, 1 theme
    assert out.splitlines()[0] == "March 2030, 2030-03-01 to 2030-03-31 (Europe/Berlin): 36 entries"


def test_week_and_month_default_to_now(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, home, "--week", "--timezone", "UTC", "--json")
    assert code == 0, err
    data = json.loads(out)
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    assert data["from"] == f"{monday.isoformat()}T00:00:00+00:00"
    assert data["to"] == f"{(monday + timedelta(days=7)).isoformat()}T00:00:00+00:00"
    code, out, err = run(capsys, home, "--entity", "shop", "--month")
    assert code == 0, err
    assert out.startswith(datetime.now(DENVER).strftime("%B %Y, %Y-%m-01 to "))


def test_windows(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, home, "--windows")
    assert code == 0, err
    assert out.splitlines() == [
        "agency (Europe/Berlin)",
        "  linkedin   #1  MON 09:00-11:00  1 slot",
        "",
        "shop (America/Denver)",
        "  facebook   #1  SUN 00:30-02:30  1 slot",
        "  linkedin   #1  TUE 08:30-10:30  1 slot",
        "  x          #1  SUN 01:30-03:30  1 slot",
    ]
    # published posts of the last 90 days count, in the entity's zone
    now = datetime.now(UTC)
    for weeks in (1, 2):
        local = (now - timedelta(weeks=weeks)).astimezone(DENVER)
        at = local.replace(hour=15, minute=0, second=0, microsecond=0)
        post(home, "x", at.astimezone(UTC), "published")
    code, out, err = run(capsys, home, "--windows", "--entity", "shop", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["count"] == 4
    x = [w for w in data["windows"] if w["platform"] == "x"]
    day = (now - timedelta(weeks=1)).astimezone(DENVER).strftime("%a")
    assert [(w["rank"], w["day"], w["start"], w["end"], w["posts"], w["basis"]) for w in x] == [
        (1, day.upper(), "14:00", "16:00", 2, "posts"),
        (2, "SUN", "01:30", "03:30", 0, "slots"),
    ]


def test_errors_are_one_line(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, home, "--week", "13/03/2030")
    assert code == 2 and "--week expects a date like 2026-03-14" in err
    code, _, err = run(capsys, home, "--month", "2030-3")
    assert code == 2 and "--month expects a month like 2026-03, got '2030-3'" in err
    code, _, err = run(capsys, home, "--month", "2030-13")
    assert code == 2 and "--month expects a month like 2026-03" in err
    code, _, err = run(capsys, home, "--week", "2030-03-13", "--month", "2030-03")
    assert code == 2 and "give --week or --month, not both" in err
    code, _, err = run(capsys, home, "--week", "2030-03-13", "--days", "3")
    assert code == 2 and "no --from, --to or --days" in err
    code, _, err = run(capsys, home, "--windows", "--week", "2030-03-13")
    assert code == 2 and "--windows shows posting windows" in err
    code, _, err = run(capsys, home, "--windows", "--entity", "shopp")
    assert code == 1 and "no entity 'shopp'" in err


def test_week_in_a_real_process(home: Home) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(home.environ())
    done = subprocess.run(
        [
            *(sys.executable, "-m", "sopbench", "--home", str(home.home), "calendar"),
            *("--entity", "agency", "--week", "2030-03-27", "--kind", "slot"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # in Berlin's time: the week ends on Sunday the 31st, when its clocks go forward
    assert done.stdout.splitlines() == [
        "Week 2030-W13, 2030-03-25 to 2030-03-31 (Europe/Berlin): 1 entries",
        "Mon 2030-03-25",
        "  10:00 CET  slot          agency/linkedin         Posting slot: linkedin  [open]",
    ]
