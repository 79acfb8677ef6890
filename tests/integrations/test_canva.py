"""The Canva Connect client against the local Canva double (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import Secrets, Settings
from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations.canva import (
    CanvaClient,
    CanvaJobFailed,
    OperationLimiter,
    canva_factory,
    text_field,
)
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    ServiceTimeout,
)
from sopbench.model.workspace import Connection
from sopbench.testing.servers.canva import EXPORT_PNG, CanvaServer

TOKEN = "canva-oauth-access-token-XYZ987"


@pytest.fixture
def server() -> Iterator[CanvaServer]:
    with CanvaServer(tokens={TOKEN}, job_polls=1) as srv:
        yield srv


_open: list[CanvaClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def make_client(
    server: CanvaServer, tmp_path: Path, token: str = TOKEN, **options: Any
) -> CanvaClient:
    opts: dict[str, Any] = {"poll_interval": 0.01, "backoff": 0.01, "rate_limits": False}
    opts.update(options)
    timeout = float(opts.pop("timeout", 5.0))
    conn = Connection(
        type="canva", base_url=server.api_url, secret="CANVA_TOKEN", options=opts, timeout=timeout
    )
    settings = Settings(
        home=tmp_path, db_url="sqlite://", secrets=Secrets([{"CANVA_TOKEN": token}])
    )
    client = CanvaClient.from_connection(conn, settings)
    _open.append(client)
    return client


def test_autofill_then_export_then_download(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    job = canva.autofill("BT_square", {"headline": text_field("Spring LAN")}, title="Spring")
    assert job.status == "in_progress"
    done = canva.wait(job)
    assert done.status == "success" and done.design_id
    export = canva.wait(canva.export(done.design_id, {"type": "png"}))
    assert len(export.urls) == 1
    ref = export.reference()
    assert ref["provider"] == "canva" and ref["urls"] == export.urls and ref["urls_expire_at"]
    assert canva.download(export.urls[0]) == EXPORT_PNG
    autofill_polls = server.matching("GET", "/v1/autofills/")
    assert [r.status for r in autofill_polls] == [200, 200]  # in_progress, then success
    assert all(
        r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.matching(path="/rest/")
    )
    download = server.matching(path="/files/")[0]
    assert "authorization" not in download.headers  # pre-signed URLs get no token


def test_designs_and_url_upload(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    design = canva.create_design(title="Flyer")
    assert design["id"] in {d["id"] for d in canva.list_designs()}
    upload = canva.wait(canva.upload_from_url("logo", "https://example.com/logo.png"))
    assert upload.asset and upload.reference()["asset_id"] == upload.asset["id"]


def test_auth_failure_names_the_secret_not_its_value(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path, token="wrong-token-value-123")
    with pytest.raises(AuthFailed) as info:
        canva.create_design(title="x")
    err = info.value
    assert err.status == 401 and err.service == "canva"
    assert "invalid_access_token" in str(err) and "CANVA_TOKEN" in str(err)
    assert "wrong-token-value-123" not in str(err) and "wrong-token-value-123" not in repr(err)


def test_429_retry_after_is_honoured(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    design_id = server.add_design()
    server.rate_limit(1, retry_after=1, path="/v1/exports")
    job = canva.export(design_id, {"type": "pdf"})
    first, second = server.matching("POST", "/v1/exports")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.0
    assert job.status == "in_progress"


def test_server_side_operation_limit_then_wait(server: CanvaServer, tmp_path: Path) -> None:
    server.rate_limits = {"create_export": 2}
    server.rate_window = 1.0
    canva = make_client(server, tmp_path)
    design_id = server.add_design()
    for _ in range(3):
        canva.export(design_id, {"type": "png"})
    statuses = [r.status for r in server.matching("POST", "/v1/exports")]
    assert statuses == [200, 200, 429, 200]
    limited, after = server.matching("POST", "/v1/exports")[2:]
    assert after.at - limited.at >= 0.9


def test_client_side_limiter_avoids_429s(server: CanvaServer, tmp_path: Path) -> None:
    server.rate_limits = {"create_design": 2}
    server.rate_window = 0.5
    canva = make_client(server, tmp_path)
    canva.limiter = OperationLimiter({"create_design": 2}, window=0.5)
    for n in range(4):
        canva.create_design(title=f"d{n}")
    posts = server.matching("POST", "/v1/designs")
    assert [r.status for r in posts] == [200] * 4
    assert posts[2].at - posts[0].at >= 0.45


def test_unsafe_create_without_key_is_not_retried_on_429(
    server: CanvaServer, tmp_path: Path
) -> None:
    canva = make_client(server, tmp_path)
    server.rate_limit(1, retry_after=1, path="/v1/autofills")
    with pytest.raises(RateLimited) as info:
        canva.autofill("BT", {"t": text_field("x")})
    assert info.value.retry_after == 1
    assert "too_many_requests" in str(info.value)
    assert server.count("POST", "/v1/autofills") == 1


def test_keyed_create_is_retried_and_replayed(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    server.fail(1, 503, path="/v1/autofills")
    first = canva.autofill("BT", {"t": text_field("x")}, idempotency_key="media-1")
    again = canva.autofill("BT", {"t": text_field("x")}, idempotency_key="media-1")
    assert first.id == again.id
    assert [r.status for r in server.matching("POST", "/v1/autofills")] == [503, 200, 200]
    assert len(server.jobs) == 1


def test_5xx_burst_while_polling_then_success(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    job = canva.autofill("BT", {"t": text_field("x")})
    server.fail(2, 502, path="/v1/autofills/")
    assert canva.wait(job).status == "success"
    assert [r.status for r in server.matching("GET", "/v1/autofills/")][:3] == [502, 502, 200]


def test_5xx_beyond_retries_is_a_server_error(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path, retries=1)
    server.fail(5, 500, path="/v1/designs")
    with pytest.raises(ServerError, match="internal_error"):
        canva.list_designs()
    assert server.count("GET", "/v1/designs") == 2


def test_timeout(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path, retries=0, timeout=0.3)
    server.slow(1.0, path="/v1/designs")
    with pytest.raises(ServiceTimeout, match=r"no answer within 0\.3s"):
        canva.list_designs()


def test_malformed_response(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    design_id = server.add_design()
    server.malformed(1, path="/v1/exports", method="POST")
    with pytest.raises(MalformedResponse, match="not JSON"):
        canva.export(design_id, {"type": "png"})
    server.malformed(
        1, path="/v1/exports", method="POST", body=b'{"job": {}}', content_type="application/json"
    )
    with pytest.raises(MalformedResponse, match="unexpected job"):
        canva.export(design_id, {"type": "png"})


def test_failed_job_and_validation_errors(server: CanvaServer, tmp_path: Path) -> None:
    canva = make_client(server, tmp_path)
    design_id = server.add_design()
    server.fail_next_job("export", "license_required", "The design uses premium elements")
    job = canva.export(design_id, {"type": "png"})
    with pytest.raises(CanvaJobFailed, match="license_required") as info:
        canva.wait(job)
    assert info.value.code == "license_required"
    assert canva.wait(job, raise_on_failure=False).status == "failed"
    with pytest.raises(RequestRejected, match="invalid_field"):
        canva.export(design_id, {"type": "bmp"})
    with pytest.raises(RequestRejected, match="not_found"):
        canva.export("DAF_missing", {"type": "png"})


def test_wait_gives_up_after_timeout(server: CanvaServer, tmp_path: Path) -> None:
    server.job_polls = 1000
    canva = make_client(server, tmp_path)
    job = canva.autofill("BT", {"t": text_field("x")})
    with pytest.raises(Exception, match="still in progress"):
        canva.wait(job, timeout=0.2)


def test_factory_uses_connection_or_says_what_to_set(server: CanvaServer, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, db_url="sqlite://", secrets=Secrets([{"CANVA_TOKEN": TOKEN}])
    )
    with pytest.raises(ConnectionNotConfigured, match="canva"):
        canva_factory(None, settings)
    with pytest.raises(ConnectionNotConfigured, match="CANVA_TOKEN"):
        canva_factory(Connection(type="canva"), settings)
    conn = Connection(type="canva", base_url=server.api_url, secret="CANVA_TOKEN")
    client = canva_factory(conn, settings)
    _open.append(client)
    assert client.list_designs() == []
