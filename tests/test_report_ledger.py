"""One report per finished run, also for runs that finish outside a tick.

A run that waited for an approval finishes when a reviewer approves it with
``sopbench approve`` (no tick involved); the next ``sopbench tick`` writes
its report, later ticks write none, and two ticks started together write it
once. The claims behind it (``run_reports``) are checked directly too: one
winner per run, a dead tick's claim taken over, dry-runs never reported, and
an upgraded database does not report its history. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from sopbench.reports import report_path
from sopbench.store import connect_database, open_database, utcnow
from sopbench.store import tables as t
from sopbench.store.run_reports import STALE, ReportStore
from tests.engine import conftest as engine_fixtures
from tests.engine.support import Bench, environ
from tests.store.old_schema import as_of

HERE = Path(__file__).parent
# The engine's test bench (home, settings, RunService on SQLite and PostgreSQL)
# over the scheduler tests' SOPs.
bench = engine_fixtures.bench
recorder = engine_fixtures.recorder


@pytest.fixture
def sop_sources() -> list[Path]:
    return [HERE / "scheduler" / "sops"]


def approved_outside_a_tick(bench: Bench) -> str:
    """A run that waited for an approval and finished when Bob approved it by CLI."""
    view = bench.start("sch_gate", {}, started_by="cara")
    assert view.run.status == "waiting"
    task = bench.open_task(view.run.id)
    done = bench.cli("approve", task.id, "--as", "bob", "--json")
    assert done.returncode == 0, done.stderr
    assert bench.view(view.run.id).run.status == "succeeded"
    return view.run.id


def tick_process(bench: Bench) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(environ(bench.settings.db_url))
    return subprocess.Popen(
        [sys.executable, "-m", "sopbench", "--home", str(bench.home), "tick", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reports_of(proc: subprocess.Popen[str]) -> list[str]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    reports: list[str] = json.loads(out)["reports"]
    return reports


def files(bench: Bench) -> list[Path]:
    return sorted(p for p in (bench.home / "reports").rglob("*.ipynb"))


@pytest.mark.slow
def test_tick_reports_a_run_an_approval_finished(bench: Bench) -> None:
    run_id = approved_outside_a_tick(bench)
    ledger = ReportStore(bench.db, "test")
    assert ledger.unreported() == [run_id] and ledger.status_of(run_id) is None

    first = reports_of(tick_process(bench))
    path = report_path(bench.home / "reports", bench.view(run_id).run)
    assert first == [str(path.relative_to(bench.home))]
    notebook = json.loads(path.read_text())
    assert run_id in json.dumps(notebook["cells"]) and "Decisions" in json.dumps(notebook)
    assert "bob" in path.with_suffix(".html").read_text()  # who approved it
    assert ledger.status_of(run_id) == "written" and ledger.unreported() == []

    assert reports_of(tick_process(bench)) == []  # already reported: never twice
    assert files(bench) == [path]


@pytest.mark.slow
def test_two_ticks_at_once_write_one_report(bench: Bench) -> None:
    run_id = approved_outside_a_tick(bench)
    ticks = [tick_process(bench), tick_process(bench)]
    written = [reports_of(proc) for proc in ticks]
    assert sorted(len(w) for w in written) == [0, 1], written
    [path] = files(bench)
    assert path.name == f"sch_gate--{run_id}.ipynb"
    with bench.db.read() as conn:
        rows = conn.execute(sa.select(t.run_reports)).mappings().all()
    assert [(r["run_id"], r["status"]) for r in rows] == [(run_id, "written")]
    assert rows[0]["path"] == str(path.relative_to(bench.home))


def test_one_claim_wins_and_a_dead_ticks_claim_is_taken_over(bench: Bench) -> None:
    finished = bench.start("sch_plain", {"who": "ops"}).run.id
    waiting = bench.start("sch_gate", {}, started_by="cara").run.id
    bench.dry("sch_plain", {"who": "ops"})  # dry-runs get no report
    first, second = ReportStore(bench.db, "tick-a"), ReportStore(bench.db, "tick-b")
    assert first.unreported() == [finished]  # not the waiting run, not the dry-run
    assert waiting not in first.unreported()

    assert first.claim(finished) is True
    assert second.claim(finished) is False  # tick-a holds a fresh claim
    assert second.unreported() == []
    later = utcnow() + STALE + timedelta(seconds=1)  # tick-a died while writing
    assert second.unreported(now=later) == [finished]
    assert second.claim(finished, now=later) is True
    assert first.claim(finished, now=later) is False
    second.failed(finished, "NoSuchKernel: python3")
    first.written(finished, "reports/x.ipynb")  # tick-a lost the claim: it records nothing
    with bench.db.read() as conn:
        row = conn.execute(sa.select(t.run_reports)).mappings().one()
    assert (row["owner"], row["status"], row["path"]) == ("tick-b", "failed", None)
    assert row["error"] == "NoSuchKernel: python3"
    assert second.unreported(now=later) == []  # a failed report is not retried every tick


def test_upgrading_does_not_report_the_history(empty_db_url: str) -> None:
    old = connect_database(empty_db_url)
    try:
        old.upgrade("0003")
        now = utcnow()
        old_runs = as_of(old, t.runs)
        with old.write() as conn:
            for run_id, status in (("run_old_done", "succeeded"), ("run_old_wait", "waiting")):
                conn.execute(
                    old_runs.insert().values(
                        id=run_id,
                        sop_id="sch_plain",
                        entity="shop",
                        status=status,
                        inputs={},
                        definition={"steps": []},
                        sop_hash="0" * 64,
                        created_at=now,
                        updated_at=now,
                        finished_at=now if status == "succeeded" else None,
                    )
                )
    finally:
        old.dispose()
    db = open_database(empty_db_url)
    try:
        ledger = ReportStore(db, "tick")
        assert ledger.status_of("run_old_done") == "skipped"
        assert ledger.status_of("run_old_wait") is None  # it will be reported when it ends
        assert ledger.unreported() == []
    finally:
        db.dispose()
