"""The video client (OpenAI Videos API shape) against the local Videos double."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import Secrets, Settings
from sopbench.errors import ConfigError, ConnectionNotConfigured
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RequestRejected,
    ServerError,
    ServiceTimeout,
)
from sopbench.integrations.video import (
    OpenAIVideos,
    VideoJobFailed,
    VideoProviderUnavailable,
    video_factory,
)
from sopbench.model.workspace import Connection
from sopbench.testing.servers.video import MP4_BYTES, VideoServer

KEY = "sk-proj-video-secret-key-ABCDEF"

_open: list[Any] = []


@pytest.fixture
def server() -> Iterator[VideoServer]:
    with VideoServer(keys={KEY}, job_polls=2, poll_after_ms=150) as srv:
        yield srv
    while _open:
        _open.pop().close()


def settings_for(tmp_path: Path, key: str = KEY) -> Settings:
    return Settings(home=tmp_path, db_url="sqlite://", secrets=Secrets([{"OPENAI_API_KEY": key}]))


def make_client(
    server: VideoServer, tmp_path: Path, key: str = KEY, **options: Any
) -> OpenAIVideos:
    opts: dict[str, Any] = {"poll_interval": 0.01, "backoff": 0.01}
    opts.update(options)
    timeout = float(opts.pop("timeout", 5.0))
    conn = Connection(
        type="video",
        base_url=server.api_url,
        secret="OPENAI_API_KEY",
        options=opts,
        timeout=timeout,
    )
    client = OpenAIVideos.from_connection(conn, settings_for(tmp_path, key))
    _open.append(client)
    return client


def test_create_poll_as_told_and_download(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    job = videos.create("A LAN party at dusk", seconds="8", size="1280x720", idempotency_key="k1")
    assert job.status == "queued" and job.poll_after == 0.15
    done = videos.wait(job)
    assert done.status == "completed" and done.progress == 100 and done.expires_at
    assert done.reference()["video_id"] == job.id
    assert videos.download(job.id) == MP4_BYTES
    assert videos.download(job.id, variant="thumbnail").startswith(b"RIFF")
    polls = server.matching("GET", f"/v1/videos/{job.id}")
    polls = [r for r in polls if not r.path.endswith("/content")]
    assert len(polls) == 3  # in_progress, in_progress, completed
    create = server.matching("POST", "/v1/videos")[0]
    arrivals = [create.at, *(r.at for r in polls)]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap >= 0.14 for gap in gaps), gaps  # openai-poll-after-ms honoured
    assert create.json == {
        "prompt": "A LAN party at dusk",
        "model": "sora-2",
        "seconds": "8",
        "size": "1280x720",
    }
    assert create.headers["idempotency-key"] == "k1"
    assert server.matching(path="/content")[0].headers["accept"] == "application/binary"


def test_without_poll_header_uses_own_interval(server: VideoServer, tmp_path: Path) -> None:
    server.poll_after_ms = None
    videos = make_client(server, tmp_path, poll_interval=0.05)
    assert videos.wait(videos.create("x")).status == "completed"


def test_list_remix_delete_and_replay(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    first = videos.create("one", idempotency_key="same")
    again = videos.create("one", idempotency_key="same")
    assert first.id == again.id and len(server.videos) == 1
    remix = videos.remix(first.id, "one, but at night")
    assert remix.raw["remixed_from_video_id"] == first.id
    assert [v.id for v in videos.list_videos()] == [remix.id, first.id]
    videos.delete(first.id)
    assert [v.id for v in videos.list_videos()] == [remix.id]


def test_auth_failure_never_shows_the_key(server: VideoServer, tmp_path: Path) -> None:
    wrong = "sk-wrong-key-that-the-server-echoes"
    videos = make_client(server, tmp_path, key=wrong)
    with pytest.raises(AuthFailed) as info:
        videos.create("x")
    text = f"{info.value} {info.value!r} {info.value.body}"
    assert "invalid_api_key" in text and "OPENAI_API_KEY" in text
    assert wrong not in text
    assert wrong in server.requests[-1].headers["authorization"]  # it was sent, then masked


def test_429_retry_after_on_poll(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    job = videos.create("x")
    server.rate_limit(1, retry_after=1, path=f"/v1/videos/{job.id}")
    assert videos.retrieve(job.id).status == "in_progress"
    limited, ok = server.matching("GET", f"/v1/videos/{job.id}")
    assert limited.status == 429 and ok.status == 200
    assert ok.at - limited.at >= 1.0


def test_5xx_then_success_and_beyond(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path, retries=2)
    job = videos.create("x")
    server.fail(2, 503, path=f"/v1/videos/{job.id}")
    assert videos.retrieve(job.id).id == job.id
    server.fail(3, 500, path=f"/v1/videos/{job.id}")
    with pytest.raises(ServerError, match="500"):
        videos.retrieve(job.id)


def test_create_without_key_is_not_retried_on_5xx(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    server.fail(1, 502, path="/v1/videos", method="POST")
    with pytest.raises(ServerError):
        videos.create("x")
    assert server.count("POST", "/v1/videos") == 1


def test_timeout_and_malformed(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path, retries=0, timeout=0.3)
    job = videos.create("x")
    server.slow(1.0, path=f"/v1/videos/{job.id}")
    with pytest.raises(ServiceTimeout):
        videos.retrieve(job.id)
    server.malformed(1, path=f"/v1/videos/{job.id}")
    with pytest.raises(MalformedResponse, match="not JSON"):
        videos.retrieve(job.id)
    server.malformed(
        1,
        path=f"/v1/videos/{job.id}",
        body=b'{"id": "v", "status": "dancing"}',
        content_type="application/json",
    )
    with pytest.raises(MalformedResponse, match="known status"):
        videos.retrieve(job.id)


def test_failed_job(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    server.fail_next_job("moderation_blocked", "The prompt was blocked")
    with pytest.raises(VideoJobFailed, match="moderation_blocked") as info:
        videos.wait(videos.create("x"))
    assert info.value.code == "moderation_blocked"


@pytest.mark.parametrize("status", [404, 410])
def test_retired_endpoint_is_provider_unavailable(
    server: VideoServer, tmp_path: Path, status: int
) -> None:
    videos = make_client(server, tmp_path)
    job = videos.create("x")
    server.retire(status)
    for call in (lambda: videos.create("y"), lambda: videos.retrieve(job.id)):
        with pytest.raises(VideoProviderUnavailable, match="video provider unavailable") as info:
            call()
        assert info.value.status == status
        assert "another compatible provider" in str(info.value)


def test_validation_and_verification_errors(server: VideoServer, tmp_path: Path) -> None:
    videos = make_client(server, tmp_path)
    with pytest.raises(RequestRejected, match="invalid_value") as info:
        videos.create("x", seconds="7")
    assert info.value.status == 400
    server.require_verification = True
    with pytest.raises(AuthFailed, match="must be verified"):
        videos.create("x")
    with pytest.raises(ConfigError):
        videos.create("  ")


def test_wait_timeout(server: VideoServer, tmp_path: Path) -> None:
    server.job_polls = 1000
    videos = make_client(server, tmp_path)
    with pytest.raises(Exception, match="still"):
        videos.wait(videos.create("x"), timeout=0.4)


def test_factory(server: VideoServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with pytest.raises(ConnectionNotConfigured, match="video"):
        video_factory(None, settings)
    with pytest.raises(ConfigError, match="unknown video provider 'veo'"):
        video_factory(
            Connection(type="video", secret="OPENAI_API_KEY", options={"provider": "veo"}),
            settings,
        )
    provider = video_factory(
        Connection(type="video", base_url=server.api_url, secret="OPENAI_API_KEY"), settings
    )
    _open.append(provider)
    assert provider.name == "openai"
    assert provider.create("x").status == "queued"
