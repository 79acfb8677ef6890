"""The Mixpost client against the local Mixpost double (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sopbench.config import Secrets
from sopbench.errors import ConnectionNotConfigured, SecretMissing
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ResourceGone,
    RetryPolicy,
    ServerError,
    ServiceTimeout,
)
from sopbench.integrations.mixpost import MixpostClient, PostContent, PostVersion
from sopbench.integrations.registry import default_clients
from sopbench.model.workspace import Connection
from sopbench.testing.servers import MixpostServer
from sopbench.testing.servers.mixpost import DEFAULT_ACCOUNTS

from ._support import FAST, MIXPOST_TOKEN, settings_with


@pytest.fixture
def client(mixpost_server: MixpostServer) -> Iterator[MixpostClient]:
    with_client = MixpostClient.create(
        mixpost_server.api_url,
        secrets=Secrets([{"MIXPOST_TOKEN": MIXPOST_TOKEN}]),
        timeout=2.0,
        retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05),
    )
    yield with_client
    with_client.close()


def test_accounts_of_every_provider(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    accounts = client.accounts()
    providers = {a.provider for a in accounts}
    assert {"twitch", "whatnot", "discord", "youtube", "tiktok", "facebook_page"} <= providers
    assert [a.id for a in client.accounts_for(["Twitch", "whatnot"])] == [9, 10]
    request = mixpost_server.requests[0]
    assert request.path == f"/mixpost/api/{mixpost_server.workspace}/accounts"
    assert request.headers["authorization"] == f"Bearer {MIXPOST_TOKEN}"
    assert request.headers["accept"] == "application/json"


def test_create_scheduled_post_with_versions_and_options(
    client: MixpostClient, mixpost_server: MixpostServer
) -> None:
    when = datetime(2027, 3, 14, 16, 30, tzinfo=UTC)
    post = client.create_post(
        accounts=[2, 7],
        versions=[
            PostVersion(
                content=[PostContent(body="Spring LAN Cup!")],
                options={"instagram": {"type": "reel"}, "tiktok": {"privacy_level": "PUBLIC"}},
            ),
            PostVersion(
                account_id=7, is_original=False, content=[PostContent(body="LAN Cup on TikTok")]
            ),
        ],
        schedule_at=when,
        timezone="America/Denver",
    )
    assert post.status == "scheduled"
    assert post.scheduled_at == "2027-03-14 10:30:00"  # 16:30 UTC in Denver
    body = mixpost_server.requests[-1].json
    assert body["date"] == "2027-03-14" and body["time"] == "10:30"
    assert body["timezone"] == "America/Denver" and body["schedule"] is True
    assert body["versions"][0]["options"]["instagram"] == {"type": "reel"}
    assert body["versions"][1] == {
        "account_id": 7,
        "is_original": False,
        "content": [{"body": "LAN Cup on TikTok", "url": None, "media": [], "video_thumbs": []}],
    }
    assert client.post(post.uuid).status == "scheduled"


def test_publish_now_then_read_status(client: MixpostClient) -> None:
    post = client.create_post(accounts=[9, 10, 11], body="Live now", publish_now=True)
    assert post.status == "publishing"
    assert client.post(post.uuid).status == "published"
    assert client.post(post.uuid).done


def test_draft_and_failed_statuses(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    draft = client.create_post(accounts=[1], body="Draft only")
    assert draft.status == "draft"
    mixpost_server.failing_accounts = {3}
    failed = client.create_post(accounts=[3], body="Will fail", publish_now=True)
    assert client.post(failed.uuid).status == "failed"
    assert [p.uuid for p in client.posts()] == [failed.uuid, draft.uuid]


def test_validation_error_names_fields(client: MixpostClient) -> None:
    with pytest.raises(RequestRejected) as info:
        client.create_post(accounts=[999], body="hi", schedule_at=None)
    assert info.value.status == 422
    assert "accounts.0" in info.value.errors
    assert "accounts.0" in str(info.value)


def test_auth_failure(mixpost_server: MixpostServer) -> None:
    client = MixpostClient.create(
        mixpost_server.api_url, secrets=Secrets([{"MIXPOST_TOKEN": "not-the-token-1234"}])
    )
    with client, pytest.raises(AuthFailed) as info:
        client.accounts()
    assert info.value.status == 401 and "Unauthenticated." in str(info.value)
    assert "MIXPOST_TOKEN" in str(info.value)  # the hint says which secret to check
    assert "not-the-token-1234" not in str(info.value)


def test_expired_token_mid_session(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    client.accounts()
    mixpost_server.deny_auth()
    with pytest.raises(AuthFailed):
        client.accounts()


def test_unknown_workspace(mixpost_server: MixpostServer) -> None:
    url = mixpost_server.api_url.replace(mixpost_server.workspace, "00000000-dead")
    client = MixpostClient.create(url, secrets=Secrets([{"MIXPOST_TOKEN": MIXPOST_TOKEN}]))
    with client, pytest.raises(ResourceGone) as info:
        client.accounts()
    assert "Workspace not found." in str(info.value)


def test_429_with_retry_after_is_waited_out(
    client: MixpostClient, mixpost_server: MixpostServer
) -> None:
    mixpost_server.rate_limit(times=1, retry_after=1, path="/posts")
    post = client.create_post(accounts=[1], body="after the wait", idempotency_key="sb-rl-1")
    posts = mixpost_server.matching("POST", "/posts")
    assert [r.status for r in posts] == [429, 201]
    assert posts[1].at - posts[0].at >= 1.0
    assert len(mixpost_server.posts) == 1 and mixpost_server.posts[0]["uuid"] == post.uuid


def test_429_without_key_is_not_retried(
    client: MixpostClient, mixpost_server: MixpostServer
) -> None:
    mixpost_server.rate_limit(times=1, retry_after=1, path="/posts")
    with pytest.raises(RateLimited) as info:
        client.create_post(accounts=[1], body="no key")
    assert info.value.retry_after == 1.0
    assert mixpost_server.count("POST", "/posts") == 1


def test_5xx_then_success(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    mixpost_server.fail(times=2, status=503)
    assert len(client.accounts()) == len(DEFAULT_ACCOUNTS)
    assert [r.status for r in mixpost_server.requests] == [503, 503, 200]


def test_5xx_persisting(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    mixpost_server.fail(times=None, status=500)
    with pytest.raises(ServerError):
        client.accounts()
    assert len(mixpost_server.requests) == 3


def test_timeout(mixpost_server: MixpostServer) -> None:
    mixpost_server.slow(1.0, times=None)
    client = MixpostClient.create(
        mixpost_server.api_url,
        secrets=Secrets([{"MIXPOST_TOKEN": MIXPOST_TOKEN}]),
        timeout=0.2,
        retry=RetryPolicy(attempts=1),
    )
    with client, pytest.raises(ServiceTimeout):
        client.accounts()


def test_malformed_responses(client: MixpostClient, mixpost_server: MixpostServer) -> None:
    mixpost_server.malformed(times=1)
    with pytest.raises(MalformedResponse):
        client.accounts()
    mixpost_server.malformed(
        times=1, body=b'{"data": {"oops": 1}}', content_type="application/json"
    )
    with pytest.raises(MalformedResponse) as info:
        client.accounts()
    assert "list of accounts" in str(info.value)
    mixpost_server.malformed(times=1, body=b'{"id": 3}', path="/posts", status=201)
    with pytest.raises(MalformedResponse):
        client.create_post(accounts=[1], body="x", idempotency_key="sb-m-1")


def test_repeated_key_does_not_post_twice(
    client: MixpostClient, mixpost_server: MixpostServer
) -> None:
    first = client.create_post(accounts=[1, 2], body="Once", idempotency_key="sb-same")
    again = client.create_post(accounts=[1, 2], body="Once", idempotency_key="sb-same")
    assert first.uuid == again.uuid and len(mixpost_server.posts) == 1


def test_find_recent_when_the_server_ignores_keys(
    mixpost_server: MixpostServer, tmp_path: Path
) -> None:
    mixpost_server.honour_idempotency_key = False
    adapter = default_clients()["mixpost"](
        Connection(type="mixpost", base_url=mixpost_server.api_url, secret="MIXPOST_TOKEN"),
        settings_with(tmp_path, {"MIXPOST_TOKEN": MIXPOST_TOKEN}),
    )
    first = adapter.publish(accounts=[9], body="Stream at 8", idempotency_key="k1")
    again = adapter.publish(accounts=[9], body="Stream at 8", idempotency_key="k1")
    assert again["post_id"] == first["post_id"] and again["repeat"] is True
    assert len(mixpost_server.posts) == 1
    assert adapter.status(first["post_id"])["status"] in ("publishing", "published", "scheduled")
    other = adapter.publish(accounts=[9], body="Stream at 9", idempotency_key="k2")
    assert other["post_id"] != first["post_id"]
    assert {a["provider"] for a in adapter.accounts()} >= {"twitch", "whatnot"}


def test_connection_shapes(mixpost_server: MixpostServer, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {"MIXPOST_TOKEN": MIXPOST_TOKEN})
    site = Connection(
        type="mixpost",
        base_url=mixpost_server.url,
        secret="MIXPOST_TOKEN",
        options={"workspace": mixpost_server.workspace, **FAST},
    )
    client = MixpostClient.from_connection(site, settings)
    with client:
        assert client.accounts()
    with pytest.raises(ConnectionNotConfigured, match="secret"):
        MixpostClient.from_connection(Connection(type="mixpost", base_url="http://x"), settings)
    with pytest.raises(ConnectionNotConfigured, match="base_url"):
        MixpostClient.from_connection(Connection(type="mixpost", secret="MIXPOST_TOKEN"), settings)
    with pytest.raises(ConnectionNotConfigured, match="mixpost"):
        default_clients()["mixpost"](None, settings)
    unset = default_clients()["mixpost"](site, settings_with(tmp_path, {}))
    with pytest.raises(SecretMissing, match="MIXPOST_TOKEN"):
        unset.accounts()


def test_secret_never_in_errors_or_logs(
    mixpost_server: MixpostServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = MixpostClient.create(
        mixpost_server.api_url,
        secrets=Secrets([{"MIXPOST_TOKEN": MIXPOST_TOKEN}]),
        retry=RetryPolicy(attempts=2, backoff=0.01),
    )
    texts: list[str] = []
    mixpost_server.fail(times=None, status=500, body=f"token={MIXPOST_TOKEN}".encode())
    with client:
        for call in (client.accounts, lambda: client.post(MIXPOST_TOKEN)):
            try:
                call()
            except Exception as exc:
                texts.append(str(exc))
                texts.append(repr(exc.__dict__))
    assert len(texts) == 4
    assert all(MIXPOST_TOKEN not in t for t in texts)
    assert MIXPOST_TOKEN not in caplog.text
