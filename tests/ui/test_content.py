"""The Content page: drafts per entity and status, recent posts, templates and prompts."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.config import Settings, load_settings
from sopbench.content.drafts import DraftService
from sopbench.services.runs import RunService
from sopbench.testing.servers import MixpostServer
from sopbench.testing.widgets import find_all, text_of
from sopbench.ui import Page, PageContext, page_class
from tests.ui._content_home import MIXPOST_TOKEN, REPO, created_posts, write_home
from tests.ui.conftest import PageFactory


@pytest.fixture
def mixpost() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, mixpost: MixpostServer) -> Path:
    return write_home(tmp_path, mixpost.api_url)


@pytest.fixture
def settings(home: Path, db_url: str) -> Settings:
    environ = {
        "SOPBENCH_DB_URL": db_url,
        "SOPBENCH_SANDBOX_FILE": "off",
        "MIXPOST_TOKEN": MIXPOST_TOKEN,
    }
    return load_settings(home, environ=environ)


def section(page: Page, css: str) -> str:
    (found,) = find_all(page, css=css)
    return " ".join(text_of(found).split())


def test_counts_link_to_the_drafts_page_and_posts_show_their_ids(
    make_page: PageFactory, runs: RunService, mixpost: MixpostServer
) -> None:
    runs.start("two_posts", {"headline": "Open on Sunday"}, started_by="sam")
    runs.start("one_post", {"headline": "Still in review"}, started_by="sam")
    page = make_page("content")
    content = page.ctx.content
    facebook, linkedin, waiting = content.list_drafts(entity="shop")
    content.approve(facebook.id, person="dana")
    content.reject(linkedin.id, person="eve")
    assert len(created_posts(mixpost)) == 1

    page = make_page("content")
    counts = find_all(page, css="sb-content-counts")[0].value
    assert 'href="drafts.ipynb?status=published&amp;entity=shop">1</a>' in counts
    assert 'href="drafts.ipynb?status=rejected&amp;entity=shop">1</a>' in counts
    assert 'href="drafts.ipynb?status=in_review&amp;entity=shop">1</a>' in counts
    assert 'href="drafts.ipynb?status=all&amp;entity=shop">3</a>' in counts
    assert "1 draft(s) in review" in section(page, "sb-content-counts")
    posts = section(page, "sb-table-posts")
    published = content.drafts.get(facebook.id)
    assert published.post_id and published.post_id in posts
    assert "Facebook" in posts and "published" in posts
    (table,) = find_all(page, css="sb-table-posts")
    cells = "".join(getattr(c, "value", "") for c in table.grid.children)
    assert table.total == 1 and f"drafts.ipynb?draft={facebook.id}" in cells
    assert waiting.id not in cells


def test_templates_and_the_steps_that_write_content_per_entity(make_page: PageFactory) -> None:
    page = make_page("content")
    templates = section(page, "sb-table-templates")
    assert "Content templates (2)" in text_of(page)
    assert "announcement" in templates and "event_promo" in templates
    assert "headline*" in templates
    entities = section(page, "sb-content-entities")
    assert "Corner Shop" in entities and "friendly and plain-spoken" in entities
    assert "one_post.draft : template announcement → facebook · review" in entities
    assert "tip.write : LLM prompt “Write one practical tip about keeping a laptop" in entities
    assert "Nothing published yet." in text_of(page)


def test_many_drafts_stay_fast(make_page: PageFactory, settings: Settings) -> None:
    page = make_page("content")
    drafts = DraftService(page.ctx.db)
    for n in range(300):
        drafts.create(
            entity="shop",
            platform=("x", "facebook", "linkedin")[n % 3],
            body=f"Draft number {n}",
            author="test",
            status="in_review",
        )
    began = time.perf_counter()
    page = make_page("content")
    took = time.perf_counter() - began
    assert 'href="drafts.ipynb?status=in_review&amp;entity=shop">300</a>' in (
        find_all(page, css="sb-content-counts")[0].value
    )
    assert took < 3.0, f"the content page took {took:.2f}s with 300 drafts"


def test_the_reference_workspace_overview(tmp_path: Path, db_url: str) -> None:
    shutil.copytree(REPO / "sops", tmp_path / "ref" / "sops")
    settings = load_settings(
        tmp_path / "ref", environ={"SOPBENCH_DB_URL": db_url, "SOPBENCH_SANDBOX_FILE": "off"}
    )
    ctx = PageContext(settings)
    try:
        page = page_class("content")(ctx)
        text = " ".join(text_of(page).split())
    finally:
        ctx.close()
    assert "Content templates (12)" in text
    assert "Summit Federal IT" in text and "Summit PC & LAN" in text
    assert "xe_weekly_content_calendar.tip : LLM prompt" in text
