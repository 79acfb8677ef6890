"""The Zoho CRM client against the local Zoho double (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.config import Secrets
from sopbench.errors import ConnectionNotConfigured, SecretMissing
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    RetryPolicy,
    ServerError,
    ServiceTimeout,
)
from sopbench.integrations.registry import ZohoAdapter, default_clients
from sopbench.integrations.zoho import (
    ZohoAuthError,
    ZohoCRM,
    ZohoDuplicateRecord,
    ZohoInvalidData,
    ZohoInvalidRequest,
    ZohoMandatoryMissing,
    ZohoRateLimited,
    criteria,
    escape_value,
)
from sopbench.model.workspace import Connection
from sopbench.testing.servers import ZohoServer

from ._support import FAST, SECRET_VALUES, secrets_for, settings_with


def make(server: ZohoServer, *, timeout: float = 2.0, attempts: int = 3, **values: str) -> ZohoCRM:
    secrets = Secrets([{**secrets_for(zoho=server), **values}])
    return ZohoCRM(
        secrets=secrets,
        accounts_url=server.accounts_url,
        timeout=timeout,
        retry=RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=0.05),
    )


@pytest.fixture
def crm(zoho_server: ZohoServer) -> Iterator[ZohoCRM]:
    with make(zoho_server) as client:
        yield client


def api_requests(server: ZohoServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests]


# -- OAuth -------------------------------------------------------------------------------


def test_api_domain_from_the_token(zoho_server: ZohoServer) -> None:
    """Without a base URL the client uses the token response's ``api_domain``."""
    with make(zoho_server) as crm:
        assert crm.search("Leads", word="nobody") == []
    assert zoho_server.requests[1].path == "/crm/v8/Leads/search"
    assert zoho_server.tokens_minted() == 1


