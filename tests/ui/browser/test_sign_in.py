"""Signing in on a page with name + access code binds the browser to the person."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from sopbench.testing.browser import open_page, page_problems, sign_in, wait_for_text
from sopbench.testing.live import LiveDashboard

pytestmark = pytest.mark.slow


def test_wrong_code_is_refused_and_right_code_signs_in(
    page: Page, context: BrowserContext, dashboard: LiveDashboard
) -> None:
    open_page(page, dashboard.url("approvals"))
    assert page.locator(".sb-who").first.inner_text() == "not signed in"

    sign_in(page, "priya", "not-her-code", expect_ok=False)
    error = page.locator(".sb-sign-in .sb-error").first
    assert "wrong access code for priya" in error.inner_text()
    assert page.locator(".sb-who", has_text="signed in as").count() == 0

    sign_in(page, "priya", dashboard.codes["priya"])
    assert "signed in as Priya Nair" in page.locator(".sb-who").first.inner_text()
    wait_for_text(page, "Tasks for Priya Nair")  # the inbox replaced the sign-in panel
    assert page_problems(page) == []

    # The sign-in belongs to the browser: another page (a new kernel) knows her too.
    other = context.new_page()
    open_page(other, dashboard.url("home", token=False))
    assert "signed in as Priya Nair" in other.locator(".sb-who").first.inner_text()


def test_sign_out_forgets_the_browser(page: Page, dashboard: LiveDashboard) -> None:
    open_page(page, dashboard.url("approvals"))
    sign_in(page, "theo", dashboard.codes["theo"])
    page.get_by_role("button", name="Sign out").click()
    page.locator(".sb-who", has_text="not signed in").first.wait_for(state="visible")
    open_page(page, dashboard.url("home", token=False))
    assert page.locator(".sb-who").first.inner_text() == "not signed in"
