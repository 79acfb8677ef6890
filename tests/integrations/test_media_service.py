"""Media requests over the state database, against the Canva and Videos doubles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopbench.config import Secrets, Settings
from sopbench.content.media import MediaRequestView, MediaService, cost_class
from sopbench.content.media_adapter import MediaAdapter, media_factory, service_for
from sopbench.content.prompts import load_prompt_library
from sopbench.errors import ConnectionNotConfigured, DecisionRefused, NotFound
from sopbench.integrations.canva import CanvaClient
from sopbench.integrations.http import ServerError
from sopbench.integrations.video import video_factory
from sopbench.model.workspace import Connection
from sopbench.store import Database, open_database
from sopbench.testing.servers.canva import EXPORT_PNG, CanvaServer
from sopbench.testing.servers.video import MP4_BYTES, VideoServer

CANVA_TOKEN = "canva-media-token-ABC123456"
VIDEO_KEY = "sk-media-video-key-XYZ987654"

SERVICES = {
    "services": {
        "lan_nights": {
            "entity": "computer_store",
            "name": "LAN nights",
            "description": "Friday LAN tournaments at the store.",
            "audience": "local gamers",
        }
    }
}
CANVA = {
    "prompts": [
        {
            "id": "cs_lan_square",
            "service": "lan_nights",
            "title": "Friday LAN square post",
            "design_type": "instagram_post",
            "size": "1080x1080",
            "brand_colors": ["#111827", "#F97316"],
            "text_slots": {
                "headline": {"max_chars": 30, "example": "Friday LAN night"},
                "detail": {"max_chars": 60, "example": "Doors 7pm, bring your squad"},
            },
            "prompt": "Dark background, orange neon accents, a row of gaming rigs lit up.",
        }
    ]
}
SORA = {
    "prompts": [
        {
            "id": "cs_lan_teaser",
            "service": "lan_nights",
            "title": "LAN night teaser",
            "seconds": 8,
            "size": "1280x720",
            "shot": "Slow dolly along a row of glowing gaming PCs, players leaning in, cheering.",
            "audio": "Upbeat synth, crowd cheer at the end.",
        },
        {
            "id": "cs_lan_long",
            "service": "lan_nights",
            "title": "LAN night long cut",
            "model": "sora-2-pro",
            "seconds": 12,
            "size": "1792x1024",
            "shot": "Wide shot of the whole LAN centre filling up, then a close-up of a trophy.",
            "audio": "Crowd noise and a short announcer line.",
        },
    ]
}


def write_workspace(home: Path, connections: dict[str, Any] | None = None) -> None:
    prompts = home / "sops" / "prompts"
    (prompts / "canva").mkdir(parents=True)
    (prompts / "sora").mkdir()
    (prompts / "services.yaml").write_text(yaml.safe_dump(SERVICES))
    (prompts / "canva" / "computer_store.yaml").write_text(yaml.safe_dump(CANVA))
    (prompts / "sora" / "computer_store.yaml").write_text(yaml.safe_dump(SORA))
    if connections is not None:
        (home / "sops" / "connections.yaml").write_text(
            yaml.safe_dump({"connections": connections})
        )


@pytest.fixture
def canva() -> Iterator[CanvaServer]:
    with CanvaServer(tokens={CANVA_TOKEN}, job_polls=1) as srv:
        yield srv


@pytest.fixture
def video() -> Iterator[VideoServer]:
    with VideoServer(keys={VIDEO_KEY}, job_polls=1, poll_after_ms=10) as srv:
        yield srv


def conns(canva: CanvaServer, video: VideoServer, **canva_options: Any) -> dict[str, Any]:
    return {
        "canva": {
            "type": "canva",
            "base_url": canva.api_url,
            "secret": "CANVA_TOKEN",
            "options": {"poll_interval": 0.01, "backoff": 0.01, **canva_options},
        },
        "sora": {
            "type": "video",
            "base_url": video.api_url,
            "secret": "OPENAI_API_KEY",
            "options": {"poll_interval": 0.01, "backoff": 0.01, "retries": 1},
        },
    }


def settings_for(home: Path, db_url: str, canva_token: str = CANVA_TOKEN) -> Settings:
    return Settings(
        home=home,
        db_url=db_url,
        secrets=Secrets([{"CANVA_TOKEN": canva_token, "OPENAI_API_KEY": VIDEO_KEY}]),
    )


def service(
    tmp_path: Path,
    database: Database,
    canva: CanvaServer,
    video: VideoServer,
    canva_token: str = CANVA_TOKEN,
    **canva_options: Any,
) -> MediaService:
    home = tmp_path / "home"
    if not home.exists():
        write_workspace(home)
    settings = settings_for(home, str(database.url), canva_token)
    mine = conns(canva, video, **canva_options)
    canva_conn = Connection.model_validate(mine["canva"])
    video_conn = Connection.model_validate(mine["sora"])
    return MediaService(
        database,
        settings,
        library=load_prompt_library(home),
        canva=lambda: CanvaClient.from_connection(canva_conn, settings),
        video=lambda: video_factory(video_conn, settings),
        canva_options=canva_conn.options,
    )


def until_done(media: MediaService, request_id: str, timeout: float = 10.0) -> MediaRequestView:
    deadline = time.monotonic() + timeout
    view = media.get(request_id)
    while not view.done:
        assert time.monotonic() < deadline, view
        time.sleep(0.02)
        view = media.poll(request_id)
    return view


def test_cost_classes(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    library = load_prompt_library(tmp_path)
    assert not library.problems, library.problems
    assert cost_class(library.get("cs_lan_square")) == "low"
    assert cost_class(library.get("cs_lan_teaser")) == "medium"
    assert cost_class(library.get("cs_lan_teaser"), {"seconds": 12}) == "high"
    assert cost_class(library.get("cs_lan_long")) == "high"


def test_no_paid_job_before_approval_then_canva_autofill_export(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(
        tmp_path, database, canva, video, brand_templates={"instagram_post": "BT_square"}
    )
    view = media.request(
        "computer_store",
        "cs_lan_square",
        {"text": {"headline": "LAN tonight!"}},
        requested_by="riley",
    )
    assert view.status == "requested" and view.kind == "canva" and view.cost_class == "low"
    with pytest.raises(DecisionRefused, match="not approved"):
        media.start(view.id)
    assert media.poll(view.id).status == "requested"
    assert canva.requests == []  # nothing paid ran
    started = media.approve(view.id, by="morgan")
    assert started.status == "running" and started.params["phase"] == "design"
    autofill = canva.matching("POST", "/v1/autofills")[0].json
    assert autofill["brand_template_id"] == "BT_square"
    assert autofill["data"] == {
        "headline": {"type": "text", "text": "LAN tonight!"},
        "detail": {"type": "text", "text": "Doors 7pm, bring your squad"},
    }
    done = until_done(media, view.id)
    assert done.status == "succeeded" and done.error is None
    asset = done.asset
    assert asset is not None and asset["kind"] == "canva" and asset["design_id"]
    assert asset["export"]["urls"] and not asset["blank"]
    [file] = asset["files"]
    assert (media.settings.home / file).read_bytes() == EXPORT_PNG
    assert done.params["decided_by"] == "morgan"
    with pytest.raises(DecisionRefused):
        media.approve(view.id, by="morgan")


def test_canva_without_template_makes_a_blank_design(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(tmp_path, database, canva, video)
    view = media.request("computer_store", "cs_lan_square", approved=True)
    design = canva.matching("POST", "/v1/designs")[0].json
    assert design["design_type"] == {"type": "custom", "width": 1080, "height": 1080}
    done = until_done(media, view.id)
    assert done.status == "succeeded" and done.asset and done.asset["blank"]
    assert done.asset["edit_url"]


def test_sora_job_and_downloads(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(tmp_path, database, canva, video)
    view = media.request(
        "computer_store",
        "cs_lan_teaser",
        {"note": "End on the logo."},
        approved=True,
        idempotency_key="run1:media",
    )
    assert view.status == "running" and view.cost_class == "medium"
    create = video.matching("POST", "/v1/videos")[0]
    assert create.json["seconds"] == "8" and create.json["size"] == "1280x720"
    assert create.json["prompt"].endswith("End on the logo.")
    assert create.headers["idempotency-key"] == f"{view.id}:start"
    done = until_done(media, view.id)
    assert done.status == "succeeded"
    assert done.asset is not None and done.asset["video_id"] == view.job_id
    video_file, thumb = done.asset["files"]
    assert (media.settings.home / video_file).read_bytes() == MP4_BYTES
    assert (media.settings.home / thumb).exists()
    again = media.request(
        "computer_store", "cs_lan_teaser", approved=True, idempotency_key="run1:media"
    )
    assert again.id == view.id and video.count("POST", "/v1/videos") == 1


def test_failed_jobs_and_retired_provider(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(tmp_path, database, canva, video)
    video.fail_next_job("moderation_blocked", "The prompt was blocked")
    failed = until_done(media, media.request("computer_store", "cs_lan_teaser", approved=True).id)
    assert failed.status == "failed" and "moderation_blocked" in (failed.error or "")
    canva.fail_next_job("export", "license_required", "Premium elements")
    failed = until_done(media, media.request("computer_store", "cs_lan_square", approved=True).id)
    assert failed.status == "failed" and "license_required" in (failed.error or "")
    video.retire(410)
    gone = media.request("computer_store", "cs_lan_teaser", approved=True)
    assert gone.status == "failed" and "video provider unavailable" in (gone.error or "")


def test_reject(tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer) -> None:
    media = service(tmp_path, database, canva, video)
    view = media.request("computer_store", "cs_lan_teaser")
    rejected = media.reject(view.id, by="morgan", reason="off-brand")
    assert rejected.status == "rejected" and rejected.error == "off-brand"
    with pytest.raises(DecisionRefused):
        media.approve(view.id, by="morgan")
    assert video.requests == []
    assert [v.id for v in media.list_requests(status="rejected")] == [view.id]
    with pytest.raises(NotFound):
        media.get("med_missing")
    with pytest.raises(NotFound, match="no media prompt"):
        media.request("computer_store", "cs_nope")


def test_durable_across_restarts(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    first = service(tmp_path, database, canva, video)
    view = first.request("computer_store", "cs_lan_teaser", approved=True)
    assert view.status == "running"
    del first  # the process "dies" with a running job
    reopened = open_database(str(database.url.render_as_string(hide_password=False)))
    try:
        second = service(tmp_path, reopened, canva, video)
        assert second.get(view.id).job_id == view.job_id
        assert until_done(second, view.id).status == "succeeded"
    finally:
        reopened.dispose()
    assert video.count("POST", "/v1/videos") == 1


def test_cut_short_start_is_repeated_with_the_same_key(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(tmp_path, database, canva, video)
    video.fail(5, 503, path="/v1/videos", method="POST")
    with pytest.raises(ServerError):
        media.request("computer_store", "cs_lan_teaser", approved=True, idempotency_key="k")
    [stuck] = media.list_requests(status="starting")
    video.clear_faults()
    assert [v.status for v in media.poll_all()] == ["running"]
    assert until_done(media, stuck.id).status == "succeeded"
    keys = {r.headers["idempotency-key"] for r in video.matching("POST", "/v1/videos")}
    assert keys == {f"{stuck.id}:start"} and len(video.videos) == 1


def test_transient_poll_errors_are_noted_not_fatal(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    media = service(tmp_path, database, canva, video)
    view = media.request("computer_store", "cs_lan_teaser", approved=True)
    video.fail(5, 502, path=f"/v1/videos/{view.job_id}")
    noted = media.poll(view.id)
    assert noted.status == "running" and "502" in noted.params["last_error"]
    video.clear_faults()
    assert until_done(media, view.id).status == "succeeded"


def test_auth_failure_fails_the_request_without_the_secret(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer, db_url: str
) -> None:
    wrong = "wrong-canva-token-SHOULD-NOT-LEAK"
    media = service(tmp_path, database, canva, video, canva_token=wrong)
    failed = media.request("computer_store", "cs_lan_square", approved=True)
    assert failed.status == "failed" and "401" in (failed.error or "")
    assert "CANVA_TOKEN" in (failed.error or "")
    rows = [v.as_dict() for v in media.list_requests()]
    assert wrong not in repr(rows)
    if db_url.startswith("sqlite"):
        database.dispose()  # checkpoint; then grep the file itself
        raw = b"".join(p.read_bytes() for p in Path(db_url[10:]).parent.glob("sopbench.db*"))
        assert wrong.encode() not in raw


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_step_adapter_end_to_end(
    tmp_path: Path, db_url: str, canva: CanvaServer, video: VideoServer
) -> None:
    home = tmp_path / "ws"
    write_workspace(home, conns(canva, video))
    settings = settings_for(home, db_url)
    adapter = media_factory(None, settings)
    assert isinstance(adapter, MediaAdapter)
    made = adapter.request(
        "computer_store", "cs_lan_teaser", {}, run_id="run_1", idempotency_key="run_1:s:media-job"
    )
    deadline = time.monotonic() + 10
    status = adapter.status(made["request_id"])
    while status["asset"] is None:
        assert status["status"] in ("running", "succeeded"), status
        assert time.monotonic() < deadline
        time.sleep(0.02)
        status = adapter.status(made["request_id"])
    assert status["asset"]["kind"] == "sora" and status["error"] is None
    # the step's named connection picks the provider of that type
    db = open_database(db_url)
    try:
        svc = service_for(settings, db, Connection(type="video", base_url="http://x", secret="K"))
        assert svc.get(made["request_id"]).run_id == "run_1"
    finally:
        db.dispose()


def test_missing_connection_is_not_a_failed_request(
    tmp_path: Path, database: Database, canva: CanvaServer, video: VideoServer
) -> None:
    configured = service(tmp_path, database, canva, video)
    unconfigured = MediaService(database, configured.settings, library=configured.library)
    with pytest.raises(ConnectionNotConfigured, match="no video connection"):
        unconfigured.request("computer_store", "cs_lan_teaser", approved=True, idempotency_key="m")
    [waiting] = configured.list_requests(status="starting")
    assert video.requests == []
    assert until_done(configured, waiting.id).status == "succeeded"
