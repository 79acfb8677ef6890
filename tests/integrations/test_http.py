"""The shared HTTP layer (retries, Retry-After, safety of unsafe calls, errors, redaction)
against a real local server."""

from __future__ import annotations

import itertools
import logging
import socket
import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from sopbench.config import Secrets
from sopbench.errors import SecretMissing
from sopbench.integrations.http import (
    AuthFailed,
    HttpService,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ResourceGone,
    RetryPolicy,
    ServerError,
    ServiceTimeout,
    TransportFailed,
    bearer_auth,
    header_auth,
    parse_retry_after,
)
from sopbench.testing.servers import LocalServer, Recorded, Reply

TOKEN = "echo-token-99aa77bb55"


class EchoServer(LocalServer):
    name = "echo"

    def handle(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": f"bad token {request.headers.get('authorization')}"})
        if request.path == "/missing":
            return Reply(404, {"message": "no such thing"})
        if request.path == "/invalid":
            return Reply(422, {"message": "invalid", "errors": {"name": ["is required"]}})
        return Reply(
            200,
            {"path": request.path, "method": request.method},
            headers={"X-Request-Id": f"req-{len(self.requests)}"},
        )


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        assert isinstance(server, EchoServer)
        yield server


def service(
    server: LocalServer, *, token: str = TOKEN, timeout: float = 5.0, attempts: int = 4
) -> HttpService:
    secrets = Secrets([{"ECHO_TOKEN": token}])
    return HttpService(
        "echo",
        server.url,
        auth=bearer_auth(secrets, "ECHO_TOKEN"),
        secrets=secrets,
        timeout=timeout,
        retry=RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05),
    )


def gaps(server: LocalServer) -> list[float]:
    times = [r.at for r in server.requests]
    return [b - a for a, b in itertools.pairwise(times)]


def test_success_sends_auth_resolved_at_call_time(echo: EchoServer) -> None:
    values = {"ECHO_TOKEN": "first-value-123"}
    secrets = Secrets([values])
    with HttpService(
        "echo", echo.url, auth=bearer_auth(secrets, "ECHO_TOKEN"), secrets=secrets
    ) as svc:
        values["ECHO_TOKEN"] = TOKEN  # rotated after the service was built
        response = svc.request("GET", "/things")
        assert svc.json(response, dict) == {"path": "/things", "method": "GET"}
        assert svc.request_id(response) == "req-1"
        assert TOKEN not in repr(svc) and "first-value" not in repr(svc)
    assert echo.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert echo.requests[0].headers["accept"] == "application/json"


def test_missing_secret_names_it(echo: EchoServer) -> None:
    svc = HttpService("echo", echo.url, auth=bearer_auth(Secrets([{}]), "ECHO_TOKEN"))
    with svc, pytest.raises(SecretMissing) as info:
        svc.request("GET", "/x")
    assert "ECHO_TOKEN" in str(info.value) and "set ECHO_TOKEN" in str(info.value)
    assert echo.requests == []


def test_auth_failure_is_structured_and_redacted(echo: EchoServer) -> None:
    with service(echo, token="wrong-token-abcdef") as svc, pytest.raises(AuthFailed) as info:
        svc.request("GET", "/x")
    error = info.value
    assert error.service == "echo" and error.status == 401
    assert "wrong-token-abcdef" not in str(error)  # the server echoed it; we masked it
    assert "***" in str(error)
    assert len(echo.requests) == 1  # never retried


def test_retry_after_seconds_on_429_is_obeyed(echo: EchoServer) -> None:
    echo.rate_limit(times=1, retry_after=1)
    with service(echo) as svc:
        svc.request("GET", "/x")
    assert [r.status for r in echo.requests] == [429, 200]
    assert gaps(echo)[0] >= 1.0


def test_retry_after_http_date_on_503_is_obeyed(echo: EchoServer) -> None:
    when = formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1 < wait <= 2
    echo.fail(times=1, status=503, retry_after=when)
    with service(echo) as svc:
        svc.request("GET", "/x")
    assert [r.status for r in echo.requests] == [503, 200]
    assert gaps(echo)[0] >= 0.9


def test_5xx_burst_then_success_with_backoff(echo: EchoServer) -> None:
    echo.fail(times=3, status=502)
    with service(echo) as svc:
        response = svc.request("GET", "/x")
    assert response.status_code == 200
    assert [r.status for r in echo.requests] == [502, 502, 502, 200]


def test_5xx_after_all_attempts_is_server_error(echo: EchoServer) -> None:
    echo.fail(times=None, status=500)
    with service(echo, attempts=3) as svc, pytest.raises(ServerError) as info:
        svc.request("GET", "/x")
    assert info.value.status == 500 and len(echo.requests) == 3


