"""The HTTP steps on the shared HTTP layer, against a server that checks credentials.

:class:`Gate` is a real HTTP server on 127.0.0.1 that answers 401 unless a
request carries what its path's auth kind says (bearer, header, basic,
query), and echoes the request headers back, so a credential that leaks
into a step's result is seen. The workspace's connections name each kind.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine.support import BASE, Bench, environ

from sopbench.config import load_settings
from sopbench.engine import idempotency_key
from sopbench.errors import SopbenchError
from sopbench.integrations.http import HttpConnection, RateLimited, ServerError
from sopbench.library import load_workspace
from sopbench.model.workspace import Connection
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.testing.recorder import Recorder
from sopbench.testing.servers import LocalServer, Recorded, Reply

TOKEN = "gate-tok-5c81e0aa93f4"
PASSWORD = "pa55-w0rd-7e2b"
BASIC = base64.b64encode(f"clerk:{PASSWORD}".encode()).decode()


class Gate(LocalServer):
    """``/<kind>/...`` needs that kind's credentials; ``/open/...`` needs none."""

    name = "gate"

    def handle(self, request: Recorded) -> Reply:
        kind = request.path.strip("/").split("/")[0]
        allowed = {
            "bearer": request.headers.get("authorization") == f"Bearer {TOKEN}",
            "header": request.headers.get("x-shop-key") == TOKEN,
            "basic": request.headers.get("authorization") == f"Basic {BASIC}",
            "query": request.param("key") == TOKEN,
            "open": True,
        }
        if not allowed.get(kind, False):
            return Reply(401, {"message": "Unauthenticated."})
        return Reply(
            200,
            {"kind": kind, "query": request.query, "headers": request.headers},
            headers={"X-Request-Id": f"gate-{len(self.requests)}"},
        )


CONNECTIONS = """\
  gate_bearer: {{type: http, base_url: "{url}", secret: SHOP_TOKEN}}
  gate_header:
    {{type: http, base_url: "{url}", secret: SHOP_TOKEN, auth: header, header: X-Shop-Key}}
  gate_basic: {{type: http, base_url: "{url}", secret: SHOP_BASIC, auth: basic}}
  gate_query: {{type: http, base_url: "{url}/query", secret: SHOP_TOKEN, auth: query, param: key}}
  gate_wrong: {{type: http, base_url: "{url}", secret: OLD_TOKEN}}
  gate_fast:
    type: http
    base_url: "{url}/open"
    auth: none
    timeout: 1
    options: {{backoff: 0.01, max_backoff: 0.02, max_wait: 5}}
"""

SOPS = {
    "gate_all": """\
sop_id: gate_all
entity: shop
name: Every auth kind
steps:
  - {id: bearer, type: api_call, with: {connection: gate_bearer, path: /bearer/items}}
  - {id: header, type: api_call, with: {connection: gate_header, path: /header/items}}
  - {id: basic, type: api_call, with: {connection: gate_basic, path: /basic/items}}
  - id: query
    type: api_call
    with: {connection: gate_query, path: /items, params: {sku: LAP-1}}
  - {id: hook, type: webhook, with: {connection: gate_basic, path: /basic/hook, body: {a: 1}}}
""",
    "gate_wrong": """\
sop_id: gate_wrong
entity: shop
name: A secret the service refuses
steps:
  - {id: call, type: api_call, with: {connection: gate_wrong, path: /bearer/items}}
""",
    "gate_get": """\
sop_id: gate_get
entity: shop
name: A GET through a flaky service
steps:
  - {id: call, type: api_call, with: {connection: gate_fast, path: /items}}
""",
    "gate_post": """\
sop_id: gate_post
entity: shop
name: A POST through a flaky service
steps:
  - id: call
    type: api_call
    with: {method: POST, connection: gate_fast, path: /orders, json: {sku: A}}
""",
}


@pytest.fixture
def gate() -> Iterator[Gate]:
    with Gate() as server:
        assert isinstance(server, Gate)
        yield server


@pytest.fixture
def bench(tmp_path: Path, gate: Gate, database: Database, db_url: str, recorder: Recorder) -> Bench:
    home = tmp_path / "home"
    (home / "sops").mkdir(parents=True)
    for name in ("entities.yaml", "people.yaml"):
        (home / "sops" / name).write_text((BASE / name).read_text(encoding="utf-8"))
    (home / "sops" / "connections.yaml").write_text(
        "connections:\n" + CONNECTIONS.format(url=gate.url), encoding="utf-8"
    )
    (home / "sops" / "shop").mkdir()
    for sop_id, text in SOPS.items():
        (home / "sops" / "shop" / f"{sop_id}.yaml").write_text(text, encoding="utf-8")
    secrets = {"SHOP_TOKEN": TOKEN, "SHOP_BASIC": f"clerk:{PASSWORD}", "OLD_TOKEN": "old-tok-1"}
    settings = load_settings(home, environ={**environ(db_url), **secrets})
    workspace = load_workspace(home)
    assert workspace.problems == [], "\n".join(map(str, workspace.problems))
    service = RunService(settings, workspace=workspace, database=database)
    return Bench(home, settings, service, database, recorder)


