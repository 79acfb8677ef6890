"""The Discord webhook client against the local Discord double (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.config import Secrets
from sopbench.errors import ConnectionNotConfigured, IntegrationError, SecretMissing
from sopbench.integrations.discord import (
    DiscordWebhook,
    Embed,
    EmbedField,
    MessageTooLarge,
    check_message,
)
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ResourceGone,
    RetryPolicy,
    ServiceTimeout,
)
from sopbench.integrations.registry import default_clients
from sopbench.model.workspace import Connection
from sopbench.testing.servers import DiscordServer

from ._support import DISCORD_ID, DISCORD_TOKEN, FAST, settings_with


def make(
    server: DiscordServer, *, url: str | None = None, timeout: float = 2.0, attempts: int = 3
) -> DiscordWebhook:
    secrets = Secrets([{"DISCORD_WEBHOOK": url or server.webhook_url(DISCORD_ID)}])
    return DiscordWebhook(
        "DISCORD_WEBHOOK",
        secrets=secrets,
        timeout=timeout,
        retry=RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05),
    )


@pytest.fixture
def hook(discord_server: DiscordServer) -> Iterator[DiscordWebhook]:
    with make(discord_server) as client:
        yield client


def test_execute_waits_for_the_message(hook: DiscordWebhook, discord_server: DiscordServer) -> None:
    message = hook.execute(
        "Shop opens at nine",
        embeds=[Embed(title="Hours", fields=[EmbedField("Mon", "9-5", inline=True)])],
        username="Summit PC",
    )
    assert message.id and message.content == "Shop opens at nine"
    request = discord_server.requests[0]
    assert request.path == f"/api/v10/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"
    assert request.param("wait") == "true"
    assert "authorization" not in request.headers  # the token in the path is the credential
    assert request.json["allowed_mentions"] == {"parse": []}
    assert request.json["embeds"][0]["fields"] == [{"name": "Mon", "value": "9-5", "inline": True}]
    assert hook.get_message(message.id).content == "Shop opens at nine"
    assert hook.edit_message(message.id, "Opens at ten").content == "Opens at ten"
    hook.delete_message(message.id)
    with pytest.raises(ResourceGone):
        hook.get_message(message.id)


def test_thread_and_unversioned_url(discord_server: DiscordServer) -> None:
    url = discord_server.webhook_url(DISCORD_ID, version=False)
    with make(discord_server, url=url) as hook:
        message = hook.execute("in a thread", thread_id="555")
    assert message.channel_id == "555"
    assert discord_server.requests[0].path.startswith("/api/webhooks/")


@pytest.mark.parametrize(
    ("content", "embeds", "problem"),
    [
        ("x" * 2001, [], "content is 2001 characters"),
        (None, [], "needs content or at least one embed"),
        ("hi", [Embed(title="t")] * 11, "11 embeds"),
        ("hi", [Embed(title="t" * 257)], "title is 257"),
        ("hi", [Embed(description="d" * 4097)], "description is 4097"),
        ("hi", [Embed(fields=[EmbedField("n", "v")] * 26)], "26 fields"),
        ("hi", [Embed(fields=[EmbedField("n" * 257, "v")])], "field 0 name is 257"),
        ("hi", [Embed(fields=[EmbedField("n", "v" * 1025)])], "field 0 value is 1025"),
        ("hi", [Embed(footer="f" * 2049)], "footer is 2049"),
        ("hi", [Embed(author="a" * 257)], "author is 257"),
        ("hi", [Embed(description="d" * 4000), Embed(description="d" * 2001)], "6001 characters"),
    ],
)
def test_limits_are_checked_before_sending(
    hook: DiscordWebhook,
    discord_server: DiscordServer,
    content: str | None,
    embeds: list[Embed],
    problem: str,
) -> None:
    with pytest.raises(MessageTooLarge) as info:
        hook.execute(content, embeds=embeds)
    assert problem in str(info.value)
    assert discord_server.requests == []  # nothing was sent


def test_limits_at_the_edge_pass() -> None:
    check_message("x" * 2000, [Embed(description="d" * 4096), Embed(title="t" * 256)])
    check_message(None, [{"title": "raw dict embed"}])


def test_the_server_enforces_the_same_limits(discord_server: DiscordServer) -> None:
    """The double rejects what the client refuses (sent raw, bypassing the client)."""
    import httpx

    url = discord_server.webhook_url(DISCORD_ID)
    answer = httpx.post(url, params={"wait": "true"}, json={"content": "x" * 2001})
    assert answer.status_code == 400 and answer.json()["code"] == 50035
    assert "content" in answer.json()["errors"]
    assert httpx.post(url, json={}).json()["code"] == 50006
    assert httpx.post(url, json={"content": "no wait"}).status_code == 204


def test_server_side_validation_error_is_structured(
    hook: DiscordWebhook, discord_server: DiscordServer
) -> None:
    """A limit the client does not know (username ≤ 80) comes back as field errors."""
    with pytest.raises(RequestRejected) as info:
        hook.execute("hi", username="u" * 81)
    assert info.value.status == 400 and info.value.errors == {
        "username": ["Must be 80 or fewer in length."]
    }
    assert "Invalid Form Body (code 50035)" in str(info.value)


def test_auth_failure(discord_server: DiscordServer) -> None:
    bad = f"{discord_server.url}/api/webhooks/{DISCORD_ID}/not-the-token-zz9"
    with make(discord_server, url=bad) as hook, pytest.raises(AuthFailed) as info:
        hook.execute("hi")
    assert info.value.status == 401 and "Invalid Webhook Token" in str(info.value)
    assert "not-the-token-zz9" not in str(info.value)
    assert "DISCORD_WEBHOOK" in str(info.value)  # which secret to fix


def test_deleted_webhook_is_gone(discord_server: DiscordServer) -> None:
    gone = f"{discord_server.url}/api/webhooks/999/token-of-deleted-hook"
    with make(discord_server, url=gone) as hook, pytest.raises(ResourceGone) as info:
        hook.execute("hi")
    assert "Unknown Webhook" in str(info.value)
    assert "create a new one" in str(info.value)


def test_not_a_webhook_url(discord_server: DiscordServer) -> None:
    with make(discord_server, url="not a url at all") as hook:
        with pytest.raises(IntegrationError, match="does not hold a webhook URL"):
            hook.execute("hi")


def test_429_retry_after_json_is_obeyed(
    hook: DiscordWebhook, discord_server: DiscordServer
) -> None:
    discord_server.rate_limit(times=1, retry_after=0.6)
    hook.execute("after the limit", idempotency_key="sb-d-1")
    first, second = discord_server.requests
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 0.6  # body retry_after (0.6), not the header (1)
    assert len(discord_server.messages) == 1


def test_429_without_key_is_not_retried(
    hook: DiscordWebhook, discord_server: DiscordServer
) -> None:
    discord_server.rate_limit(times=1, retry_after=0.25)
    with pytest.raises(RateLimited) as info:
        hook.execute("no key")
    assert info.value.retry_after == 0.25
    assert len(discord_server.requests) == 1


def test_bucket_headers_make_the_next_call_wait(
    hook: DiscordWebhook, discord_server: DiscordServer
) -> None:
    discord_server.bucket_limit = 2
    discord_server.rate_window = 0.8
    for i in range(3):
        hook.execute(f"message {i}", idempotency_key=f"sb-b-{i}")
    statuses = [r.status for r in discord_server.requests]
    assert statuses == [200, 200, 200]  # the third waited for X-RateLimit-Reset-After
    times = [r.at for r in discord_server.requests]
    assert times[2] - times[0] >= 0.75


def test_bucket_429_is_waited_out(discord_server: DiscordServer) -> None:
    """Another client drained the bucket: the 429's retry_after is obeyed."""
    discord_server.bucket_limit = 1
    discord_server.rate_window = 0.5
    import httpx

    httpx.post(discord_server.webhook_url(DISCORD_ID), json={"content": "other client"})
    with make(discord_server) as hook:
        hook.execute("mine", idempotency_key="sb-bucket")
    statuses = [r.status for r in discord_server.requests]
    assert statuses == [204, 429, 200]
    assert discord_server.requests[2].at - discord_server.requests[1].at >= 0.3
    scope = discord_server.requests[1]
    assert scope.status == 429


