"""RunService.runs_page / run_tasks / drive on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.config import Settings, load_settings
from sopbench.errors import NotFound
from sopbench.services.runs import RunService
from tests.ui.demo_sops import APPROVAL_SOP, QUICK_SOP, demo_home

EXAMPLE = {"title": "Launch", "ratio": 0.5}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    home = demo_home(tmp_path / "home")
    return load_settings(home, environ={"SOPBENCH_DB_URL": db_url, "SOPBENCH_SANDBOX_FILE": "off"})


@pytest.fixture
def runs(settings: Settings) -> Iterator[RunService]:
    service = RunService(settings)
    yield service
    service.close()


def _seed(runs: RunService) -> dict[str, list[str]]:
    """12 succeeded, 3 failed, 2 waiting real runs and 3 dry runs, by status."""
    made: dict[str, list[str]] = {"succeeded": [], "failed": [], "waiting": [], "dry": []}
    for n in range(12):
        made["succeeded"].append(runs.start(QUICK_SOP, {"label": f"n{n}"}, started_by="sam").run.id)
    for _ in range(3):
        made["failed"].append(runs.start(QUICK_SOP, {"ok": False}, started_by="ana").run.id)
    for _ in range(2):
        made["waiting"].append(runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id)
    for _ in range(3):
        made["dry"].append(runs.start(QUICK_SOP, {}, dry_run=True).run.id)
    return made


def test_runs_page_filters_and_counts(runs: RunService) -> None:
    made = _seed(runs)
    assert runs.runs_page()[1] == 20
    assert runs.runs_page(include_dry_runs=False)[1] == 17
    rows, total = runs.runs_page(status="failed")
    assert total == 3 and {r["run_id"] for r in rows} == set(made["failed"])
    assert all(r["error"] and "not ok" in r["error"] for r in rows)
    rows, total = runs.runs_page(sop_id=APPROVAL_SOP)
    assert total == 2 and {r["status"] for r in rows} == {"waiting"}
    assert {r["wait_kind"] for r in rows} == {"approval"}
    assert runs.runs_page(entity="saas")[1] == 20
    assert runs.runs_page(entity="gov_contractor") == ([], 0)
    # text matches ids, SOP, entity, status and starter, whatever the case
    one = made["waiting"][1]
    assert [r["run_id"] for r in runs.runs_page(text=one[-10:].lower())[0]] == [one]
    assert runs.runs_page(text="ANA")[1] == 3
    assert runs.runs_page(text="100%")[1] == 0  # LIKE wildcards are plain text


def test_runs_page_pages_without_overlap_newest_first(runs: RunService) -> None:
    made = _seed(runs)
    seen: list[str] = []
    for offset in range(0, 20, 7):
        rows, total = runs.runs_page(offset=offset, limit=7)
        assert total == 20
        seen.extend(r["run_id"] for r in rows)
    assert len(seen) == 20 and len(set(seen)) == 20
    everything = [r["run_id"] for r in runs.runs_page(limit=100)[0]]
    assert everything == seen
    assert everything[:3] == made["dry"][::-1]  # the newest first
    created = [r["created_at"] for r in runs.runs_page(limit=100)[0]]
    assert created == sorted(created, reverse=True)


def test_runs_page_sorts_by_a_known_column_only(runs: RunService) -> None:
    _seed(runs)
    statuses = [r["status"] for r in runs.runs_page(limit=100, sort="status", descending=False)[0]]
    assert statuses == sorted(statuses)
    starters = [
        r["started_by"] or ""
        for r in runs.runs_page(limit=100, sort="started_by", include_dry_runs=False)[0]
    ]
    assert starters == sorted(starters, reverse=True)
    # an unknown sort key falls back to creation time instead of failing
    fallback = runs.runs_page(limit=100, sort="inputs; DROP TABLE runs")[0]
    assert [r["run_id"] for r in fallback] == [r["run_id"] for r in runs.runs_page(limit=100)[0]]


def test_run_tasks_shows_who_decided(runs: RunService) -> None:
    run = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run
    [task] = runs.run_tasks(run.id)
    assert task.status == "open" and task.title == "Approve Launch x2"
    assert task.votes == []
    result = runs.decide(task.id, person="priya", action="approve", comment="ship it")
    assert result["run_status"] == "succeeded"
    [task] = runs.run_tasks(run.id)
    assert task.status == "approved" and task.decided_by == "priya"
    assert [(v.person, v.decision, v.comment) for v in task.votes] == [
        ("priya", "approve", "ship it")
    ]
    assert runs.run_tasks(runs.start(QUICK_SOP, {}).run.id) == []
    with pytest.raises(NotFound, match="no run with id 'run_missing'"):
        runs.run_tasks("run_missing")


def test_drive_runs_a_detached_start_to_its_first_wait(runs: RunService) -> None:
    view = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam", detach=True)
    assert view.run.status == "pending" and view.steps == []
    driven = runs.drive(view.run.id)
    assert driven.run.status == "waiting" and driven.run.wait_kind == "approval"
    assert [s.path for s in driven.steps] == ["prepare", "sign_off"]