def test_every_auth_kind_sends_what_it_says(bench: Bench, gate: Gate) -> None:
    view = bench.start("gate_all")
    assert view.run.status == "succeeded", view.run.error
    assert [r.status for r in gate.requests] == [200] * 5

    steps = bench.steps(view.run.id)
    assert {p: steps[p].result["json"]["kind"] for p in ("bearer", "header", "basic")} == {
        "bearer": "bearer",
        "header": "header",
        "basic": "basic",
    }
    # the query key rides along with the step's own parameters
    assert steps["query"].result["json"]["query"] == {"sku": ["LAP-1"], "key": ["***"]}
    assert gate.requests[3].param("key") == TOKEN and gate.requests[3].param("sku") == "LAP-1"
    hook = gate.requests[4]
    assert (hook.method, hook.path) == ("POST", "/basic/hook")
    assert hook.headers["idempotency-key"] == idempotency_key(view.run.id, "hook", "webhook")
    assert steps["hook"].result == {"status": 200}

    # echoed credentials are masked in results; none is stored anywhere
    assert steps["bearer"].result["json"]["headers"]["authorization"] == "Bearer ***"
    assert steps["basic"].result["json"]["headers"]["authorization"] == "Basic ***"
    assert steps["header"].result["json"]["headers"]["x-shop-key"] == "***"
    dump = bench.dump()
    for secret in (TOKEN, PASSWORD, BASIC):
        assert secret not in dump


def test_a_refused_secret_fails_the_step_naming_the_secret_not_its_value(
    bench: Bench, gate: Gate
) -> None:
    view = bench.start("gate_wrong")
    assert view.run.status == "failed"
    error = bench.steps(view.run.id)["call"].error or ""
    assert error == (
        f"http: GET {gate.url}/bearer/items answered 401: Unauthenticated. "
        "(check the secret OLD_TOKEN: is it current and allowed?)"
    )
    assert "old-tok-1" not in bench.dump()
    assert len(gate.requests) == 1


def test_a_get_is_retried_within_the_call(bench: Bench, gate: Gate) -> None:
    gate.fail(2, 503, path="/open/items")
    view = bench.start("gate_get")
    assert view.run.status == "succeeded", view.run.error
    assert [r.status for r in gate.requests] == [503, 503, 200]
    assert bench.steps(view.run.id)["call"].attempt == 1


def test_a_post_is_never_repeated_within_the_call(bench: Bench, gate: Gate) -> None:
    gate.fail(1, 503, path="/open/orders")
    view = bench.start("gate_post")
    assert view.run.status == "failed"
    assert [r.status for r in gate.requests] == [503]

    gate.reset()
    gate.slow(2.0, path="/open/orders")  # the connection's timeout is 1 s: outcome unknown
    view = bench.start("gate_post")
    assert view.run.status == "failed"
    assert "got no answer within 1s" in (bench.steps(view.run.id)["call"].error or "")
    # the call has returned, so nothing more can come from it: one POST only
    assert [(r.method, r.path) for r in gate.requests] == [("POST", "/open/orders")]


def test_a_long_retry_after_fails_at_once_carrying_the_wait(bench: Bench, gate: Gate) -> None:
    """Longer than the connection's max_wait (5 s): no sleep here, the wait is handed on."""
    client = HttpConnection(
        bench.service.workspace.connections.connections["gate_fast"],  # type: ignore[union-attr]
        bench.settings,
    )
    gate.rate_limit(1, retry_after=120, path="/open/items")
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        client.call("GET", client.url("/items"))
    assert limited.value.retry_after == 120
    gate.fail(1, 503, retry_after=90, path="/open/items")
    with pytest.raises(ServerError) as unavailable:
        client.call("GET", client.url("/items"))
    assert unavailable.value.retry_after == 90
    assert time.monotonic() - started < 2
    assert len(gate.requests) == 2

    # a step without `retry` fails on it at once, the wait named in its error
    gate.rate_limit(1, retry_after=120, path="/open/items")
    view = bench.start("gate_get")
    assert view.run.status == "failed"
    assert f"http: GET {gate.url}/open/items answered 429" in (
        bench.steps(view.run.id)["call"].error or ""
    )
    assert time.monotonic() - started < 4


def test_a_bare_url_gets_no_credentials_and_a_clear_error_without_one(
    bench: Bench, gate: Gate
) -> None:
    client = HttpConnection(None, bench.settings)
    answer = client.call("GET", f"{gate.url}/open/x", params={"a": "1"})
    assert answer["status"] == 200 and "authorization" not in answer["json"]["headers"]
    with pytest.raises(SopbenchError, match="needs a url"):
        client.url(None)
    with pytest.raises(SopbenchError, match="no base_url"):
        HttpConnection(Connection(type="http"), bench.settings)