def test_5xx_then_success(hook: DiscordWebhook, discord_server: DiscordServer) -> None:
    discord_server.fail(times=2, status=502)
    hook.execute("eventually", idempotency_key="sb-5xx")
    assert [r.status for r in discord_server.requests] == [502, 502, 200]


def test_timeout(discord_server: DiscordServer) -> None:
    discord_server.slow(1.0, times=None)
    with make(discord_server, timeout=0.2) as hook, pytest.raises(ServiceTimeout) as info:
        hook.execute("slow")
    assert DISCORD_TOKEN not in str(info.value)
    assert len(discord_server.requests) == 1  # an unkeyed POST is never repeated


def test_malformed_response(hook: DiscordWebhook, discord_server: DiscordServer) -> None:
    discord_server.malformed(times=1)
    with pytest.raises(MalformedResponse) as info:
        hook.execute("x")
    assert DISCORD_TOKEN not in str(info.value)
    discord_server.malformed(times=1, body=b'{"content": "no id"}', content_type="application/json")
    with pytest.raises(MalformedResponse, match="with an id"):
        hook.execute("x")


# -- the adapter the notification step uses ---------------------------------------------


def test_adapter_send(discord_server: DiscordServer, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {"DISCORD_WEBHOOK_OPS": discord_server.webhook_url()})
    adapter = default_clients()["discord"](None, settings)
    sent = adapter.send(
        channel={"type": "discord", "secret": "DISCORD_WEBHOOK_OPS"},
        message="Disk at 91%",
        subject="Alert",
        idempotency_key="sb-n-1",
    )
    assert sent["message_id"] == discord_server.messages[0]["id"]
    assert discord_server.messages[0]["content"] == "**Alert**\nDisk at 91%"
    assert discord_server.requests[0].headers["idempotency-key"] == "sb-n-1"


