"""The schedule, tick and scheduler commands, in another process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.engine.support import Bench, environ

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_schedule_commands(bench: Bench) -> None:
    added = bench.cli(
        "schedule",
        "add",
        "sch_plain",
        "--cron",
        "*/5 * * * *",
        "--timezone",
        "Europe/Berlin",
        "--catchup",
        "none",
        "--input",
        "who=ops",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    sid = json.loads(added.stdout)["id"]
    listed = bench.cli("schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows[sid]["inputs"] == {"who": "ops"}
    assert rows[sid]["next_fire_at"]
    assert rows["trg-sch_daily-0"]["source"] == "trigger"  # synced from the SOP file
    text = bench.cli("schedule", "list")
    assert "NEXT FIRE (UTC)" in text.stdout and sid in text.stdout
    assert "paused" in bench.cli("schedule", "pause", sid).stdout
    assert "active" in bench.cli("schedule", "resume", sid).stdout
    refused = bench.cli("schedule", "remove", "trg-sch_daily-0")
    assert refused.returncode == 2 and "edit the SOP file" in refused.stderr
    assert bench.cli("schedule", "remove", sid).returncode == 0
    missing = bench.cli("schedule", "pause", sid)
    assert missing.returncode == 1 and "no schedule" in missing.stderr
    bad = bench.cli("schedule", "add", "sch_plain", "--cron", "* * *")
    assert bad.returncode == 2 and "expected 5" in bad.stderr
    ticked = bench.cli("tick", "--no-reports", "--json")
    assert ticked.returncode == 0, ticked.stderr
    assert json.loads(ticked.stdout)["fires"] == []


def test_scheduler_stops_cleanly_on_sigterm(bench: Bench) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(environ(bench.settings.db_url))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sopbench",
            "--home",
            str(bench.home),
            "scheduler",
            "--every",
            "0.2",
            "--no-reports",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert "scheduler started" in proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "scheduler stopped after" in out


def test_tick_writes_reports(bench: Bench) -> None:
    from datetime import timedelta

    from sopbench.scheduler import Scheduler
    from sopbench.store import utcnow

    Scheduler(bench.service).add(
        "sch_plain", "* * * * *", catchup="latest", now=utcnow() - timedelta(minutes=3)
    )
    ticked = bench.cli("tick", "--json")
    assert ticked.returncode == 0, ticked.stderr
    result = json.loads(ticked.stdout)
    assert [f["run_status"] for f in result["fires"]] == ["succeeded"]
    (report,) = result["reports"]
    run_id = result["fires"][0]["run_id"]
    assert report.endswith(f"/shop/sch_plain--{run_id}.ipynb")
    assert (bench.home / report).is_file()
    assert (bench.home / report).with_suffix(".html").is_file()
