"""The Approvals page: the inbox of the signed-in person, and deciding a task.

Over ``tests/ui/inbox_home`` (two entities, six people, four small SOPs),
on SQLite and PostgreSQL. Pages are driven by clicking their buttons; every
decision is checked in the database too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

from sopbench.services.runs import RunService, TaskRow
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.forms import FormFields
from tests.ui.conftest import PageFactory

HERE = Path(__file__).resolve().parent


@pytest.fixture
def home(tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(HERE / "inbox_home" / "sops", target / "sops")
    return target


def _task_of(runs: RunService, run_id: str) -> TaskRow:
    (task,) = [t for t in runs.tasks(status="all", limit=10_000) if t.run_id == run_id]
    return task


def _start(runs: RunService, sop_id: str, inputs: dict[str, Any], by: str) -> str:
    view = runs.start(sop_id, inputs, started_by=by)
    assert view.run.status == "waiting", view.as_dict()
    return view.run.id


def _notices(page: Page, kind: str) -> str:
    return "\n".join(text_of(n) for n in find_all(page, css=f"sb-notice-{kind}"))


def _inbox_ids(page: Page) -> list[str]:
    (table,) = find_all(page, css="sb-table-inbox")
    return [str(row["id"]) for row in table.shown]


def _field(page: Page, name: str) -> Any:
    (widget,) = find_all(page, css=f"sb-field-{name}")
    return widget


def test_not_signed_in_shows_the_sign_in_panel(make_page: PageFactory, runs: RunService) -> None:
    _start(runs, "inbox_order", {"item": "mouse"}, "bob")
    page = make_page("approvals")
    assert find_all(page, css="sb-sign-in")
    assert not find_all(page, css="sb-inbox")
    assert "Order 1 x mouse?" not in text_of(page)


def test_inbox_shows_only_the_tasks_the_person_may_decide(
    make_page: PageFactory, runs: RunService
) -> None:
    order = _start(runs, "inbox_order", {"item": "mouse"}, "bob")
    two = _start(runs, "inbox_two", {"item": "server"}, "ann")
    count = _start(runs, "inbox_count", {}, "cara")
    invoice = _start(runs, "inbox_invoice", {"amount": 12.5}, "fay")
    seen = {}
    for person in ("ann", "bob", "dan", "cara", "fay", "gus"):
        page = make_page("approvals", person=person)
        seen[person] = _inbox_ids(page)
        expected = [t.id for t in runs.tasks(person=person)]
        assert sorted(seen[person]) == sorted(expected), person
    by_run = {r: _task_of(runs, r).id for r in (order, two, count, invoice)}
    # bob started the order: he may not approve it; gus (finance) pays the invoice only
    assert set(seen["bob"]) == {by_run[two], by_run[count]}
    assert set(seen["dan"]) == {by_run[order], by_run[two], by_run[count]}
    assert set(seen["ann"]) == {by_run[order], by_run[count]}
    assert set(seen["gus"]) == {by_run[invoice]}
    assert set(seen["cara"]) == {by_run[count]}
    assert seen["fay"] == []
    text = text_of(make_page("approvals", person="dan"))
    assert "Order 1 x mouse?" in text and "Buy server?" in text
    assert "0 of 2 approvals" in text and "0 of 1 approval" in text and "to complete" in text
    assert "3 open task(s) you may decide" in text
    page = make_page("approvals", person="dan")
    html = " ".join(w.value for w in find_all(page, widgets.HTML))
    assert f"history.ipynb?run={order}" in html and "sop.ipynb?sop=inbox_order" in html
    empty = text_of(make_page("approvals", person="fay"))
    assert "Nothing waits for you" in empty


def test_inbox_pages_sorts_and_filters_sixty_tasks(
    make_page: PageFactory, runs: RunService
) -> None:
    for n in range(60):
        _start(runs, "inbox_order", {"item": f"item-{n:02d}", "qty": n + 1}, "ann")
    page = make_page("approvals", person="bob")
    status = find_all(page, css="sb-table-status")[0]
    assert "1-20 of 60" in text_of(status)
    collected = _inbox_ids(page)
    for expected in ("21-40 of 60", "41-60 of 60"):
        button(page, "next >").click()
        assert expected in text_of(status)
        collected += _inbox_ids(page)
    assert len(collected) == len(set(collected)) == 60
    assert sorted(collected) == sorted(t.id for t in runs.tasks(person="bob", limit=1000))
    assert button(page, "next >").disabled
    button(page, "Task").click()  # sort by title, then descending
    button(page, "Task").click()
    (table,) = find_all(page, css="sb-table-inbox")
    titles = [row["title"] for row in table.shown]
    assert titles == sorted(titles, reverse=True) and len(titles) == 20
    (box,) = find_all(page, widgets.Text, css="sb-filter")
    box.value = "item-07"
    assert [row["title"] for row in table.shown] == ["Order 8 x item-07?"]
    assert "1-1 of 1" in text_of(status)


def test_approve_from_the_inbox_continues_the_run(make_page: PageFactory, runs: RunService) -> None:
    run_id = _start(runs, "inbox_order", {"item": "mouse", "qty": 3}, "bob")
    page = make_page("approvals", person="dan")
    button(page, "Open").click()
    text = text_of(page)
    assert "Order 3 x mouse?" in text and "The supplier invoices on delivery." in text
    assert '"item": "mouse"' in text  # the subject, as rendered for this run
    assert {"sb-field-budget", "sb-field-rush", "sb-field-supplier", "sb-field-note"} <= {
        c for f in find_all(page, css="sb-field") for c in f._dom_classes
    }
    assert isinstance(_field(page, "rush"), widgets.Checkbox)
    assert isinstance(_field(page, "supplier"), widgets.Dropdown)
    assert isinstance(_field(page, "note"), widgets.Textarea)
    _field(page, "budget").value = "250"
    _field(page, "supplier").value = "north"
    find_all(page, css="sb-comment")[0].value = "ship it"
    button(page, "Approve").click()
    assert "approved; run continues: succeeded" in _notices(page, "ok")
    task = _task_of(runs, run_id)
    assert (task.status, task.decided_by, task.comment) == ("approved", "dan", "ship it")
    assert task.fields == {"budget": 250, "rush": False, "supplier": "north", "note": None}
    assert runs.view(run_id).run.status == "succeeded"
    assert "This task is approved by Dan Manager" in text_of(page)
    button(page, "Back to inbox").click()
    assert _inbox_ids(page) == []


def test_bad_form_values_are_refused_with_the_field_named(
    make_page: PageFactory, runs: RunService
) -> None:
    run_id = _start(runs, "inbox_order", {"item": "mouse"}, "bob")
    page = make_page("approvals", {"task": _task_of(runs, run_id).id}, person="dan")
    _field(page, "budget").value = "lots"
    button(page, "Approve").click()
    assert "budget" in _notices(page, "error")
    assert _task_of(runs, run_id).status == "open"


def test_two_of_m_counts_votes_and_then_continues(make_page: PageFactory, runs: RunService) -> None:
    run_id = _start(runs, "inbox_two", {"item": "server"}, "ann")
    task_id = _task_of(runs, run_id).id
    first = make_page("approvals", {"task": task_id}, person="bob")
    button(first, "Approve").click()
    assert "1 of 2 approvals recorded" in _notices(first, "ok")
    assert "1 of 2 approvals" in text_of(find_all(first, css="sb-task-summary")[0])
    assert "Bob Manager: approve" in text_of(find_all(first, css="sb-votes")[0])
    assert runs.view(run_id).run.status == "waiting"
    assert task_id not in _inbox_ids(make_page("approvals", person="bob"))
    second = make_page("approvals", person="dan")
    assert "1 of 2 approvals" in text_of(second)
    button(second, "Open").click()
    button(second, "Approve").click()
    assert "approved; run continues: succeeded" in _notices(second, "ok")
    task = _task_of(runs, run_id)
    assert (task.status, task.approvals, task.decided_by) == ("approved", 2, "dan")


def test_the_starter_and_people_without_the_role_are_refused(
    make_page: PageFactory, runs: RunService
) -> None:
    run_id = _start(runs, "inbox_order", {"item": "mouse"}, "bob")
    task_id = _task_of(runs, run_id).id
    starter = make_page("approvals", {"task": task_id}, person="bob")
    button(starter, "Approve").click()
    assert "bob started this run and cannot approve its steps" in _notices(starter, "error")
    outsider = make_page("approvals", {"task": task_id}, person="gus")
    button(outsider, "Reject").click()
    assert "gus lacks the role to decide this task (needs one of: manager)" in _notices(
        outsider, "error"
    )
    other_entity = make_page("approvals", {"task": task_id}, person="fay")
    button(other_entity, "Approve").click()
    assert "fay does not serve entity 'shop'" in _notices(other_entity, "error")
    assert _task_of(runs, run_id).status == "open"
    assert runs.view(run_id).run.status == "waiting"


def test_a_second_decider_sees_who_decided_first(make_page: PageFactory, runs: RunService) -> None:
    run_id = _start(runs, "inbox_order", {"item": "mouse"}, "ann")
    task_id = _task_of(runs, run_id).id
    late = make_page("approvals", {"task": task_id}, person="dan")  # opened first ...
    early = make_page("approvals", {"task": task_id}, person="bob")
    button(early, "Reject").click()  # ... but bob decides first
    assert "rejected; run continues: succeeded" in _notices(early, "ok")
    button(late, "Approve").click()
    message = _notices(late, "warn")
    assert f"task {task_id} was already rejected by bob at " in message
    assert "This task is rejected by Bob Manager" in text_of(late)
    assert not find_all(late, widgets.Button, text="Approve")
    task = _task_of(runs, run_id)
    assert (task.status, task.decided_by) == ("rejected", "bob")


def test_manual_task_shows_its_checklist_and_is_completed(
    make_page: PageFactory, runs: RunService
) -> None:
    run_id = _start(runs, "inbox_count", {}, "cara")
    page = make_page("approvals", person="cara")  # a starter may complete a manual task
    button(page, "Open").click()
    checklist = find_all(page, css="sb-checklist")[0]
    assert [c.description for c in find_all(checklist, widgets.Checkbox)] == [
        "Open the back room",
        "Count every box",
    ]
    assert "Count the laptops in the back room." in text_of(page)
    assert not find_all(page, widgets.Button, text="Approve")
    assert isinstance(_field(page, "laptops"), widgets.IntText)
    _field(page, "laptops").value = 12
    button(page, "Complete").click()
    assert "completed; run continues: succeeded" in _notices(page, "ok")
    view = runs.view(run_id)
    assert view.run.status == "succeeded" and view.run.vars["laptops"] == 12


def test_unknown_task_shows_not_found(make_page: PageFactory) -> None:
    page = make_page("approvals", {"task": "tsk_nope"}, person="dan")
    (view,) = find_all(page, css="sb-not-found")
    assert "no task with id 'tsk_nope'" in text_of(view)


def test_form_fields_leave_out_what_was_not_filled() -> None:
    form = FormFields(
        {
            "count": {"type": "integer"},
            "when": {"type": "date"},
            "pick": {"type": "enum", "values": ["a", "b"]},
            "tags": {"type": "list", "default": ["x", "y"]},
            "ok": {"type": "boolean", "default": True},
        }
    )
    assert form.values() == {"tags": "x, y", "ok": True}
    form.fields["count"].value = "7"
    assert form.values()["count"] == "7"
