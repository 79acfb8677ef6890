"""Deciding from the Approvals page in a real browser, alone and two at once."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from sopbench.services.runs import RunService
from sopbench.testing.browser import launch, open_page, page_problems, sign_in, wait_for_text
from sopbench.testing.live import LiveDashboard

pytestmark = pytest.mark.slow


def _waiting_task(runs: RunService, *, started_by: str = "sam") -> tuple[str, str, str]:
    """Start the sign-off SOP (as ``started_by``); ``(run_id, task_id, ticket)``."""
    ticket = f"T-{uuid.uuid4().hex[:8]}"
    view = runs.start("browser_signoff", {"ticket": ticket}, started_by=started_by)
    assert view.run.status == "waiting"
    [task] = [t for t in runs.tasks() if t.run_id == view.run.id]
    return view.run.id, task.id, ticket


def test_approve_from_the_inbox_continues_the_run(
    page: Page, dashboard: LiveDashboard, runs: RunService
) -> None:
    run_id, task_id, ticket = _waiting_task(runs)
    open_page(page, dashboard.url("approvals"))
    sign_in(page, "priya", dashboard.codes["priya"])

    inbox = page.locator(".sb-table-inbox").first
    inbox.locator(".sb-filter input").fill(ticket)
    wait_for_text(page, f"Sign off {ticket}?")
    page.locator(".sb-table-status", has_text="1-1 of 1").first.wait_for(state="visible")
    inbox.get_by_role("button", name="Open").click()
    page.locator(".sb-task-summary", has_text=f"Sign off {ticket}?").wait_for(state="visible")
    assert "Sam Okafor" in page.locator(".sb-task-summary").inner_text()  # the starter
    page.locator(".sb-comment textarea").fill("looks right")
    page.locator(".sb-approve").click()

    wait_for_text(page, "approved; run continues: succeeded")
    assert page.locator(".sb-task-status").inner_text() == "approved"
    assert page_problems(page) == []
    detail = runs.task_detail(task_id)
    assert detail["task"].status == "approved"
    assert detail["task"].decided_by == "priya"
    assert [(v.person, v.comment) for v in detail["votes"]] == [("priya", "looks right")]
    assert runs.view(run_id).run.status == "succeeded"
    assert runs.view(run_id).run.outputs == {"decided": "approved"}


def test_the_starter_cannot_approve(page: Page, dashboard: LiveDashboard, runs: RunService) -> None:
    _run_id, task_id, _ticket = _waiting_task(runs, started_by="priya")
    open_page(page, dashboard.url("approvals", task=task_id))
    sign_in(page, "priya", dashboard.codes["priya"])
    page.locator(".sb-approve").click()
    wait_for_text(page, "priya started this run and cannot approve its steps")
    assert runs.task_detail(task_id)["task"].status == "open"
    assert page_problems(page) == []


def _decide_in_own_browser(
    dashboard: LiveDashboard,
    person: str,
    task_id: str,
    barrier: threading.Barrier,
    results: dict[str, Any],
) -> None:
    """One reviewer: own Playwright and chromium (Playwright objects are per thread)."""
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.set_default_timeout(120_000)
                page.request.get(
                    f"{dashboard.server.base_url}/voila/tree?token={dashboard.server.token}"
                )
                open_page(page, dashboard.url("approvals", task=task_id, token=False))
                sign_in(page, person, dashboard.codes[person])
                button = page.locator(".sb-approve")
                button.wait_for(state="visible")
                barrier.wait(timeout=120)
                results[f"{person}:clicked"] = time.monotonic()
                button.click()
                # the page re-renders (task closed), then says how the decision went
                page.locator(".sb-task-closed").wait_for(state="visible")
                page.locator(".sb-notice-ok, .sb-notice-warn, .sb-notice-error").first.wait_for(
                    state="visible"
                )
                results[person] = page.locator("body").inner_text()
            finally:
                browser.close()
    except Exception as exc:  # handed to the test thread
        results[f"{person}:error"] = exc
        barrier.abort()


def test_two_reviewers_approve_at_once_and_exactly_one_wins(
    dashboard: LiveDashboard, runs: RunService
) -> None:
    _run_id, task_id, _ticket = _waiting_task(runs)
    people = ("priya", "theo")  # both may decide (manager; support) and neither started it
    barrier = threading.Barrier(len(people))
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(
            target=_decide_in_own_browser, args=(dashboard, p, task_id, barrier, results)
        )
        for p in people
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    errors = [v for k, v in results.items() if k.endswith(":error")]
    if errors:
        raise errors[0]
    assert abs(results["priya:clicked"] - results["theo:clicked"]) < 0.5

    detail = runs.task_detail(task_id)
    winner = detail["task"].decided_by
    assert detail["task"].status == "approved"
    assert winner in people
    assert [v.person for v in detail["votes"]] == [winner]  # one decision recorded
    loser = next(p for p in people if p != winner)
    assert "approved; run continues" in results[winner]
    assert f"already approved by {winner}" in results[loser], results[loser]
    for text in results.values():
        if isinstance(text, str):
            assert "Traceback" not in text
