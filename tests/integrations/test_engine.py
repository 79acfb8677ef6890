"""SOPs run by the real engine against the local doubles (SQLite and PostgreSQL).

The workspace's connections point at the Zoho and Discord doubles; the
RunService is built without ``clients=``, so the built-in
``default_clients()`` are what the steps use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from sopbench.config import load_settings
from sopbench.engine import idempotency_key
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.store.tables import metadata
from sopbench.testing.servers import DiscordServer, ZohoServer

from ._support import SECRET_VALUES, environ_for, write_workspace


@pytest.fixture
def service(
    tmp_path: Path,
    database: Database,
    db_url: str,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
) -> Iterator[RunService]:
    home = write_workspace(tmp_path / "home", zoho_url=zoho_server.url)
    settings = load_settings(home, environ=environ_for(db_url, zoho_server, discord_server))
    svc = RunService(settings, database=database)
    assert svc.workspace.problems == [], svc.workspace.problems
    yield svc


def dump(database: Database) -> str:
    parts = []
    with database.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                parts.append(f"{table.name}: {dict(row)!r}")
    return "\n".join(parts)


def test_crm_and_discord_steps_end_to_end(
    service: RunService,
    database: Database,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    view = service.start("lead_intake", {"name": "Ada", "email": "ada@example.com"})
    assert view.run.status == "succeeded", view.as_dict()
    steps = {s.path: s for s in view.steps}
    lead_id = steps["lead"].result["record_id"]
    assert steps["lead"].result["action"] == "insert"
    leads = zoho_server.records("Leads")
    assert [lead["id"] for lead in leads] == [lead_id]
    assert leads[0]["Email"] == "ada@example.com"

    task = zoho_server.records("Tasks")[0]
    assert task["id"] == steps["follow_up"].result["record_id"]
    assert task["What_Id"] == {"id": lead_id} and task["$se_module"] == "Leads"

    message = discord_server.messages[0]
    assert steps["tell"].result == {
        "delivered": True,
        "message_id": message["id"],
        "channel": "staff",
    }
    assert message["content"] == f"**New lead**\nAda <ada@example.com> is lead {lead_id}"

    # every outside call carried its step's idempotency key
    run_id = view.run.id
    keyed = {
        "/crm/v8/Leads/upsert": idempotency_key(run_id, "lead", "crm"),
        "/crm/v8/Tasks": idempotency_key(run_id, "follow_up", "crm"),
    }
    for path, key in keyed.items():
        assert [r.headers["idempotency-key"] for r in zoho_server.matching("POST", path)] == [key]
    assert discord_server.requests[0].headers["idempotency-key"] == idempotency_key(
        run_id, "tell", "notify"
    )

    # the same lead again: duplicate_check_fields updates, never a second record
    again = service.start("lead_intake", {"name": "Ada L.", "email": "ADA@example.com"})
    assert again.run.status == "succeeded"
    again_lead = {s.path: s for s in again.steps}["lead"].result
    assert again_lead == {"record_id": lead_id, "action": "update"}
    assert len(zoho_server.records("Leads")) == 1
    assert zoho_server.records("Leads")[0]["Last_Name"] == "Ada L."

    # no secret value in any row, journal entry or log line
    rows = dump(database)
    minted = [  # the access tokens the client got from the accounts server
        r.headers["authorization"].split(" ", 1)[1]
        for r in zoho_server.requests
        if r.path.startswith("/crm/")
    ]
    for value in [*SECRET_VALUES, discord_server.webhook_url(), *minted]:
        assert value not in rows, value
        assert value not in caplog.text, value
        assert value not in json.dumps(view.as_dict(), default=str), value


def test_unknown_connection_is_a_workspace_problem(tmp_path: Path, zoho_server: ZohoServer) -> None:
    home = write_workspace(tmp_path / "home", zoho_url=zoho_server.url)
    sop = home / "sops" / "shop" / "lead_intake.yaml"
    sop.write_text(
        sop.read_text().replace("module: lead\n", "module: lead\n      connection: crm_gone\n")
    )
    from sopbench.library import load_workspace

    problems = [str(p) for p in load_workspace(home).problems]
    assert any("unknown connection 'crm_gone'" in p for p in problems), problems


def test_missing_zoho_secret_fails_the_step_clearly(
    tmp_path: Path,
    database: Database,
    db_url: str,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
) -> None:
    home = write_workspace(tmp_path / "home", zoho_url=zoho_server.url)
    environ = environ_for(db_url, zoho_server, discord_server)
    del environ["ZOHO_CLIENT_SECRET"]
    svc = RunService(load_settings(home, environ=environ), database=database)
    view = svc.start("lead_intake", {"name": "Ada", "email": "ada@example.com"})
    assert view.run.status == "failed"
    error = {s.path: s for s in view.steps}["lead"].error or ""
    assert "secret ZOHO_CLIENT_SECRET is not set" in error
    assert "set ZOHO_CLIENT_SECRET in the environment" in error
    assert "Traceback" not in error
    assert zoho_server.requests == []


def test_missing_secret_fails_the_step_clearly(
    service: RunService, discord_server: DiscordServer
) -> None:
    view = service.start("no_secret", {})
    assert view.run.status == "failed"
    error = view.steps[0].error or ""
    assert "secret DISCORD_WEBHOOK_UNSET is not set" in error
    assert "set DISCORD_WEBHOOK_UNSET in the environment" in error
    assert discord_server.requests == []


def test_zoho_refusal_fails_the_step_with_the_field(
    service: RunService, zoho_server: ZohoServer
) -> None:
    zoho_server.modules["Leads"] = type(zoho_server.modules["Leads"])(
        mandatory=("Last_Name", "Company"), unique=("Email",)
    )
    view = service.start("lead_intake", {"name": "Ada", "email": "ada@example.com"})
    assert view.run.status == "failed"
    error = {s.path: s for s in view.steps}["lead"].error or ""
    assert "MANDATORY_NOT_FOUND" in error and "field Company" in error
    assert zoho_server.records("Leads") == []