def test_unsafe_call_without_key_is_never_retried(echo: EchoServer) -> None:
    echo.fail(times=1, status=503, retry_after=0)
    with service(echo) as svc, pytest.raises(ServerError):
        svc.request("POST", "/things", json={"a": 1})
    assert len(echo.requests) == 1


def test_unsafe_call_with_key_is_retried_with_the_same_key(echo: EchoServer) -> None:
    echo.rate_limit(times=2, retry_after=0)
    with service(echo) as svc:
        svc.request("POST", "/things", json={"a": 1}, idempotency_key="sb-key-1")
    assert [r.status for r in echo.requests] == [429, 429, 200]
    assert {r.headers["idempotency-key"] for r in echo.requests} == {"sb-key-1"}


def test_too_long_retry_after_fails_at_once(echo: EchoServer) -> None:
    echo.rate_limit(times=1, retry_after=3600)
    with service(echo) as svc, pytest.raises(RateLimited) as info:
        svc.request("GET", "/x")
    assert info.value.retry_after == 3600 and len(echo.requests) == 1


def test_timeout_is_service_timeout(echo: EchoServer) -> None:
    echo.slow(1.0, times=None)
    started = time.monotonic()
    with service(echo, timeout=0.2, attempts=2) as svc, pytest.raises(ServiceTimeout) as info:
        svc.request("GET", "/x")
    assert time.monotonic() - started < 1.5
    assert "0.2s" in str(info.value) and info.value.service == "echo"
    assert len(echo.requests) == 2  # a GET is retried once more, then given up


def test_timeout_of_an_unsafe_call_is_not_retried(echo: EchoServer) -> None:
    echo.slow(1.0, times=None)
    with service(echo, timeout=0.2) as svc, pytest.raises(ServiceTimeout):
        svc.request("POST", "/x", json={})
    assert len(echo.requests) == 1


def test_connection_refused_is_transport_failed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secrets = Secrets([{"ECHO_TOKEN": TOKEN}])
    svc = HttpService(
        "echo",
        f"http://127.0.0.1:{port}",
        auth=bearer_auth(secrets, "ECHO_TOKEN"),
        secrets=secrets,
        retry=RetryPolicy(attempts=2, backoff=0.01),
    )
    with svc, pytest.raises(TransportFailed) as info:
        svc.request("POST", "/x", json={})
    assert "ConnectError" in str(info.value) and TOKEN not in str(info.value)


def test_malformed_json_body(echo: EchoServer) -> None:
    echo.malformed(times=1)
    with service(echo) as svc:
        response = svc.request("GET", "/x")
        with pytest.raises(MalformedResponse) as info:
            svc.json(response)
        assert info.value.status == 200 and "not JSON" in str(info.value)
        good = svc.request("GET", "/x")
        with pytest.raises(MalformedResponse):
            svc.json(good, list)


def test_status_classes(echo: EchoServer) -> None:
    with service(echo) as svc:
        with pytest.raises(ResourceGone):
            svc.request("GET", "/missing")
        with pytest.raises(RequestRejected) as info:
            svc.request("POST", "/invalid", json={})
        assert info.value.errors == {"name": ["is required"]}
        assert "name: is required" in str(info.value)


def test_header_auth_and_extra_sensitive_values(echo: EchoServer) -> None:
    secrets = Secrets([{"K": "header-key-123456"}])
    svc = HttpService(
        "echo", echo.url, auth=header_auth(secrets, "K", "X-Api-Key"), secrets=secrets
    )
    svc.add_sensitive("minted-token-zzz")
    with svc, pytest.raises(AuthFailed) as info:
        svc.request("GET", "/minted-token-zzz")
    assert echo.requests[0].headers["x-api-key"] == "header-key-123456"
    assert "minted-token-zzz" not in str(info.value)


def test_no_secret_in_logs(echo: EchoServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo.fail(times=1, status=503, retry_after=0)
    with service(echo) as svc:
        svc.request("GET", f"/echo/{TOKEN}")
    assert "retry 1" in caplog.text  # the layer logs its retries
    assert "HTTP Request: GET" in caplog.text  # httpx logs the URL, masked by our filter
    assert "/echo/***" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("1.5", 1.5), ("-2", 0.0), (None, None), ("soon", None), ("", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_retry_policy_from_options() -> None:
    policy = RetryPolicy.from_options({"retries": 0, "backoff": 2, "max_wait": 5})
    assert policy.attempts == 1 and policy.backoff == 2 and policy.max_wait == 5
    assert 0.5 <= RetryPolicy(backoff=1).delay(1) <= 1.0
    assert RetryPolicy(backoff=1, max_backoff=4).delay(10) <= 4
