"""The Media page: prompt browser → request → approval by another person → job → asset.

The reference workspace (its 124 prompts and people.yaml) with its canva and
video connections pointed at the Canva and Videos doubles on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest
import yaml

from sopbench.config import Settings, load_settings
from sopbench.testing.servers.canva import EXPORT_PNG, CanvaServer
from sopbench.testing.servers.video import MP4_BYTES, VideoServer
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from tests.ui.conftest import REPO, PageFactory

CANVA_TOKEN = "canva-ui-token-7f3a19c2"
VIDEO_KEY = "sk-ui-video-key-55e1b0"
CANVA_PROMPT = "cs_pc_repair_price_board"  # computer_store; text slots title, rows


@pytest.fixture
def canva() -> Iterator[CanvaServer]:
    with CanvaServer(tokens={CANVA_TOKEN}, job_polls=1) as server:
        yield server


@pytest.fixture
def video() -> Iterator[VideoServer]:
    with VideoServer(keys={VIDEO_KEY}, job_polls=2, poll_after_ms=10) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, canva: CanvaServer, video: VideoServer) -> Path:
    target = tmp_path / "home"
    shutil.copytree(REPO / "sops", target / "sops")
    connections = {
        "canva": {
            "type": "canva",
            "base_url": canva.api_url,
            "secret": "CANVA_TOKEN",
            "options": {"poll_interval": 0.01, "backoff": 0.01, "brand_template_id": "BT_ui"},
        },
        "sora": {
            "type": "video",
            "base_url": video.api_url,
            "secret": "OPENAI_API_KEY",
            "options": {"poll_interval": 0.01, "backoff": 0.01, "retries": 1},
        },
    }
    (target / "sops" / "connections.yaml").write_text(
        yaml.safe_dump({"connections": connections}), encoding="utf-8"
    )
    return target


@pytest.fixture
def settings(home: Path, db_url: str) -> Settings:
    environ = {
        "SOPBENCH_DB_URL": db_url,
        "SOPBENCH_SANDBOX_FILE": "off",
        "CANVA_TOKEN": CANVA_TOKEN,
        "OPENAI_API_KEY": VIDEO_KEY,
    }
    return load_settings(home, environ=environ)


def one(page: Page, css: str) -> widgets.Widget:
    found = find_all(page, css=css)
    assert len(found) == 1, (css, text_of(page))
    return found[0]


def said(page: Page) -> str:
    return " ".join(text_of(page.messages).split())


def flat(page: Page, css: str) -> str:
    return " ".join(text_of(one(page, css)).split())


def refresh_until_done(page: Page, limit: int = 20) -> None:
    for _ in range(limit):
        found = find_all(page, widgets.Button, css="sb-refresh")
        if not found:
            return
        found[0].click()
    raise AssertionError(f"the job did not finish: {text_of(page)}")


def test_the_browser_filters_and_pages_the_library(make_page: PageFactory) -> None:
    page = make_page("media")
    assert "62 Canva image and 62 Sora video prompts for 28 services" in text_of(page)
    table = one(page, "sb-table-prompts")
    assert table.total == 124 and len(table.shown) == 15
    one(page, "sb-prompt-kind").value = "sora"
    table = one(page, "sb-table-prompts")
    assert table.total == 62 and {r["kind"] for r in table.shown} == {"sora"}
    one(page, "sb-prompt-entity").value = "computer_store"
    table = one(page, "sb-table-prompts")
    assert 0 < table.total < 62 and {r["entity"] for r in table.shown} == {"computer_store"}
    one(page, "sb-prompt-kind").value = ""
    one(page, "sb-prompt-search").value = "price board"
    assert CANVA_PROMPT in [r["id"] for r in one(page, "sb-table-prompts").shown]
    one(page, "sb-prompt-search").value = "zzz-no-such-words"
    assert "No prompt matches these filters." in text_of(page)
    one(page, "sb-prompt-search").value = ""
    one(page, "sb-prompt-entity").value = ""
    tags = one(page, "sb-prompt-tag")
    tags.value = tags.options[1][1]
    assert 0 < one(page, "sb-table-prompts").total < 124


def test_a_canva_request_is_approved_by_another_manager_and_its_image_shows(
    make_page: PageFactory, canva: CanvaServer
) -> None:
    page = make_page("media", query={"prompt": CANVA_PROMPT}, person="jess")
    about = flat(page, "sb-prompt-about")
    assert "Design type instagram_post" in about or "Design type" in about
    assert "Bench prices" in about and "Full prompt" in about
    assert "cost class low" in flat(page, "sb-cost-class")
    one(page, "sb-override-title").value = "Repair prices"
    button(page, "Request").click()
    assert "Requested med_" in said(page) and "waits for approval" in said(page)
    (view,) = page.ctx.media.list_requests()
    assert (view.status, view.requested_by) == ("requested", "jess")
    assert view.params["overrides"] == {"text": {"title": "Repair prices"}}
    assert canva.requests == []  # nothing paid before approval

    button(page, "Approve").click()  # the requester cannot approve her own request
    assert f"jess requested {view.id} and cannot approve or reject it" in said(page)
    devon = make_page("media", query={"request": view.id}, person="devon")
    button(devon, "Approve").click()
    assert "devon lacks the role" in said(devon)
    assert page.ctx.media.get(view.id).status == "requested" and canva.requests == []

    marco = make_page("media", person="marco")
    requests = one(marco, "sb-table-media-requests")
    assert view.id in text_of(requests)
    button(requests, "Approve").click()
    assert "Approved by Marco Diaz; the job is running." in said(marco), said(marco)
    autofill = canva.matching("POST", "/v1/autofills")[0].json
    assert autofill["brand_template_id"] == "BT_ui"
    assert autofill["data"]["title"] == {"type": "text", "text": "Repair prices"}
    bar = one(marco, "sb-progress")
    assert 0 < bar.value < 100
    refresh_until_done(marco)
    assert "The job succeeded" in said(marco)
    assert one(marco, "sb-progress").value == 100
    done = marco.ctx.media.get(view.id)
    assert done.status == "succeeded" and done.params["decided_by"] == "marco"
    asset = flat(marco, "sb-asset")
    assert done.asset and done.asset["files"][0] in asset
    assert one(marco, "sb-asset-preview").value == EXPORT_PNG


def test_a_sora_request_runs_to_its_video(make_page: PageFactory, video: VideoServer) -> None:
    page = make_page("media", person="sam")
    one(page, "sb-prompt-kind").value = "sora"
    first = one(page, "sb-table-prompts").shown[0]
    button(one(page, "sb-table-prompts"), "Select").click()
    one(page, "sb-override-seconds").value = 12
    assert "cost class high" in flat(page, "sb-cost-class")
    one(page, "sb-override-note").value = "End on the logo."
    button(page, "Request").click()
    (view,) = page.ctx.media.list_requests(status="requested")
    assert view.prompt_id == first["id"] and view.cost_class == "high"
    assert "Media request" in text_of(page) and view.id in text_of(page)  # opened it

    olivia = make_page("media", query={"request": view.id}, person="olivia")
    button(olivia, "Approve").click()
    create = video.matching("POST", "/v1/videos")[0].json
    assert create["seconds"] == "12" and create["prompt"].endswith("End on the logo.")
    refresh_until_done(olivia)
    done = olivia.ctx.media.get(view.id)
    assert done.status == "succeeded", done
    video_file = done.asset["files"][0] if done.asset else ""
    assert video_file.endswith("video.mp4") and video_file in flat(olivia, "sb-asset")
    assert (olivia.ctx.settings.home / video_file).read_bytes() == MP4_BYTES


def test_reject_and_the_status_filter(make_page: PageFactory, canva: CanvaServer) -> None:
    jess = make_page("media", query={"prompt": CANVA_PROMPT}, person="jess")
    button(jess, "Request").click()
    (view,) = jess.ctx.media.list_requests()
    marco = make_page("media", query={"request": view.id}, person="marco")
    one(marco, "sb-media-reason").value = "prices change next week"
    button(marco, "Reject").click()
    assert "Rejected by Marco Diaz; no job runs." in said(marco)
    rejected = marco.ctx.media.get(view.id)
    assert rejected.status == "rejected" and rejected.error == "prices change next week"
    assert canva.requests == []
    listing = make_page("media", query={"status": "requested"}, person="marco")
    assert "No media requests yet" in text_of(one(listing, "sb-table-media-requests"))
    one(listing, "sb-request-status-filter").value = "rejected"
    assert view.id in text_of(one(listing, "sb-table-media-requests"))


def test_unknown_ids_show_not_found(make_page: PageFactory) -> None:
    page = make_page("media", query={"request": "med_nope"}, person="marco")
    assert find_all(page, css="sb-not-found")
    assert "no media request 'med_nope'" in text_of(page)
    page = make_page("media", query={"prompt": "no_such_prompt"})
    assert find_all(page, css="sb-not-found")
    assert "no media prompt 'no_such_prompt'" in text_of(page)


def test_without_a_person_nothing_is_requested_or_decided(
    make_page: PageFactory, canva: CanvaServer
) -> None:
    jess = make_page("media", query={"prompt": CANVA_PROMPT}, person="jess")
    button(jess, "Request").click()
    (view,) = jess.ctx.media.list_requests()
    anonymous = make_page("media", query={"prompt": CANVA_PROMPT})
    assert "Sign in to request this image or video." in text_of(anonymous)
    assert not find_all(anonymous, widgets.Button, css="sb-request")
    assert button(one(anonymous, "sb-table-media-requests"), "Approve").disabled
    detail = make_page("media", query={"request": view.id})
    assert "Sign in to approve or reject this request." in text_of(detail)
    labels = {b.description for b in find_all(detail, widgets.Button)}
    assert not labels & {"Approve", "Reject"}
    assert detail.ctx.media.get(view.id).status == "requested" and canva.requests == []
