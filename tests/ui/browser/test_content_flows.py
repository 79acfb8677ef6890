"""Drafts and media requests, clicked through in a real browser to the sandbox doubles."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import BrowserContext, Page

from sopbench.services.content import ContentService
from sopbench.services.media import MediaDesk
from sopbench.services.runs import RunService
from sopbench.testing.browser import open_page, page_problems, sign_in, wait_for_text
from sopbench.testing.live import LiveDashboard

pytestmark = pytest.mark.slow

VIDEO_PROMPT = "saas_business_plan_sso"  # a 4 s Sora 2 prompt of the SaaS entity


def _posts_with(dashboard: LiveDashboard, text: str) -> list[str]:
    """Bodies of the posts the Mixpost double received that contain ``text``."""
    mixpost = dashboard.double("mixpost")
    bodies = [
        part["body"]
        for post in list(mixpost.posts)
        for version in post["versions"]
        for part in version["content"]
    ]
    return [b for b in bodies if text in b]


def test_draft_is_edited_approved_and_published_to_mixpost(
    page: Page, dashboard: LiveDashboard, runs: RunService
) -> None:
    headline = f"Summit Cloud ships offline mode {uuid.uuid4().hex[:6]}"
    view = runs.start("browser_post", {"headline": headline}, started_by="priya")
    assert view.run.wait_kind == "review"
    content = ContentService(dashboard.settings, runs=runs)
    [draft] = content.drafts.find(run_id=view.run.id)
    assert draft.status == "in_review"

    open_page(page, dashboard.url("drafts", draft=draft.id))
    sign_in(page, "sam", dashboard.codes["sam"])
    editor = page.locator(".sb-draft-body textarea")
    edited = f"{headline}: work on the train, sync when you land. Edited in the browser."
    editor.fill(edited)
    page.locator(".sb-save-edit").click()
    wait_for_text(page, "Saved revision 2 by Sam Okafor.")
    page.locator(".sb-approve").click()
    wait_for_text(page, "Approved revision 2 as sam.")
    assert _posts_with(dashboard, edited) == []  # approving alone sends nothing
    page.locator(".sb-publish").click()
    wait_for_text(page, "Draft published")
    assert page_problems(page) == []

    assert _posts_with(dashboard, edited) != []
    assert len(_posts_with(dashboard, edited)) == 1  # exactly one post with the edited text
    after = content.drafts.get(draft.id)
    assert (after.status, after.revision, after.body) == ("published", 2, edited)
    assert after.post_id is not None
    assert runs.view(view.run.id).run.status == "succeeded"


def test_media_request_is_approved_by_another_person_and_its_job_completes(
    page: Page, context: BrowserContext, dashboard: LiveDashboard
) -> None:
    open_page(page, dashboard.url("media", prompt=VIDEO_PROMPT))
    sign_in(page, "sam", dashboard.codes["sam"])
    page.locator(".sb-request-form .sb-override-note input").fill("end on the logo")
    page.locator(".sb-request").click()
    message = wait_for_text(page, "it waits for approval")
    request_id = message.inner_text().split()[1]
    assert request_id.startswith("med_") or request_id

    # Sam cannot approve his own request (another browser: Priya's does).
    reviewer = context.browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[union-attr]
    try:
        reviewer.set_default_timeout(90_000)
        reviewer.request.get(
            f"{dashboard.server.base_url}/voila/tree?token={dashboard.server.token}"
        )
        other = reviewer.new_page()
        open_page(other, dashboard.url("media", request=request_id, token=False))
        sign_in(other, "priya", dashboard.codes["priya"])
        other.locator(".sb-approve").click()
        wait_for_text(other, "Approved by Priya Nair")
        other.locator(".sb-job").wait_for(state="visible")
        status = other.locator(".sb-job-status")
        for _ in range(30):  # the video double finishes after a poll or two, a second apart
            if "succeeded" in status.inner_text() or other.locator(".sb-refresh").count() == 0:
                break
            other.locator(".sb-refresh").click()  # one look at the job, then the page re-renders
            other.wait_for_timeout(1000)
        assert "succeeded" in status.inner_text(), other.locator("body").inner_text()
        other.locator(".sb-asset").wait_for(state="visible")
        assert "succeeded" in other.locator(".sb-job-status").inner_text()
        assert page_problems(other) == []
    finally:
        reviewer.close()

    desk = MediaDesk(dashboard.settings)
    try:
        done = desk.get(request_id)
    finally:
        desk.close()
    assert (done.status, done.requested_by) == ("succeeded", "sam")
    assert done.params["decided_by"] == "priya"
    assert done.asset and done.asset["files"]