def test_adapter_configuration_errors(discord_server: DiscordServer, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {})
    adapter = default_clients()["discord"](None, settings)
    with pytest.raises(SecretMissing) as missing:
        adapter.send(
            channel={"type": "discord", "secret": "DISCORD_WEBHOOK_OPS"},
            message="x",
            subject=None,
            idempotency_key="k",
        )
    assert "set DISCORD_WEBHOOK_OPS" in str(missing.value)
    with pytest.raises(ConnectionNotConfigured, match="secret"):
        adapter.send(channel={"type": "discord"}, message="x", subject=None, idempotency_key="k")
    with pytest.raises(ConnectionNotConfigured, match="type http"):
        default_clients()["discord"](Connection(type="http"), settings)
    via_connection = default_clients()["discord"](
        Connection(type="discord", secret="HOOK", options=FAST, timeout=3),
        settings_with(tmp_path, {"HOOK": discord_server.webhook_url()}),
    )
    sent = via_connection.send(
        channel={"type": "discord"}, message="via connection", subject=None, idempotency_key="k"
    )
    assert sent["message_id"]


def test_webhook_url_never_in_errors_or_logs(
    discord_server: DiscordServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    url = discord_server.webhook_url(DISCORD_ID)
    discord_server.fail(times=1, status=500, body=f"echo {url}".encode())
    discord_server.fail(times=1, status=400, body=f'{{"message": "bad {DISCORD_TOKEN}"}}'.encode())
    discord_server.malformed(times=1, body=DISCORD_TOKEN.encode())
    with make(discord_server) as hook:
        for _ in range(3):
            try:
                hook.execute("hi")
            except IntegrationError as exc:
                texts.append(f"{exc}\n{exc.__dict__!r}\n{hook!r}")
    assert len(texts) == 3
    for text in texts:
        assert DISCORD_TOKEN not in text and url not in text
    assert "HTTP Request: POST" in caplog.text
    assert DISCORD_TOKEN not in caplog.text
