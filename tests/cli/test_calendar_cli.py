"""``sopbench calendar``: agenda by local day (across a DST change), JSON, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from sopbench.cli import main
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer
from tests.content.calendar_home import MIXPOST_TOKEN, Home, make_home

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# Around the start of daylight saving time in Denver (2030-03-10, 02:00 MST → 03:00 MDT)
WAKES = {
    "2030-03-10T06:30:00Z": "23:30 MST on the 9th",
    "2030-03-10T07:30:00Z": "00:30 MST on the 10th",
    "2030-03-11T05:30:00Z": "23:30 MDT on the 10th",
    "2030-03-11T06:30:00Z": "00:30 MDT on the 11th (23:30 on the 10th at MST's offset)",
}


@pytest.fixture
def home(
    tmp_path: Path,
    database: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Home]:
    with MixpostServer(token=MIXPOST_TOKEN) as mixpost:
        assert isinstance(mixpost, MixpostServer)
        made = make_home(tmp_path, database, db_url, mixpost.api_url)
        for key, value in made.environ().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("SOPBENCH_HOME", raising=False)
        yield made


def run(capsys: pytest.CaptureFixture[str], home: Home, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home.home), "calendar", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def naps(home: Home) -> dict[str, str]:
    return {at: home.runs.start("nap", {"at": at}).run.id for at in WAKES}


def test_days_are_local_days_across_daylight_saving_time(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = naps(home)
    code, out, err = run(
        capsys, home, "--from", "2030-03-10", "--to", "2030-03-10", "--entity", "shop"
    )
    assert code == 0, err
    # the 23-hour day: 07:00Z to 06:00Z; only the two wakes inside it, under one heading
    nap = "delay         shop                    Follow up later resumes after pause  [waiting]"
    assert out.splitlines() == [
        "2030-03-10 to 2030-03-10 (America/Denver): 3 entries",
        "Sun 2030-03-10",
        f"  00:30 MST  {nap}  {ids['2030-03-10T07:30:00Z']}",
        "  09:00 MDT  schedule      shop                    "
        "Daily stock check (0 9 * * *, America/Denver)  [planned]  trg-daily-0",
        f"  23:30 MDT  {nap}  {ids['2030-03-11T05:30:00Z']}",
    ]
    code, out, err = run(
        capsys, home, "--from", "2030-03-09", "--days", "3", "--entity", "shop", "--kind", "delay"
    )
    assert code == 0, err
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings[1:] == ["Sat 2030-03-09", "Sun 2030-03-10", "Mon 2030-03-11"]
    blocks = out.split("\n\n")
    assert [block.count("delay ") for block in blocks] == [1, 2, 1]
    assert "00:30 MDT" in blocks[2]


def test_json_shape(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    ids = naps(home)
    code, out, err = run(
        capsys,
        home,
        "--from",
        "2030-03-09",
        "--days",
        "3",
        "--timezone",
        "America/Denver",
        "--kind",
        "delay",
        "--kind",
        "approval_due",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["from"], data["to"], data["timezone"], data["count"]) == (
        "2030-03-09T00:00:00-07:00",
        "2030-03-12T00:00:00-06:00",
        "America/Denver",
        4,
    )
    assert [e["day"] for e in data["entries"]] == [
        "2030-03-09",
        "2030-03-10",
        "2030-03-10",
        "2030-03-11",
    ]
    first = data["entries"][0]
    assert first == {
        "when": "2030-03-10T06:30:00+00:00",
        "kind": "delay",
        "entity": "shop",
        "sop_id": "nap",
        "run_id": ids["2030-03-10T06:30:00Z"],
        "ref_id": None,
        "title": "Follow up later resumes after pause",
        "status": "waiting",
        "platform": None,
        "day": "2030-03-09",
    }


def test_default_range_is_today_and_the_next_13_days(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC).date()
    code, out, err = run(capsys, home, "--kind", "schedule", "--json")
    assert code == 0, err
    data = json.loads(out)
    # two entities in two zones: days are UTC days
    assert data["timezone"] == "UTC"
    assert data["from"] == datetime.combine(today, time(0), tzinfo=UTC).isoformat()
    assert data["to"] == datetime.combine(today + timedelta(days=14), time(0), UTC).isoformat()
    fires = [(e["sop_id"], e["day"]) for e in data["entries"]]
    # one 09:00-Denver and one 10:00-Berlin fire on each UTC day (less today's gone by)
    assert 26 <= len(fires) <= 28
    assert {sop for sop, _ in fires} == {"daily", "agency_daily"}
    assert len({day for _, day in fires}) in (13, 14)
    code, out, _ = run(capsys, home, "--from", "2030-01-01", "--days", "1", "--kind", "delay")
    assert code == 0 and out.splitlines() == [
        "2030-01-01 to 2030-01-01 (UTC): 0 entries",
        "(nothing planned)",
    ]


def test_errors_are_one_line_with_the_right_exit_code(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, home, "--to", "2030-01-02", "--days", "2")
    assert code == 2 and "give --to or --days, not both" in err
    code, _, err = run(capsys, home, "--from", "03/10/2030")
    assert code == 2 and "--from expects a date like 2026-03-14" in err
    code, _, err = run(capsys, home, "--from", "2030-01-05", "--to", "2030-01-01")
    assert code == 2 and "is before --from" in err
    code, _, err = run(capsys, home, "--entity", "shopp")
    assert code == 1 and "no entity 'shopp'" in err and "did you mean 'shop'" in err
    code, _, err = run(capsys, home, "--timezone", "Mars/Olympus")
    assert code == 2 and "unknown time zone 'Mars/Olympus'" in err
    code, _, err = run(capsys, home, "--kind", "posts")
    assert code == 2 and "'posts' is not one of" in err


def test_in_a_real_process(home: Home) -> None:
    ids = naps(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(home.environ())
    done = subprocess.run(
        [
            *(sys.executable, "-m", "sopbench", "--home", str(home.home), "calendar"),
            *("--from", "2030-03-11", "--days", "1", "--timezone", "America/Denver"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "2030-03-11 to 2030-03-11 (America/Denver): 3 entries"
    assert lines[1] == "Mon 2030-03-11"
    assert lines[2].startswith("  00:30 MDT  delay ") and lines[2].endswith(
        ids["2030-03-11T06:30:00Z"]
    )
    assert lines[3].startswith("  03:00 MDT  schedule      agency ")  # 10:00 in Berlin (CET)
    assert lines[4].startswith("  09:00 MDT  schedule      shop ")
