"""The Drafts page: review a content run's drafts, edit, approve, request changes, publish.

Real engine and database (SQLite and PostgreSQL), the Mixpost and LLM
doubles on 127.0.0.1; the page is driven by clicking its buttons.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest

from sopbench.config import PageRequest, Settings, load_settings
from sopbench.content.drafts import Draft
from sopbench.services.runs import RunService
from sopbench.testing.servers import MixpostServer
from sopbench.testing.servers.llm import LlmServer
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page, PageContext, page_class
from tests.ui._content_home import MIXPOST_TOKEN, created_posts, posted_body, write_home
from tests.ui.conftest import PageFactory


@pytest.fixture
def mixpost() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        yield server


@pytest.fixture
def llm() -> Iterator[LlmServer]:
    with LlmServer() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, mixpost: MixpostServer) -> Path:
    return write_home(tmp_path, mixpost.api_url)


@pytest.fixture
def settings(home: Path, db_url: str, llm: LlmServer) -> Settings:
    environ = {
        "SOPBENCH_DB_URL": db_url,
        "SOPBENCH_SANDBOX_FILE": "off",
        "MIXPOST_TOKEN": MIXPOST_TOKEN,
        "SOPBENCH_LLM_URL": llm.api_url,
    }
    return load_settings(home, environ=environ)


def one(page: Page, css: str) -> widgets.Widget:
    found = find_all(page, css=css)
    assert len(found) == 1, (css, text_of(page))
    return found[0]


def messages(page: Page) -> str:
    return text_of(page.messages)


def start(runs: RunService, sop: str, headline: str, by: str = "sam") -> str:
    view = runs.start(sop, {"headline": headline}, started_by=by)
    assert (view.run.status, view.run.wait_kind) == ("waiting", "review"), view.as_dict()
    return view.run.id


def test_a_draft_is_edited_approved_and_published_once(
    make_page: PageFactory, runs: RunService, mixpost: MixpostServer
) -> None:
    run_id = start(runs, "one_post", "Refurbished ThinkPads are back")
    page = make_page("drafts", person="eve")
    listing = text_of(page)
    assert "Refurbished ThinkPads are back" in listing and "in_review" in listing
    assert "one_post" in listing and run_id in listing
    button(page, "Open").click()
    body = one(page, "sb-draft-body")
    assert "Refurbished ThinkPads are back" in body.value
    body.value = "Refurbished ThinkPads are back, fixed by your neighbours."
    assert "/ 63,206 characters" in text_of(one(page, "sb-char-count"))
    button(page, "Save edit").click()
    assert "Saved revision 2 by Eve Staff" in messages(page)
    (draft,) = runs_drafts(page)
    assert draft.revision == 2 and draft.current.author == "eve"
    assert 'class="add"' in one(page, "sb-draft-diff").value

    button(page, "Approve").click()
    assert "Approved revision 2 as eve" in messages(page), messages(page)
    assert created_posts(mixpost) == []  # approval alone sends nothing
    button(page, "Publish").click()
    assert "Draft published" in messages(page), messages(page)
    posts = created_posts(mixpost)
    assert len(posts) == 1
    (draft,) = runs_drafts(page)
    assert posted_body(posts[0]) == draft.text
    assert draft.text.startswith("Refurbished ThinkPads are back, fixed by your neighbours.")
    assert draft.status == "published" and draft.approved_by == "eve"
    assert runs.view(run_id).run.status == "succeeded"
    assert "Status published" in " ".join(text_of(one(page, "sb-draft-facts")).split())
    button(page, "Publish").click()  # disabled in a browser; a second publish posts nothing
    assert len(created_posts(mixpost)) == 1


def runs_drafts(page: Page) -> list[Draft]:
    return list(page.ctx.content.drafts.find(entity="shop"))


def test_request_changes_streams_an_llm_revision_and_the_diff_shows(
    make_page: PageFactory, runs: RunService, llm: LlmServer
) -> None:
    start(runs, "one_post", "Back to school deals")
    (draft,) = _drafts(make_page)
    page = make_page("drafts", query={"draft": draft.id}, person="dana")
    body = one(page, "sb-draft-body")
    seen: list[str] = []
    body.observe(lambda change: seen.append(change["new"]), names="value")
    button(page, "Request changes").click()
    assert "write a note saying what to change first" in messages(page)
    one(page, "sb-draft-note").value = "mention the student discount"
    button(page, "Request changes").click()
    assert "The LLM wrote revision 2" in messages(page), messages(page)
    changed = page.ctx.content.drafts.get(draft.id)
    assert changed.revision == 2 and changed.current.author == "llm"
    assert changed.body.startswith("Sandbox draft: Revise this post")
    assert len(seen) > 2 and seen[-1] == changed.body  # streamed piece by piece
    chats = [r.json for r in llm.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0]["stream"] is True
    assert "mention the student discount" in chats[0]["messages"][-1]["content"]
    fresh = one(page, "sb-draft-body")
    assert fresh.value == changed.body
    diff = one(page, "sb-draft-diff").value
    assert "Revision 1 → current revision 2" in diff
    assert '<span class="del">' in diff and '<span class="add">' in diff
    assert "changes requested: mention the student discount" in text_of(one(page, "sb-comments"))


def _drafts(make_page: PageFactory) -> list[Draft]:
    return list(make_page("drafts").ctx.content.list_drafts())


def test_rule_violations_block_approval_without_an_override(
    make_page: PageFactory, runs: RunService
) -> None:
    start(runs, "tweet", "New stock")
    (draft,) = _drafts(make_page)
    page = make_page("drafts", query={"draft": draft.id}, person="dana")
    one(page, "sb-draft-body").value = "Long post. " * 30
    assert "(too long)" in text_of(one(page, "sb-char-count"))
    button(page, "Save edit").click()
    assert "X: " in text_of(one(page, "sb-violations"))
    button(page, "Approve").click()
    assert "breaks x rules" in messages(page), messages(page)
    assert page.ctx.content.drafts.get(draft.id).status == "in_review"
    one(page, "sb-draft-override").value = "the thread splitter shortens it"
    button(page, "Approve").click()
    assert "Approved revision 2 as dana" in messages(page), messages(page)
    done = page.ctx.content.drafts.get(draft.id)
    assert done.status == "approved" and done.approved_by == "dana"
    assert any(c["body"].startswith("override: the thread splitter") for c in done.comments)


def test_an_edit_after_approval_stops_publish_with_the_reason(
    make_page: PageFactory, runs: RunService, mixpost: MixpostServer
) -> None:
    start(runs, "one_post", "Repair desk hours")
    (draft,) = _drafts(make_page)
    page = make_page("drafts", query={"draft": draft.id}, person="dana")
    button(page, "Approve").click()
    one(page, "sb-draft-body").value = "Repair desk open 24/7!"
    button(page, "Publish").click()
    assert "unsaved changes" in messages(page)
    button(page, "Save edit").click()
    assert "changed after dana approved it" in text_of(page)
    button(page, "Publish").click()
    assert "changed after dana approved it" in messages(page)
    assert "dana changed body (revision 2)" in messages(page)
    assert created_posts(mixpost) == []
    assert page.ctx.content.drafts.get(draft.id).status == "approved"
    # the edited revision is approved again (by another reviewer), then it goes out
    other = make_page("drafts", query={"draft": draft.id}, person="eve")
    assert not button(other, "Approve").disabled
    button(other, "Approve").click()
    assert "Approved revision 2 as eve" in messages(other), messages(other)
    assert button(other, "Approve").disabled  # unchanged since: nothing to approve
    button(other, "Publish").click()
    assert "Draft published" in messages(other), messages(other)
    (post,) = created_posts(mixpost)
    assert posted_body(post).startswith("Repair desk open 24/7!")


def test_publish_waits_for_the_other_drafts_then_reject_continues_the_run(
    make_page: PageFactory, runs: RunService, mixpost: MixpostServer
) -> None:
    run_id = start(runs, "two_posts", "Open on Sunday")
    facebook, linkedin = _drafts(make_page)
    page = make_page("drafts", query={"draft": facebook.id}, person="dana")
    button(page, "Approve").click()
    button(page, "Publish").click()
    assert f"still waits for 1 other draft(s) of its review ({linkedin.id})" in messages(page)
    assert created_posts(mixpost) == []
    other = make_page("drafts", query={"draft": linkedin.id}, person="dana")
    one(other, "sb-draft-note").value = "not for linkedin"
    button(other, "Reject").click()
    assert f"Rejected by dana. Run {run_id} is succeeded." in messages(other)
    posts = created_posts(mixpost)
    assert len(posts) == 1 and posted_body(posts[0]) == facebook.text
    assert button(other, "Approve").disabled and button(other, "Reject").disabled


def review_notice(page: Page) -> str:
    """The warning shown above the decision buttons, or ""."""
    html = one(page, "sb-draft-reviewers").value
    _, _, notice = html.partition('class="sb-notice sb-warn sb-review-refusal">')
    return notice.partition("</div>")[0]


def test_the_starter_and_people_without_the_role_are_refused(
    make_page: PageFactory, runs: RunService, mixpost: MixpostServer
) -> None:
    start(runs, "one_post", "Own run", by="dana")
    (draft,) = _drafts(make_page)
    page = make_page("drafts", query={"draft": draft.id}, person="dana")
    reviewers = text_of(one(page, "sb-draft-reviewers"))
    assert "Reviewers: manager, staff" in reviewers and "run started by Dana Manager" in reviewers
    refusal = "dana started this run and cannot approve its drafts"
    assert refusal in review_notice(page)
    button(page, "Approve").click()
    assert refusal in messages(page)
    marketing = make_page("drafts", query={"draft": draft.id}, person="sam")
    lacks = "sam lacks the role to review this draft (needs one of: manager, staff)"
    assert lacks in review_notice(marketing)
    button(marketing, "Reject").click()
    assert lacks in messages(marketing)
    assert page.ctx.content.drafts.get(draft.id).status == "in_review"
    staff = make_page("drafts", query={"draft": draft.id}, person="eve")
    assert review_notice(staff) == ""
    button(staff, "Approve").click()
    assert "Approved revision 1 as eve" in messages(staff), messages(staff)
    started = make_page("drafts", query={"draft": draft.id}, person="dana")
    publish_refusal = "dana started this run and cannot publish its drafts"
    assert publish_refusal in review_notice(started)
    button(started, "Publish").click()
    assert publish_refusal in messages(started)
    assert created_posts(mixpost) == []


def test_status_and_entity_filters(make_page: PageFactory, runs: RunService) -> None:
    start(runs, "two_posts", "Filter me")
    facebook, _ = _drafts(make_page)
    page = make_page("drafts", query={"status": "approved", "entity": "shop"}, person="dana")
    assert "No drafts with this status." in text_of(page)
    status = one(page, "sb-draft-status-filter")
    status.value = "in_review"
    assert facebook.id in text_of(page)
    status.value = ""
    assert "2 of 2" in text_of(one(page, "sb-table-drafts"))


def test_unknown_draft_shows_not_found(make_page: PageFactory) -> None:
    page = make_page("drafts", query={"draft": "drf_nope"}, person="dana")
    assert find_all(page, css="sb-not-found")
    assert "no draft with id 'drf_nope'" in text_of(page)


def test_without_a_person_nothing_can_be_decided(make_page: PageFactory, runs: RunService) -> None:
    start(runs, "one_post", "Sign in first")
    (draft,) = _drafts(make_page)
    page = make_page("drafts", query={"draft": draft.id})
    assert find_all(page, css="sb-sign-in")
    labels = {b.description for b in find_all(page, widgets.Button)}
    assert not labels & {"Approve", "Reject", "Publish", "Save edit", "Request changes"}
    assert "Sign in to edit, approve, reject or publish" in text_of(page)
    stranger = make_page("drafts", query={"draft": draft.id}, person="mallory")
    button(stranger, "Approve").click()
    assert "'mallory' is not in sops/people.yaml" in messages(stranger)
    assert stranger.ctx.content.drafts.get(draft.id).status == "in_review"


def test_a_failing_llm_leaves_the_draft_as_it_was(
    make_page: PageFactory, runs: RunService, llm: LlmServer
) -> None:
    start(runs, "one_post", "Weekend hours")
    (draft,) = _drafts(make_page)
    llm.stream_error_after = 2  # the server sends an error event mid-answer
    page = make_page("drafts", query={"draft": draft.id}, person="dana")
    one(page, "sb-draft-note").value = "shorter please"
    button(page, "Request changes").click()
    assert find_all(page.messages, css="sb-notice-error"), messages(page)
    assert one(page, "sb-draft-body").value == draft.body  # the partial text is gone
    assert not one(page, "sb-draft-body").disabled
    after = page.ctx.content.drafts.get(draft.id)
    assert after.revision == 1 and after.status == "in_review"


def test_without_an_llm_request_changes_records_the_note(
    make_page: PageFactory, runs: RunService, home: Path, db_url: str
) -> None:
    start(runs, "one_post", "Weekend hours")
    (draft,) = _drafts(make_page)
    environ = {
        "SOPBENCH_DB_URL": db_url,
        "SOPBENCH_SANDBOX_FILE": "off",
        "SOPBENCH_LLM_MODEL_FILE": str(home / "no-such-model.gguf"),
    }
    ctx = PageContext(load_settings(home, environ=environ))
    ctx.request = PageRequest(query={"draft": draft.id})
    ctx.person = "dana"
    try:
        page = page_class("drafts")(ctx)
        one(page, "sb-draft-note").value = "say it is the last week"
        button(page, "Request changes").click()
        assert "Changes requested (no LLM is configured)" in messages(page)
        after = ctx.content.drafts.get(draft.id)
        assert after.revision == 1 and after.status == "in_review"
        assert after.comments[-1]["body"] == "changes requested: say it is the last week"
    finally:
        ctx.close()
