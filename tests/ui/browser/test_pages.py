"""Every dashboard page renders in a real browser, unknown ids show the not-found view."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from sopbench.testing.browser import PAGE_ROOT, open_page, page_problems, sign_in
from sopbench.testing.live import LiveDashboard

pytestmark = pytest.mark.slow

PAGES: dict[str, dict[str, str]] = {
    "home": {},
    "entity": {"entity": "saas"},
    "sop": {"sop": "gov_contract_win"},
    "calendar": {},
    "content": {},
    "drafts": {},
    "media": {},
    "history": {},
    "approvals": {},
    "scheduler": {},
}
"""Each page with the query a reviewer would follow a link with."""

UNKNOWN: dict[str, tuple[dict[str, str], str | None]] = {
    "entity": ({"entity": "no_such_entity"}, None),
    "sop": ({"sop": "no_such_sop"}, None),
    "history": ({"run": "run_NOSUCHRUN"}, None),
    "drafts": ({"draft": "drf_nosuchdraft"}, None),
    "media": ({"request": "med_nosuchrequest"}, None),
    "scheduler": ({"schedule": "no_such_schedule"}, None),
    "approvals": ({"task": "tsk_nosuchtask"}, "olivia"),
}
"""A query naming something that does not exist, per page (and who signs in to see it)."""


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_without_errors(
    name: str, page: Page, dashboard: LiveDashboard, screenshots: Path
) -> None:
    root = open_page(page, dashboard.url(name, **PAGES[name]))
    assert f"sb-page-{name}" in (root.get_attribute("class") or "")
    assert page.locator(".sb-header").first.is_visible()
    assert page.locator(".sb-badge", has_text="sandbox").first.is_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / f"{name}.png")
    assert page_problems(page) == []
    assert page.locator(".sb-not-found").count() == 0


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_unknown_id_shows_not_found(name: str, page: Page, dashboard: LiveDashboard) -> None:
    query, person = UNKNOWN[name]
    open_page(page, dashboard.url(name, **query))
    if person is not None:
        sign_in(page, person, dashboard.codes[person])
    view = page.locator(".sb-not-found").first
    view.wait_for(state="visible")
    assert "not found" in view.inner_text().lower()
    assert page_problems(page) == []


def test_page_without_token_goes_to_login(browser: Browser, dashboard: LiveDashboard) -> None:
    page = browser.new_context().new_page()  # a browser that never saw the token
    page.goto(dashboard.url("home", token=False))
    assert "/login" in page.url
    assert page.locator(PAGE_ROOT).count() == 0
    # with the token once, the same browser is let in (cookie) and stays in without it
    open_page(page, dashboard.url("home"))
    open_page(page, dashboard.url("calendar", token=False))
    assert "/login" not in page.url
    page.context.close()