def test_token_minted_once_and_cached_across_clients(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    crm.insert_one("Leads", {"Last_Name": "Ada", "Email": "ada@example.com"})
    crm.search("Leads", email="ada@example.com")
    with make(zoho_server) as other:
        other.get("Leads", "1")
    assert zoho_server.tokens_minted() == 1
    token_call = zoho_server.requests[0]
    assert token_call.path == "/oauth/v2/token" and token_call.method == "POST"
    assert token_call.param("grant_type") == "refresh_token"
    assert token_call.param("refresh_token") == zoho_server.refresh_token
    api = zoho_server.requests[1]
    assert api.headers["authorization"].startswith("Zoho-oauthtoken 1000.")
    assert api.path == "/crm/v8/Leads"


def test_invalid_token_refreshes_and_repeats_once(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    crm.insert_one("Leads", {"Last_Name": "Ada"})
    zoho_server.expire_tokens()  # the hour is over
    result = crm.insert_one("Leads", {"Last_Name": "Bob"})
    assert result.id and zoho_server.tokens_minted() == 2
    assert [r.status for r in zoho_server.matching("POST", "/crm/v8/Leads")] == [201, 401, 201]
    assert len(zoho_server.records("Leads")) == 2


def test_auth_failure_when_refresh_does_not_help(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.deny_auth(path="/crm/")
    with pytest.raises(ZohoAuthError) as info:
        crm.search("Leads", word="x")
    error = info.value
    assert isinstance(error, AuthFailed) and error.status == 401 and error.code == "INVALID_TOKEN"
    assert "ZOHO_REFRESH_TOKEN" in str(error)  # the hint names the secrets to check
    assert zoho_server.tokens_minted() == 2  # one refresh, then give up


def test_refused_refresh_token(zoho_server: ZohoServer) -> None:
    with make(zoho_server, ZOHO_REFRESH_TOKEN="1000.revoked-token-xyz") as crm:
        with pytest.raises(ZohoAuthError) as info:
            crm.get("Leads", "1")
    assert info.value.code == "invalid_code" and info.value.status == 200
    assert "1000.revoked-token-xyz" not in str(info.value)
    assert "ZOHO_CLIENT_ID" in str(info.value)


def test_mint_limit(zoho_server: ZohoServer) -> None:
    zoho_server.mint_limit = 1
    with make(zoho_server) as crm:
        crm.get("Leads", "1")
        zoho_server.expire_tokens()
        with pytest.raises(ZohoAuthError) as info:
            crm.get("Leads", "1")
    assert "too many requests" in str(info.value)


def test_missing_secret_names_it(zoho_server: ZohoServer) -> None:
    crm = ZohoCRM(secrets=Secrets([{}]), accounts_url=zoho_server.accounts_url)
    with crm, pytest.raises(SecretMissing) as info:
        crm.get("Leads", "1")
    assert "ZOHO_CLIENT_ID" in str(info.value)
    assert zoho_server.requests == []


# -- writes --------------------------------------------------------------------------------


def test_upsert_with_duplicate_check_updates_instead_of_inserting(
    crm: ZohoCRM, zoho_server: ZohoServer
) -> None:
    first = crm.upsert_one(
        "Leads",
        {"Last_Name": "Ada", "Email": "ada@example.com", "Company": "A"},
        duplicate_check_fields=["Email"],
    )
    second = crm.upsert_one(
        "Leads",
        {"Last_Name": "Ada", "Email": "ADA@example.com", "Company": "B"},
        duplicate_check_fields=["Email"],
    )
    assert first.action == "insert" and second.action == "update"
    assert second.id == first.id and second.duplicate_field == "Email"
    records = zoho_server.records("Leads")
    assert len(records) == 1 and records[0]["Company"] == "B"
    body = zoho_server.matching("POST", "/upsert")[0].json
    assert body["duplicate_check_fields"] == ["Email"]


def test_batch_insert_with_per_record_errors(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.add_record("Leads", {"Last_Name": "Old", "Email": "old@example.com"})
    results = crm.insert(
        "Leads",
        [
            {"Last_Name": "New", "Email": "new@example.com"},
            {"Email": "nolast@example.com"},
            {"Last_Name": "Dup", "Email": "old@example.com"},
            {"Last_Name": "x" * 300},
        ],
    )
    assert zoho_server.matching("POST", "/crm/v8/Leads")[0].status == 207
    assert results[0].ok and results[0].action == "insert"
    missing, duplicate, invalid = (r.error for r in results[1:])
    assert isinstance(missing, ZohoMandatoryMissing)
    assert missing.field == "Last_Name" and missing.record == 1
    assert isinstance(duplicate, ZohoDuplicateRecord)
    assert duplicate.field == "Email" and duplicate.record == 2
    assert duplicate.record_id == zoho_server.records("Leads")[0]["id"]
    assert isinstance(invalid, ZohoInvalidData) and invalid.field == "Last_Name"


def test_single_insert_errors_raise(crm: ZohoCRM) -> None:
    with pytest.raises(ZohoMandatoryMissing) as info:
        crm.insert_one("Deals", {"Deal_Name": "Laptops"})
    assert info.value.field == "Stage" and info.value.status == 400
    assert "field Stage" in str(info.value)
    with pytest.raises(ZohoInvalidRequest) as bad:
        crm.insert_one("Nonsense", {"Name": "x"})
    assert bad.value.code == "INVALID_MODULE"


def test_update_and_get(crm: ZohoCRM) -> None:
    created = crm.insert_one("Deals", {"Deal_Name": "Laptops", "Stage": "Qualification"})
    assert created.id is not None
    updated = crm.update("Deals", created.id, {"Stage": "Closed Won"})
    assert updated.id == created.id and updated.action == "update"
    record = crm.get("Deals", created.id)
    assert record is not None and record["Stage"] == "Closed Won"
    assert crm.get("Deals", "404404") is None
    with pytest.raises(ZohoInvalidData) as info:
        crm.update("Deals", "404404", {"Stage": "Lost"})
    assert info.value.field == "id"


def test_tasks(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    deal = crm.insert_one("Deals", {"Deal_Name": "Servers", "Stage": "Proposal"})
    task = crm.create_task(
        "Call the buyer",
        due_date="2026-12-01",
        priority="High",
        what_id=deal.id,
        se_module="Deals",
    )
    stored = zoho_server.records("Tasks")[0]
    assert stored["id"] == task.id
    assert stored["What_Id"] == {"id": deal.id} and stored["$se_module"] == "Deals"
    assert stored["Due_Date"] == "2026-12-01"


# -- search ---------------------------------------------------------------------------------


def test_search_by_criteria_with_escapes(crm: ZohoCRM) -> None:
    crm.insert_one("Accounts", {"Account_Name": "Smith, Jones (LLC)", "Industry": "IT"})
    crm.insert_one("Accounts", {"Account_Name": "Acme", "Industry": "Retail"})
    text = criteria(("Account_Name", "equals", "Smith, Jones (LLC)"), ("Industry", "in", ["IT"]))
    assert text == r"((Account_Name:equals:Smith\, Jones \(LLC\)) and (Industry:in:IT))"
    found = crm.search("Accounts", criteria=text)
    assert [r["Account_Name"] for r in found] == ["Smith, Jones (LLC)"]
    assert crm.search("Accounts", criteria={"Industry": "Wholesale"}) == []  # 204
    assert [r["Account_Name"] for r in crm.find("Accounts", {"Account_Name": "acme"})] == ["Acme"]
    with pytest.raises(ZohoInvalidRequest) as info:
        crm.search("Accounts", criteria="(Account_Name:matches:x)")
    assert info.value.code == "INVALID_QUERY"
    assert escape_value("a\\b") == "a\\\\b"
    with pytest.raises(ValueError, match="10"):
        criteria(*[("F", "equals", i) for i in range(11)])


def test_find_filters_contains_matches(crm: ZohoCRM) -> None:
    crm.insert_one("Leads", {"Last_Name": "Ann", "Email": "ann@example.com"})
    crm.insert_one("Leads", {"Last_Name": "Joann", "Email": "joann@example.com"})
    assert len(crm.search("Leads", criteria={"Last_Name": "ann"})) == 2  # equals ~ contains
    assert [r["Last_Name"] for r in crm.find("Leads", {"Last_Name": "Ann"})] == ["Ann"]


# -- faults --------------------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.rate_limit(times=1, retry_after=1, path="/search")
    crm.search("Leads", word="x")
    searches = zoho_server.matching("GET", "/search")
    assert [r.status for r in searches] == [429, 204]
    assert searches[1].at - searches[0].at >= 1.0


def test_429_past_the_attempts_is_zoho_rate_limited(zoho_server: ZohoServer) -> None:
    zoho_server.rate_limit(times=None, retry_after=0, path="/crm/")
    with make(zoho_server, attempts=2) as crm, pytest.raises(ZohoRateLimited) as info:
        crm.get("Leads", "1")
    assert isinstance(info.value, RateLimited) and info.value.code == "TOO_MANY_REQUESTS"
    assert info.value.retry_after == 0


def test_5xx_then_success(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.fail(times=2, status=500, path="/crm/")
    result = crm.upsert_one("Leads", {"Last_Name": "Ann"}, duplicate_check_fields=["Last_Name"])
    assert result.action == "insert"
    assert [r.status for r in zoho_server.matching("POST", "/upsert")] == [500, 500, 201]
    assert len(zoho_server.records("Leads")) == 1


def test_5xx_on_unkeyed_insert_is_not_retried(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.fail(times=1, status=503, path="/crm/")
    with pytest.raises(ServerError):
        crm.insert_one("Leads", {"Last_Name": "Once"})
    assert zoho_server.count("POST", "/crm/v8/Leads") == 1


def test_timeout(zoho_server: ZohoServer) -> None:
    with make(zoho_server, timeout=0.3, attempts=1) as crm:
        crm.access_token()
        zoho_server.slow(1.0, times=None, path="/crm/")
        with pytest.raises(ServiceTimeout) as info:
            crm.search("Leads", word="x")
    assert info.value.service == "zoho"


def test_malformed_responses(crm: ZohoCRM, zoho_server: ZohoServer) -> None:
    zoho_server.malformed(times=1, path="/crm/")
    with pytest.raises(MalformedResponse):
        crm.search("Leads", word="x")
    zoho_server.malformed(
        times=1, body=b'{"data": [{"status": "success"}]}', status=201, path="/crm/"
    )
    with pytest.raises(MalformedResponse, match="no id"):
        crm.insert_one("Leads", {"Last_Name": "x"}, idempotency_key="sb-m")
    zoho_server.malformed(times=1, body=b"<html>oops</html>", path="/oauth/")
    crm.invalidate_token()
    with pytest.raises(MalformedResponse):
        crm.get("Leads", "1")


# -- the adapter the CRM steps use ------------------------------------------------------------


def adapter_for(server: ZohoServer, tmp_path: Path, **options: object) -> ZohoAdapter:
    connection = Connection(
        type="zoho",
        base_url=f"{server.url}/crm/v8",
        secret="ZOHO_REFRESH_TOKEN",
        options={
            "accounts_url": server.accounts_url,
            "client_id_secret": "ZOHO_CLIENT_ID",
            "client_secret_secret": "ZOHO_CLIENT_SECRET",
            **FAST,
            **options,
        },
        timeout=2,
    )
    adapter = default_clients()["zoho"](
        connection, settings_with(tmp_path, secrets_for(zoho=server))
    )
    assert isinstance(adapter, ZohoAdapter)
    return adapter


def test_adapter_upsert_repeat_updates(zoho_server: ZohoServer, tmp_path: Path) -> None:
    adapter = adapter_for(zoho_server, tmp_path)
    first = adapter.upsert(
        "Leads",
        {"Last_Name": "Ann", "Email": "ann@example.com"},
        duplicate_check_fields=["Email"],
        idempotency_key="sb-one",
    )
    again = adapter.upsert(
        "Leads",
        {"Last_Name": "Ann", "Email": "ann@example.com"},
        duplicate_check_fields=["Email"],
        idempotency_key="sb-two",
    )
    assert first == {"record_id": again["record_id"], "action": "insert"}
    assert again["action"] == "update" and len(zoho_server.records("Leads")) == 1


def test_adapter_tasks_and_idempotency_field(zoho_server: ZohoServer, tmp_path: Path) -> None:
    zoho_server.honour_idempotency_key = False  # as the real Zoho
    adapter = adapter_for(zoho_server, tmp_path, idempotency_field="Sopbench_Key")
    request = {"subject": "Ship it", "related_module": "Contacts", "related_id": "77"}
    first = adapter.create_task(request, idempotency_key="sb-task")
    again = adapter.create_task(request, idempotency_key="sb-task")
    assert again == {"record_id": first["record_id"], "action": "existing"}
    tasks = zoho_server.records("Tasks")
    assert len(tasks) == 1 and tasks[0]["Who_Id"] == {"id": "77"}
    assert tasks[0]["Sopbench_Key"] == "sb-task"
    # Tasks cannot be upserted: duplicate-check fields search, then update
    one = adapter.upsert(
        "Tasks",
        {"Subject": "Ship it", "Status": "Done"},
        duplicate_check_fields=["Subject"],
        idempotency_key="sb-x",
    )
    assert one["record_id"] == first["record_id"] and one["action"] == "update"
    updated = adapter.update("Tasks", first["record_id"], {"Status": "Closed"}, idempotency_key="k")
    assert updated["record_id"] == first["record_id"]


def test_adapter_configuration_errors(zoho_server: ZohoServer, tmp_path: Path) -> None:
    settings = settings_with(tmp_path, {})
    with pytest.raises(ConnectionNotConfigured, match="zoho"):
        default_clients()["zoho"](None, settings)
    with pytest.raises(ConnectionNotConfigured, match="type http"):
        default_clients()["zoho"](Connection(type="http", base_url="http://x"), settings)
    adapter = default_clients()["zoho"](
        Connection(type="zoho", options={"accounts_url": zoho_server.accounts_url}), settings
    )
    with pytest.raises(SecretMissing, match="ZOHO_CLIENT_ID"):
        adapter.update("Leads", "1", {"A": 1}, idempotency_key="k")


def test_secrets_never_in_errors_or_logs(
    zoho_server: ZohoServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with make(zoho_server, attempts=2) as crm:
        token = crm.access_token()
        zoho_server.fail(times=1, status=500, body=f"echo {token}".encode(), path="/crm/")
        zoho_server.deny_auth(times=2, path="/crm/")
        for call in (
            lambda: crm.insert_one("Leads", {"Last_Name": "x"}),
            lambda: crm.search("Leads", word="x"),
            lambda: crm.insert_one("Leads", {"Email": token}),
        ):
            try:
                call()
            except Exception as exc:
                texts.append(f"{exc}\n{exc.__dict__!r}")
    with make(zoho_server, ZOHO_CLIENT_SECRET="wrong-secret-value") as bad:
        try:
            bad.get("Leads", "1")
        except Exception as exc:
            texts.append(f"{exc}\n{exc.__dict__!r}")
    assert len(texts) == 4
    for value in [*SECRET_VALUES, token, "wrong-secret-value"]:
        assert all(value not in text for text in texts), value
        assert value not in caplog.text, value
