"""The History page: runs filtered and paged in the database, one run in full, cancel."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pytest

from sopbench.services.runs import RunService
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.widgets import Table
from tests.ui.conftest import PageFactory
from tests.ui.demo_sops import APPROVAL_SOP, QUICK_SOP, demo_home

EXAMPLE = {"title": "Launch", "ratio": 0.5}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return demo_home(tmp_path / "home")


def _table(page: Page, name: str) -> Table:
    [table] = find_all(page, Table, css=f"sb-table-{name}")
    return table


def _filter(page: Page, name: str) -> widgets.Widget:
    [found] = find_all(page, css=f"sb-filter-{name}")
    return found


def _seed(runs: RunService) -> dict[str, list[str]]:
    """30 runs: 20 succeeded, 4 failed, 3 waiting on approval, 3 dry runs."""
    made: dict[str, list[str]] = {"succeeded": [], "failed": [], "waiting": [], "dry": []}
    for n in range(20):
        made["succeeded"].append(runs.start(QUICK_SOP, {"label": f"n{n}"}, started_by="sam").run.id)
    for _ in range(4):
        made["failed"].append(runs.start(QUICK_SOP, {"ok": False}, started_by="ana").run.id)
    for _ in range(3):
        made["waiting"].append(runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id)
    for _ in range(3):
        made["dry"].append(runs.start(QUICK_SOP, {}, dry_run=True).run.id)
    return made


def test_runs_are_paged_on_the_server(make_page: PageFactory, runs: RunService) -> None:
    made = _seed(runs)
    page = make_page("history")
    table = _table(page, "runs")
    assert table.total == 27  # dry runs are left out until asked for
    assert "1-20 of 27" in text_of(table.status)
    first = [r["run_id"] for r in table.shown]
    assert first[:3] == made["waiting"][::-1]  # newest first
    assert table.prev.disabled and not table.next.disabled
    button(table, "next >").click()
    assert "21-27 of 27" in text_of(table.status) and table.next.disabled
    second = [r["run_id"] for r in table.shown]
    assert len(second) == 7 and not set(first) & set(second)
    button(table, "< prev").click()
    assert [r["run_id"] for r in table.shown] == first
    _filter(page, "dry").value = True
    assert table.total == 30 and table.query.offset == 0
    assert set(made["dry"]) <= {r["run_id"] for r in table.shown}


def test_filters_narrow_the_runs(make_page: PageFactory, runs: RunService) -> None:
    made = _seed(runs)
    page = make_page("history")
    table = _table(page, "runs")
    button(table, "next >").click()
    _filter(page, "status").value = "failed"
    assert table.total == 4 and table.query.offset == 0  # a new filter starts at page one
    assert {r["run_id"] for r in table.shown} == set(made["failed"])
    _filter(page, "status").value = ""
    _filter(page, "sop").value = APPROVAL_SOP
    assert table.total == 3
    assert "waiting (approval)" in text_of(table)
    _filter(page, "sop").value = ""
    _filter(page, "entity").value = "gov_contractor"
    assert table.total == 0 and "No runs match these filters." in text_of(table)
    _filter(page, "entity").value = "saas"
    assert table.total == 27
    table.filter.value = made["failed"][2][-8:]
    assert [r["run_id"] for r in table.shown] == [made["failed"][2]]
    table.filter.value = "ana"
    assert table.total == 4


def test_sorting_is_done_by_the_database(make_page: PageFactory, runs: RunService) -> None:
    _seed(runs)
    table = _table(make_page("history"), "runs")
    button(table, "Status").click()
    statuses = [r["status"] for r in table.shown]
    assert statuses == sorted(statuses) and statuses[0] == "failed"
    button(table, "Status").click()
    assert table.shown[0]["status"] == "waiting"


def test_query_string_presets_the_filters(make_page: PageFactory, runs: RunService) -> None:
    _seed(runs)
    page = make_page("history", query={"status": "waiting", "sop": APPROVAL_SOP})
    assert _table(page, "runs").total == 3
    page = make_page("history", query={"status": "lost"})
    assert "no status 'lost' to filter by" in text_of(page.messages)
    assert _table(page, "runs").total == 27


def test_unknown_run_shows_not_found(make_page: PageFactory) -> None:
    page = make_page("history", query={"run": "run_nope"})
    assert find_all(page, css="sb-not-found")
    text = text_of(page)
    assert "Run not found" in text and "no run with id 'run_nope'" in text


def test_run_detail_shows_inputs_steps_tasks_and_journal(
    make_page: PageFactory, runs: RunService
) -> None:
    run_id = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id
    [task] = runs.run_tasks(run_id)
    runs.decide(task.id, person="priya", action="approve", comment="looks right")
    page = make_page("history", query={"run": run_id})
    text = text_of(page)
    assert "succeeded" in text_of(find_all(page, css="sb-run-status")[0])
    assert '"title": "Launch"' in text  # inputs
    values = " ".join(w.value for w in find_all(page, widgets.HTML) if "sb-run-outputs" in w.value)
    assert '<pre class="sb-pre sb-run-outputs">{}</pre>' in values  # the SOP declares no outputs
    steps = text_of(_table(page, "steps"))
    assert "prepare" in steps and "sign_off" in steps and "finish" in steps
    tasks = text_of(_table(page, "run-tasks"))
    assert "Approve Launch x2" in tasks and "approved" in tasks
    assert "Priya Nair: approve (looks right)" in tasks
    journal = _table(page, "journal")
    kinds = [r["kind"] for r in journal.shown]
    assert kinds[0] == "run.created" and kinds[-1] == "run.succeeded"
    assert "task.decided" in kinds
    assert [r["order"] for r in journal.shown] == list(range(1, len(kinds) + 1))
    decided = next(r for r in journal.shown if r["kind"] == "task.decided")
    assert decided["actor_name"] == "Priya Nair"
    assert journal.shown[0]["actor_name"] == "Sam Okafor"
    assert not find_all(page, css="sb-cancel-run")  # finished: nothing to cancel


def test_cancel_records_the_person_in_the_journal(make_page: PageFactory, runs: RunService) -> None:
    run_id = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id
    page = make_page("history", query={"run": run_id}, person="olivia")
    [reason] = find_all(page, widgets.Text, css="sb-cancel-reason")
    reason.value = "wrong headline"
    button(page, "Cancel run").click()
    assert "Cancelled run" in text_of(page.messages) and "Olivia Marsh" in text_of(page.messages)
    view = runs.view(run_id)
    assert view.run.status == "cancelled" and view.run.error == "wrong headline"
    cancelled = [e for e in runs.journal(run_id) if e["kind"] == "run.cancelled"]
    assert [(e["actor"], e["data"]["reason"]) for e in cancelled] == [("olivia", "wrong headline")]
    [task] = runs.run_tasks(run_id)
    assert task.status == "cancelled"
    # the page re-rendered: the run is shown cancelled and can no longer be cancelled
    assert "cancelled" in text_of(find_all(page, css="sb-run-status")[0])
    assert not find_all(page, css="sb-cancel-run")
    assert "Olivia Marsh" in text_of(_table(page, "journal"))


def test_cancel_needs_a_signed_in_person(make_page: PageFactory, runs: RunService) -> None:
    run_id = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id
    page = make_page("history", query={"run": run_id})
    assert not find_all(page, css="sb-cancel-run")
    assert "Sign in to cancel this run." in text_of(page)
    page.ctx.access.set_code("grant", "grant-code-1")
    [panel] = find_all(page, css="sb-sign-in")
    panel.who.value, panel.code.value = "grant", "grant-code-1"
    button(panel, "Sign in").click()
    button(page, "Cancel run").click()
    cancelled = [e for e in runs.journal(run_id) if e["kind"] == "run.cancelled"]
    assert [e["actor"] for e in cancelled] == ["grant"]


def test_cancelling_a_run_that_ended_meanwhile_is_refused(
    make_page: PageFactory, runs: RunService
) -> None:
    run_id = runs.start(APPROVAL_SOP, EXAMPLE, started_by="sam").run.id
    page = make_page("history", query={"run": run_id}, person="olivia")
    runs.cancel(run_id, actor="priya")  # someone else, in another browser
    button(page, "Cancel run").click()
    assert f"run {run_id} is already cancelled" in text_of(page.messages)
    assert [e["actor"] for e in runs.journal(run_id) if e["kind"] == "run.cancelled"] == ["priya"]
